"""Endpoints every variant serves: probes, /status, /state and /metrics."""

from __future__ import annotations

import os
import time

from flask import Blueprint, jsonify

from probe_demo import __version__
from probe_demo.server import health
from probe_demo.server.context import services

blueprint = Blueprint("probes", __name__)


def _answer(verdict: health.Verdict, failure_code: int) -> tuple[str, int]:
    return verdict.reason + "\n", 200 if verdict.ok else failure_code


@blueprint.get("/livez")
def livez():
    shared = services()
    return _answer(health.probe("liveness", shared.state, shared.settings), 500)


@blueprint.get("/readyz")
@blueprint.get("/ready")
def readyz():
    # 500, not 503: the zero-downtime challenge (seed 003) asks for 500 once terminating.
    shared = services()
    return _answer(health.probe("readiness", shared.state, shared.settings), 500)


@blueprint.get("/startupz")
def startupz():
    shared = services()
    return _answer(health.probe("startup", shared.state, shared.settings), 503)


@blueprint.get("/status")
def status():
    return services().settings.status_text + "\n"


@blueprint.get("/state")
def state():
    shared = services()
    current = shared.state.read()
    return jsonify(
        variant=shared.settings.variant,
        version=__version__,
        hostname=shared.hostname,
        pid=os.getpid(),
        uptime_s=round(time.time() - current["started_at"], 3),
        live=health.liveness(current, shared.settings).ok,
        ready=health.readiness(current, shared.settings).ok,
        state=current,
    )


@blueprint.get("/metrics")
def metrics():
    body, content_type = services().metrics.exposition()
    return body, 200, {"Content-Type": content_type}
