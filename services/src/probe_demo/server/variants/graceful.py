"""Seed 003 zero-downtime challenge: /status answers, /ready flips to 500 on SIGTERM.

The drain itself is the server's (probe_demo.server.process): on SIGTERM it marks the pod draining,
keeps serving for drain_seconds, then stops listening and finishes the requests in flight.
"""

from __future__ import annotations

from flask import Blueprint

from probe_demo.server.config import Settings
from probe_demo.server.context import services

PORT = 8080
DRAIN_SECONDS = 5.0

blueprint = Blueprint("graceful", __name__)


def describe(settings: Settings) -> str:
    return (f"/status answers {settings.status_text!r}; on SIGTERM readiness fails and it "
            f"serves {settings.drain_seconds:g}s more")


@blueprint.get("/")
def index():
    return services().settings.status_text + "\n"
