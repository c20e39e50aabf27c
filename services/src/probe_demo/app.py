"""Flask application factory: the common endpoints plus the chosen variant's.

gunicorn serves `probe_demo.app:create_app()`; with no argument the settings come from the
PROBE_DEMO_* environment the supervisor hands its workers.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from werkzeug.wrappers import Response

from probe_demo import logs
from probe_demo.config import Settings
from probe_demo.metrics import Metrics
from probe_demo.state import PodState

# Requests to these paths, or from the kubelet, are logged as probe hits.
PROBE_PATHS = frozenset({"/healthcheck", "/livez", "/readyz", "/ready", "/startupz"})
# Headers every HTTP client sends; the rest (e.g. a probe's httpHeaders) are logged.
ORDINARY_HEADERS = frozenset(
    {"host", "user-agent", "accept", "accept-encoding", "connection", "content-length",
     "content-type"}
)


@dataclass
class Services:
    """What the endpoints share, reachable as `services()` inside a request."""

    settings: Settings
    state: PodState
    metrics: Metrics
    hostname: str


def services() -> Services:
    return current_app.extensions["probe_demo"]


def create_app(settings: Settings | None = None) -> Flask:
    from probe_demo import faults, probes, variants, work

    settings = settings or Settings.load()
    logs.configure()
    state_file = settings.state_file or os.path.join(
        settings.state_dir, f"probe-demo-{os.getpid()}-{settings.port}.json"
    )
    state = PodState.open_or_create(state_file)
    app = Flask(__name__)
    app.json.sort_keys = False  # keep seed 002's field order: year, month, ..., then tag
    app.extensions["probe_demo"] = Services(
        settings=settings,
        state=state,
        metrics=Metrics(state.read, settings),
        hostname=socket.gethostname(),
    )
    app.register_blueprint(probes.blueprint)
    app.register_blueprint(faults.blueprint)
    app.register_blueprint(work.blueprint)
    app.register_blueprint(variants.get(settings.variant).blueprint)
    app.before_request(_start_timer)
    app.after_request(_observe)
    return app


def _start_timer() -> None:
    g.started = time.perf_counter()


def _observe(response: Response) -> Response:
    shared = services()
    endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    code = str(response.status_code)
    shared.metrics.requests.labels(request.method, endpoint, code).inc()
    shared.metrics.latency.labels(endpoint).observe(elapsed)
    user_agent = request.headers.get("User-Agent", "")
    if request.path in PROBE_PATHS or user_agent.startswith("kube-probe/"):
        shared.metrics.probe_hits.labels(endpoint, code).inc()
        extra_headers = {
            name: value for name, value in request.headers.items()
            if name.lower() not in ORDINARY_HEADERS
        }
        logs.event("probe", path=request.path, status=response.status_code,
                   user_agent=user_agent, headers=extra_headers)
    elif shared.settings.log_requests:
        logs.event("request", method=request.method, path=request.path,
                   status=response.status_code, ms=round(elapsed * 1000, 2))
    return response
