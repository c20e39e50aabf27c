"""/ui: a live page on every variant, and ui/live, the snapshot it polls once a second.

The page is three small files shipped in this package (no CDN, no build step) and makes no
request to any other origin; the Content-Security-Policy says so to the browser as well.
Polling, not server-sent events: a stream would hold one of the server's request threads for
as long as a tab stays open, and probes must never wait for a thread. A poll is answered from
memory and a few cgroup files in well under a millisecond.
"""

from __future__ import annotations

import os
import time
from functools import cache
from importlib import resources

from flask import Blueprint, jsonify

from probe_demo import __version__
from probe_demo.server import health
from probe_demo.server.cgroup import Cgroup
from probe_demo.server.config import MAX_CPU_BURNERS, MAX_MEMORY_BYTES
from probe_demo.server.context import services
from probe_demo.server.faults import MAX_FAIL_NEXT

blueprint = Blueprint("ui", __name__)

ASSETS = {"page.html": "text/html; charset=utf-8", "page.css": "text/css; charset=utf-8",
          "page.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


@cache
def _cgroup() -> Cgroup:
    return Cgroup()


def _serve(name: str):
    return _asset(name), 200, {"Content-Type": ASSETS[name], **SECURITY_HEADERS}


@blueprint.get("/ui")
def page():
    return _serve("page.html")


@blueprint.get("/ui/page.css")
def stylesheet():
    return _serve("page.css")


@blueprint.get("/ui/page.js")
def script():
    return _serve("page.js")


@blueprint.get("/ui/live")
def live():
    shared = services()
    settings = shared.settings
    current = shared.state.read()
    total, recent = shared.probe_hits.recent()
    now = time.time()
    return jsonify(
        now=now,
        pod={"name": shared.hostname, "variant": settings.variant, "version": __version__,
             "does": settings.variant_module().describe(settings),
             "pid": os.getpid(), "started_at": current["started_at"],
             "uptime_s": round(now - current["started_at"], 3)},
        verdicts={kind: vars(health.verdict(kind, current, settings))
                  for kind in health.PROBE_KINDS},
        state=current,
        settings={
            "faults_enabled": settings.enable_faults,
            "healthy_checks": settings.healthy_checks
            if getattr(settings.variant_module(), "COUNTS_HEALTHCHECKS", False) else None,
            "health_file": settings.health_file or None,
            "max_memory_bytes": MAX_MEMORY_BYTES,
            "max_cpu_burners": MAX_CPU_BURNERS,
            "max_fail_next": MAX_FAIL_NEXT,
        },
        cgroup=_cgroup().read(),
        probes={"total": total, "recent": recent},
        # What other clients asked (seed 004's sidecar, seed 002's client); not the page's own.
        requests=[count for count in shared.metrics.request_counts()
                  if not count["endpoint"].startswith("/ui")],
    ), 200, {"Cache-Control": "no-store"}
