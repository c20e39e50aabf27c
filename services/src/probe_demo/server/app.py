"""Flask application factory: the common endpoints plus the chosen variant's.

The app only wires features together; each feature module registers its own routes and
reaches what it shares through probe_demo.server.context.
"""

from __future__ import annotations

import logging
import socket
import time
import traceback

from flask import Flask, g, got_request_exception, request
from werkzeug.wrappers import Response

from probe_demo.protocol import POD_HEADER
from probe_demo.server import endpoints, faults, health, logs, ui, work
from probe_demo.server.config import Settings
from probe_demo.server.context import EXTENSION_KEY, Services, services
from probe_demo.server.metrics import UNMATCHED, Metrics, method_label
from probe_demo.server.probe_hits import (
    KUBELET_AGENT,
    ORDINARY_ANSWER_HEADERS,
    ORDINARY_HEADERS,
    ProbeHits,
    ProbeProtocol,
    unusual,
)
from probe_demo.server.state import PodState
from probe_demo.server.stress import Resources

# Requests to these paths (the unhealthy variant's /healthcheck too), or from the kubelet,
# are logged as probe hits.
PROBE_PATHS = frozenset({"/healthcheck", *health.PROBE_ROUTES})


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.load()
    logs.configure()
    state = PodState()
    metrics = Metrics(state, settings)
    app = Flask(__name__)
    app.json.sort_keys = False  # keep seed 002's field order: year, month, ..., then tag
    app.extensions[EXTENSION_KEY] = Services(
        settings=settings,
        state=state,
        metrics=metrics,
        resources=Resources(state),
        probe_hits=ProbeHits(metrics),
        hostname=socket.gethostname(),
    )
    app.register_blueprint(endpoints.blueprint)
    app.register_blueprint(faults.blueprint)
    app.register_blueprint(ui.blueprint)
    work.register(app, settings)
    app.register_blueprint(settings.variant_module().blueprint)
    app.before_request(_start_timer)
    app.after_request(_observe)
    got_request_exception.connect(_log_exception, app)
    app.logger.disabled = True  # _log_exception logs errors, as JSON like every other line
    return app


def _start_timer() -> None:
    g.started = time.perf_counter()


def _observe(response: Response) -> Response:
    shared = services()
    endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
    elapsed = time.perf_counter() - g.get("started", time.perf_counter())
    code = str(response.status_code)
    response.headers[POD_HEADER] = shared.hostname
    shared.metrics.requests.labels(method_label(request.method), endpoint, code).inc()
    shared.metrics.latency.labels(endpoint).observe(elapsed)
    user_agent = request.headers.get("User-Agent", "")
    if request.path in PROBE_PATHS or user_agent.startswith(KUBELET_AGENT):
        protocol = (ProbeProtocol.HTTP1_0 if request.environ.get("SERVER_PROTOCOL") == "HTTP/1.0"
                    else ProbeProtocol.HTTP1_1)
        shared.probe_hits.record(endpoint=endpoint, path=request.path[:256],
                                 status=response.status_code, user_agent=user_agent[:256],
                                 protocol=protocol,
                                 headers=unusual(request.headers.items(), ORDINARY_HEADERS),
                                 answer_headers=unusual(response.headers.items(),
                                                        ORDINARY_ANSWER_HEADERS))
    elif shared.settings.log_requests:
        logs.event("request", method=request.method[:32], path=request.path[:256],
                   status=response.status_code, ms=round(elapsed * 1000, 2))
    return response


def _log_exception(_sender: Flask, exception: BaseException, **_extra: object) -> None:
    """A 500 leaves one log line with its traceback, in the same JSON as everything else."""
    logs.event("error", level=logging.ERROR, method=request.method, path=request.path[:256],
               error=repr(exception)[:512],
               traceback="".join(traceback.format_exception(exception)))
