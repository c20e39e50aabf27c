"""Seed 003 zero-downtime challenge: /status answers, /ready flips to 500 on SIGTERM.

The drain itself is the supervisor's (probe_demo.supervisor): it marks the pod draining, keeps
gunicorn serving for drain_seconds, then hands gunicorn its SIGTERM.
"""

from __future__ import annotations

from flask import Blueprint

from probe_demo.app import services

blueprint = Blueprint("graceful", __name__)


@blueprint.get("/")
def index():
    return services().settings.status_text + "\n"
