"""Seed 000: /healthcheck is healthy for the first N calls to this pod, then answers 503."""

from __future__ import annotations

from flask import Blueprint

from probe_demo import logs
from probe_demo.app import services

blueprint = Blueprint("unhealthy", __name__)

HEALTHY_BODY = "Server is healthy, Status OK!\n"
UNHEALTHY_BODY = "Server is unhealthy, Status Service Unavailable!\n"


@blueprint.get("/healthcheck")
def healthcheck():
    shared = services()
    count = shared.state.increment("healthchecks")
    limit = shared.settings.healthy_checks
    if count <= limit:
        return HEALTHY_BODY, 200, {"Custom-header-for-kubernetes-app": "Awesome"}
    if count == limit + 1:
        logs.event("state_change", field="healthcheck", value="unhealthy", after_checks=limit)
    return UNHEALTHY_BODY, 503


@blueprint.get("/")
@blueprint.get("/<path:_any>")
def hello(_any: str = ""):
    return f"Hello world from hostname: {services().hostname}"
