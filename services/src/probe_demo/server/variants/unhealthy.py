"""Seed 000: /healthcheck is healthy for the first N calls to this pod, then answers 503.

The count is the pod's liveness: once it passes N, /healthcheck, /livez, gRPC liveness, /state
and the probe_demo_live gauge all say "not live" (see liveness below and probe_demo.server.health).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from probe_demo.server import health, logs
from probe_demo.server.config import Settings
from probe_demo.server.context import services

PORT = 8000
DRAIN_SECONDS = 0.0
COUNTS_HEALTHCHECKS = True

blueprint = Blueprint("unhealthy", __name__)

HEALTHY_BODY = "Server is healthy, Status OK!\n"
UNHEALTHY_BODY = "Server is unhealthy, Status Service Unavailable!\n"


def describe(settings: Settings) -> str:
    return f"/healthcheck answers 200 for its first {settings.healthy_checks} calls, then 503"


def liveness(state: dict[str, Any], settings: Settings) -> str | None:
    if state["healthchecks"] > settings.healthy_checks:
        return f"unhealthy after {settings.healthy_checks} health checks"
    return None


@blueprint.get("/healthcheck")
def healthcheck():
    shared = services()
    # The decision is made on the state this very call produced, so concurrent calls each get
    # their own count: exactly N answers are 200.
    after = shared.state.increment("healthchecks")
    if after["healthchecks"] == shared.settings.healthy_checks + 1:
        logs.event("state_change", field="healthcheck", value="unhealthy",
                   after_checks=shared.settings.healthy_checks)
    # It is this variant's liveness probe, so /fault/fail-next's liveness failures apply.
    forced = health.forced_failure("liveness", shared.state)
    if forced is None and health.liveness(after, shared.settings).ok:
        return HEALTHY_BODY, 200, {"Custom-header-for-kubernetes-app": "Awesome"}
    return UNHEALTHY_BODY, 503


@blueprint.get("/")
@blueprint.get("/<path:_any>")
def hello(_any: str = ""):
    return f"Hello world from hostname: {services().hostname}"
