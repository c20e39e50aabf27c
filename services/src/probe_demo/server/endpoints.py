"""Endpoints every variant serves: probes, /status, /state and /metrics."""

from __future__ import annotations

import os
import time

from flask import Blueprint, jsonify

from probe_demo import __version__
from probe_demo.server import health
from probe_demo.server.context import services

blueprint = Blueprint("probes", __name__)


def _probe_view(route: health.ProbeRoute):
    def answer():
        shared = services()
        verdict = health.probe(route.kind, shared.state, shared.settings)
        return verdict.reason + "\n", 200 if verdict.ok else route.failure_code

    return answer


for _path, _route in health.PROBE_ROUTES.items():
    blueprint.add_url_rule(_path, endpoint=f"probe{_path.replace('/', '_')}",
                           view_func=_probe_view(_route), methods=["GET"])


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
