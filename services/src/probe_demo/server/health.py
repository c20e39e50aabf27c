"""The liveness, readiness and startup decisions: the one place each is made.

HTTP probes, gRPC health, /state and the metrics gauges all ask here, so every surface
reports the same verdict. A probe (HTTP or gRPC) asks through `probe`, which also spends the
failures /fault/fail-next asked for; /state, /ui and the gauges only look.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from probe_demo.server.config import Settings
from probe_demo.server.state import PodState

PROBE_KINDS = ("liveness", "readiness", "startup")


@dataclass(frozen=True)
class ProbeRoute:
    """An HTTP probe path: the decision it answers, and its status code when that fails."""

    kind: str
    failure_code: int


# The HTTP probe paths, served over HTTP/1.1 on the HTTP port (probe_demo.server.endpoints)
# and over h2c on the gRPC port (probe_demo.server.h2c_probes). /readyz fails with 500,
# not 503: the zero-downtime challenge (seed 003) asks for 500 once terminating.
PROBE_ROUTES = {
    "/livez": ProbeRoute("liveness", 500),
    "/readyz": ProbeRoute("readiness", 500),
    "/ready": ProbeRoute("readiness", 500),
    "/startupz": ProbeRoute("startup", 503),
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def started(state: dict[str, Any], settings: Settings, now: float | None = None) -> Verdict:
    now = time.time() if now is None else now
    remaining = state["started_at"] + settings.startup_seconds - now
    if remaining > 0:
        return Verdict(False, f"starting, {remaining:.1f}s to go")
    return Verdict(True, "started")


def liveness(state: dict[str, Any], settings: Settings) -> Verdict:
    if state["failing"]:
        return Verdict(False, "failing since /start-failing was called")
    variant_rule = getattr(settings.variant_module(), "liveness", None)
    reason = variant_rule(state, settings) if variant_rule else None
    if reason:
        return Verdict(False, reason)
    return Verdict(True, "alive")


def readiness(state: dict[str, Any], settings: Settings, now: float | None = None) -> Verdict:
    startup = started(state, settings, now)
    if not startup.ok:
        return startup
    if state["draining"]:
        return Verdict(False, "draining: shutdown requested")
    if state["ready_override"] is False:
        return Verdict(False, "not ready: set by /fault/readiness")
    return Verdict(True, "ready")


def verdict(kind: str, state: dict[str, Any], settings: Settings) -> Verdict:
    if kind == "liveness":
        return liveness(state, settings)
    if kind == "readiness":
        return readiness(state, settings)
    return started(state, settings)


def forced_failure(kind: str, state: PodState) -> Verdict | None:
    """Spend one of the failures /fault/fail-next asked for, if any are left."""
    left = state.take(f"fail_next_{kind}")
    if left is None:
        return None
    return Verdict(False, f"{kind} failing on purpose: /fault/fail-next ({left} more to fail)")


def probe(kind: str, state: PodState, settings: Settings) -> Verdict:
    """The answer to one liveness, readiness or startup probe."""
    return forced_failure(kind, state) or verdict(kind, state.read(), settings)
