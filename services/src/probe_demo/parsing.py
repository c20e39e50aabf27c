"""What the three programs share for reading their input: the one error meaning "this value
cannot be used" (its message names the flag, variable or key), and number parsing that
refuses what float() and int() would let through."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A setting, flag or variable has a value the program cannot use; the message names it."""


def finite_number(text: str, what: str = "a number") -> float:
    """A float that is a real, finite number: nan and inf are refused."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not {what}") from None
    if not math.isfinite(value):
        raise ValueError(f"not {what} (must be finite)")
    return value


@dataclass(frozen=True)
class WholeNumber:
    """A parser for whole numbers from low to high (or from low up when high is None). A
    value, not a closure, so the chart's schema can be generated from its bounds."""

    low: int
    high: int | None = None

    def __call__(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
        if value < self.low or (self.high is not None and value > self.high):
            bounds = f"{self.low}-{self.high}" if self.high is not None else f">= {self.low}"
            raise ValueError(f"out of range ({bounds})")
        return value


whole_number_in = WholeNumber


# Bounds an option may declare; each is checked once, after parsing, naming the flag.
BOUNDS: dict[str, tuple[Callable[[float], bool], str]] = {
    "above 0": (lambda value: value > 0, "must be above 0"),
    "not negative": (lambda value: value >= 0, "must not be negative"),
}


def option(default: Any, help_text: str, parse: Callable[[str], Any] = str,
           bound: str | None = None, **argparse_extra: Any) -> Any:
    """A field of an options dataclass (the client's, the check's): its default, its help,
    how a flag's text is read (parse raises ValueError with the reason), and a bound from
    BOUNDS. argparse_extra: choices, metavar, short ("-n"), positional, group (flags of one
    group exclude each other). The command line's flags and their checks are made from it."""
    if bound is not None and bound not in BOUNDS:
        raise ValueError(f"unknown bound {bound!r}")
    metadata = {"help": help_text, "parse": parse, "bound": bound, "extra": argparse_extra}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def check_bounds(options: Any) -> None:
    """The first option outside its declared bound, as one line naming the flag."""
    for field in dataclasses.fields(options):
        bound, value = field.metadata.get("bound"), getattr(options, field.name)
        if bound is None or value is None:
            continue
        holds, rule = BOUNDS[bound]
        if not holds(value):
            raise ConfigError(f"{flag(field.name)}={value}: {rule}")


def whole_number(text: str) -> int:
    """An int, refused in words rather than int()'s "invalid literal"."""
    try:
        return int(text)
    except ValueError:
        raise ValueError("not a whole number") from None


def default_of(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default
