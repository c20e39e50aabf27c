"""Server settings: defaults, then PROBE_DEMO_* environment variables, then command-line flags.

Every setting is validated once, at start; a bad one raises ConfigError naming both the
environment variable and the flag, so the chart user and the command-line user each see
the name they typed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "PROBE_DEMO_"


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting."""


# Variant name -> (default port, default drain seconds). The behaviours live in
# probe_demo.variants; this table only holds what must be known before the app exists.
VARIANT_DEFAULTS: dict[str, tuple[int, float]] = {
    "unhealthy": (8000, 0.0),
    "failing": (5000, 0.0),
    "hello": (5000, 0.0),
    "graceful": (8080, 5.0),
    "date": (8080, 0.0),
}

_SIZE_UNITS = {
    "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
    "KB": 10**3, "MB": 10**6, "GB": 10**9,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """Parse a byte size the way Kubernetes quantities read: 150M, 100Mi, 1Gi, 1048576."""
    match = _SIZE_RE.match(text)
    if not match or match.group(2) not in _SIZE_UNITS:
        units = ", ".join(u for u in _SIZE_UNITS if u)
        raise ValueError(f"not a size (a number with an optional unit: {units})")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a boolean (true/false)")


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError("not a whole number") from None
        if value < low or (high is not None and value > high):
            bounds = f"{low}-{high}" if high is not None else f">= {low}"
            raise ValueError(f"out of range ({bounds})")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number of seconds") from None
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _variant(text: str) -> str:
    if text not in VARIANT_DEFAULTS:
        raise ValueError(f"unknown variant (choose one of: {', '.join(VARIANT_DEFAULTS)})")
    return text


def _text(text: str) -> str:
    return text


def _size(text: str) -> int:
    return parse_size(text)


def _setting(default: Any, parse: Callable[[str], Any], help_text: str) -> Any:
    """A Settings field: its default, the parser for its text form and its --help line."""
    if callable(default):
        return dataclasses.field(default_factory=default,
                                 metadata={"parse": parse, "help": help_text})
    return dataclasses.field(default=default, metadata={"parse": parse, "help": help_text})


@dataclass(frozen=True)
class Settings:
    """What one server process needs to know; see _setting for the field metadata."""

    variant: str = _setting(
        "graceful", _variant, f"server behaviour: {', '.join(VARIANT_DEFAULTS)}"
    )
    # None means "the variant's default"; resolved by Settings.load.
    port: int | None = _setting(
        None, _int_in(1, 65535),
        "HTTP port (default: the variant's: "
        + ", ".join(f"{name} {port}" for name, (port, _) in VARIANT_DEFAULTS.items()) + ")",
    )
    host: str = _setting("0.0.0.0", _text, "address to listen on")
    grpc_port: int = _setting(9090, _int_in(0, 65535), "grpc.health.v1 port, 0 turns it off")
    healthy_checks: int = _setting(
        5, _int_in(0), "unhealthy: /healthcheck calls answered 200 before they answer 503"
    )
    tag: str = _setting("blue", _text, "hello: the tag each answer carries (blue, green, ...)")
    status_text: str = _setting(
        "OK", _text, "body of /status, to tell versions apart during a rollout"
    )
    drain_seconds: float | None = _setting(
        None, _seconds,
        "after SIGTERM, keep serving with readiness failing this long "
        "(default: 5 for graceful, 0 for the others)",
    )
    startup_seconds: float = _setting(
        0.0, _seconds, "readiness and /startupz fail for this long after start"
    )
    enable_faults: bool = _setting(
        False, _parse_bool, "turn on /start-failing and /fault/* (true/false)"
    )
    memory_at_start: int = _setting(0, _size, "hold this much memory from the start, e.g. 150Mi")
    cpus_at_start: int = _setting(0, _int_in(0, 64), "keep this many CPUs busy from the start")
    health_file: str = _setting(
        "", _text, "create this file at start (for an exec probe), e.g. /tmp/healthy"
    )
    health_file_ttl: float = _setting(
        0.0, _seconds, "remove the health file after this many seconds, 0 keeps it"
    )
    max_work_ms: int = _setting(1000, _int_in(1, 60000), "largest CPU time /work?ms= may ask for")
    workers: int = _setting(2, _int_in(1, 64), "gunicorn worker processes")
    threads: int = _setting(4, _int_in(1, 256), "threads per gunicorn worker")
    graceful_timeout: float = _setting(
        30.0, _seconds, "seconds gunicorn gives in-flight requests after its own SIGTERM"
    )
    log_requests: bool = _setting(
        False, _parse_bool, "log every request, not only probe hits (true/false)"
    )
    state_dir: str = _setting(
        tempfile.gettempdir, _text, "writable directory for the per-pod state (default: temp dir)"
    )
    # Set by the supervisor for its gunicorn workers; empty means "make one in state_dir".
    state_file: str = _setting("", _text, "")

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Build settings from PROBE_DEMO_* variables, overridden by flags that are not None."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            env_name = env_var(field.name)
            if flags.get(field.name) is not None:
                raw, source = str(flags[field.name]), f"--{field.name.replace('_', '-')}"
            elif env_name in env:
                raw, source = env[env_name], env_name
            else:
                continue
            try:
                values[field.name] = field.metadata["parse"](raw)
            except ValueError as err:
                flag = f"--{field.name.replace('_', '-')}"
                names = f"{env_name} ({flag})" if source == env_name else f"{flag} ({env_name})"
                raise ConfigError(f"{names}={raw!r}: {err}") from None
        unknown = sorted(set(flags) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        settings = cls(**values)
        default_port, default_drain = VARIANT_DEFAULTS[settings.variant]
        if settings.port is None:
            settings = dataclasses.replace(settings, port=default_port)
        if settings.drain_seconds is None:
            settings = dataclasses.replace(settings, drain_seconds=default_drain)
        return settings

    def to_env(self) -> dict[str, str]:
        """The PROBE_DEMO_* variables that make Settings.load() in a worker return self."""
        env = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            env[env_var(field.name)] = str(value).lower() if isinstance(value, bool) else str(value)
        return env


def env_var(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()
