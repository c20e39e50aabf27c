"""Server settings: defaults, then PROBE_DEMO_* environment variables, then command-line flags.

Every setting is validated once, at start; a bad one raises ConfigError naming both the
environment variable and the flag, so the chart user and the command-line user each see
the name they typed. A PROBE_DEMO_* variable that names no setting is refused too: a typo
in a chart's env would otherwise be ignored without a word.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from probe_demo.parsing import ConfigError, finite_number, whole_number_in
from probe_demo.server import variants

ENV_PREFIX = "PROBE_DEMO_"

# The most memory one request may ask the server to hold (--memory-at-start, /fault/memory).
# Enough to pass any container limit a demo sets; small enough that a typo cannot take a node.
MAX_MEMORY_BYTES = 4 * 2**30
MAX_MEMORY_TEXT = "4Gi"
MAX_CPU_BURNERS = 64

# The signals the server may be told to drain on besides SIGTERM (the kubelet's default) and
# SIGINT (Ctrl-C), which it always drains on: those some servers stop on, so a pod may be
# given any of them as its lifecycle.stopSignal (the chart's rollout.stopSignal offers
# exactly these): SIGQUIT (nginx's graceful stop), SIGWINCH (Apache httpd's), SIGHUP,
# SIGUSR1, SIGUSR2. Only the one --stop-signal names is taken: a terminal's SIGWINCH or
# SIGHUP does not stop a server started by hand.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGWINCH, signal.SIGHUP,
                signal.SIGUSR1, signal.SIGUSR2)


# What Kubernetes injects for each Service of the namespace (a Service named probe-demo-x
# gives PROBE_DEMO_X_SERVICE_HOST, PROBE_DEMO_X_PORT_80_TCP, ...): not settings, not typos.
_SERVICE_LINK = re.compile(r"^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|"
                           r"PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$")

SIZE_UNITS = {
    "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
    "KB": 10**3, "MB": 10**6, "GB": 10**9,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """Parse a byte size the way Kubernetes quantities read (150M, 100Mi, 1Gi, 1048576),
    up to MAX_MEMORY_BYTES."""
    match = _SIZE_RE.match(text)
    if not match or match.group(2) not in SIZE_UNITS:
        units = ", ".join(u for u in SIZE_UNITS if u)
        raise ValueError(f"not a size (a number with an optional unit: {units})")
    size = Decimal(match.group(1)) * SIZE_UNITS[match.group(2)]
    if size > MAX_MEMORY_BYTES:
        raise ValueError(f"above the cap of {MAX_MEMORY_TEXT}")
    return int(size)


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("not a boolean (true/false)")


def _seconds(text: str) -> float:
    value = finite_number(text, "a number of seconds")
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _variant(text: str) -> str:
    if text not in variants.names():
        raise ValueError(f"unknown variant (choose one of: {', '.join(variants.names())})")
    return text


def _text(text: str) -> str:
    return text


def _origins(text: str) -> tuple[str, ...]:
    """Comma-separated origins (scheme://host[:port]), as a browser writes them."""
    origins = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        try:
            parts.port  # noqa: B018 - a bad port raises here
        except ValueError:
            raise ValueError(f"{item!r}: the port must be a number from 1 to 65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or \
                parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{item!r} is not an origin; write scheme://host[:port], "
                             "e.g. https://demo.example.com")
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(origins)


_port = whole_number_in(1, 65535)


def _stop_signal(text: str) -> str:
    """The name of one of STOP_SIGNALS, e.g. SIGQUIT."""
    names = [stop.name for stop in STOP_SIGNALS]
    if text.strip().upper() not in names:
        raise ValueError(f"must be one of {', '.join(names)}")
    return text.strip().upper()


def _setting(default: Any, parse: Callable[[str], Any], help_text: str) -> Any:
    """A Settings field: its default, the parser for its text form and its --help line."""
    return dataclasses.field(default=default, metadata={"parse": parse, "help": help_text})


@dataclass(frozen=True)
class Settings:
    """What the server needs to know; see _setting for the field metadata."""

    variant: str = _setting(
        "graceful", _variant, f"server behaviour: {', '.join(variants.names())}",
    )
    # None means "the variant's default"; resolved by Settings.load.
    port: int | None = _setting(None, _port, "HTTP port (default: the variant's seed port)")
    host: str = _setting("0.0.0.0", _text, "address to listen on")
    grpc_port: int = _setting(9090, whole_number_in(0, 65535),
                              "grpc.health.v1 port, 0 turns it off")
    healthy_checks: int = _setting(
        5, whole_number_in(0), "unhealthy: /healthcheck calls answered 200 before they answer 503"
    )
    tag: str = _setting("blue", _text, "hello: the tag each answer carries (blue, green, ...)")
    status_text: str = _setting(
        "OK", _text, "body of /status, to tell versions apart during a rollout"
    )
    drain_seconds: float | None = _setting(
        None, _seconds,
        "after SIGTERM, keep serving with readiness failing this long "
        "(default: the variant's, 5 for graceful, 0 for the others)",
    )
    stop_signal: str = _setting(
        "SIGTERM", _stop_signal, "drain on this signal too, the pod's lifecycle.stopSignal "
        f"({', '.join(stop.name for stop in STOP_SIGNALS)}); SIGTERM and SIGINT always drain",
    )
    startup_seconds: float = _setting(
        0.0, _seconds, "readiness and /startupz fail for this long after start"
    )
    enable_faults: bool = _setting(
        False, _parse_bool, "turn on /start-failing and /fault/* (a switch, or true/false)"
    )
    trusted_origins: tuple[str, ...] = _setting(
        (), _origins, "browser origins besides this pod's own and loopback that may flip "
        "the switches, comma-separated, e.g. https://demo.example.com",
    )
    memory_at_start: int = _setting(
        0, parse_size, f"hold this much memory from the start, e.g. 150Mi (at most "
        f"{MAX_MEMORY_TEXT})"
    )
    cpus_at_start: int = _setting(
        0, whole_number_in(0, MAX_CPU_BURNERS), "keep this many CPUs busy from the start"
    )
    exit_at_start: int | None = _setting(
        None, whole_number_in(0, 255), "exit with this code --exit-after seconds after every start "
        "(a crash loop: CrashLoopBackOff, restart rules by exit code)",
    )
    exit_after: float = _setting(
        2.0, _seconds, "seconds from start to the exit --exit-at-start asks for"
    )
    health_file: str = _setting(
        "", _text, "create this file at start (for an exec probe), e.g. /tmp/healthy"
    )
    health_file_ttl: float = _setting(
        0.0, _seconds, "remove the health file after this many seconds, 0 keeps it"
    )
    max_work_ms: int = _setting(1000, whole_number_in(1, 60000),
                                "largest CPU time /work?ms= may ask for")
    work_concurrency: int = _setting(
        2, whole_number_in(1, 64),
        "/work requests run at once; more are refused with 503 and Retry-After",
    )
    threads: int = _setting(
        8, whole_number_in(2, 256), "request threads; must exceed --work-concurrency, so probes "
        "always find a free one",
    )
    graceful_timeout: float = _setting(
        30.0, _seconds, "after the drain, seconds in-flight requests get to finish"
    )
    log_requests: bool = _setting(
        False, _parse_bool, "log every request, not only probe hits (true/false)"
    )

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Build settings from PROBE_DEMO_* variables, overridden by flags that are not None."""
        env = os.environ if env is None else env
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown_flags = sorted(set(flags) - set(fields))
        if unknown_flags:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown_flags)}")
        known_vars = {env_var(name) for name in fields}
        unknown_vars = sorted(n for n in env if n.startswith(ENV_PREFIX) and n not in known_vars
                              and not _SERVICE_LINK.match(n))
        if unknown_vars:
            raise ConfigError(
                f"{', '.join(unknown_vars)}: no such setting (known: "
                f"{', '.join(sorted(known_vars))})"
            )
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if flags.get(name) is not None:
                raw, source = str(flags[name]), flag_name(name)
            elif env_var(name) in env:
                raw, source = env[env_var(name)], env_var(name)
            else:
                continue
            try:
                values[name] = field.metadata["parse"](raw)
            except ValueError as err:
                raise ConfigError(f"{setting_names(name, source)}={raw!r}: {err}") from None
        settings = cls(**values)
        variant = settings.variant_module()
        if settings.port is None:
            settings = dataclasses.replace(settings, port=variant.PORT)
        if settings.drain_seconds is None:
            settings = dataclasses.replace(settings, drain_seconds=variant.DRAIN_SECONDS)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse combinations that cannot work, naming every setting involved."""
        if self.grpc_port and self.grpc_port == self.port:
            raise ConfigError(
                f"{setting_names('grpc_port')}={self.grpc_port} is also "
                f"{setting_names('port')}: give gRPC health its own port, or 0 to turn it off"
            )
        if self.threads <= self.work_concurrency:
            raise ConfigError(
                f"{setting_names('threads')}={self.threads} must be above "
                f"{setting_names('work_concurrency')}={self.work_concurrency}: otherwise "
                "/work can take every thread and probes wait behind it"
            )

    def variant_module(self) -> ModuleType:
        return variants.get(self.variant)


def env_var(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def setting_names(field_name: str, source: str | None = None) -> str:
    """'--flag (PROBE_DEMO_VAR)', or the variable first when that is what the user set."""
    flag, var = flag_name(field_name), env_var(field_name)
    return f"{var} ({flag})" if source == var else f"{flag} ({var})"
