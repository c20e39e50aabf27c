"""Seed 004: /date on 0.0.0.0:8080, polled by a curl sidecar in the same pod."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint

from probe_demo.context import services

PORT = 8080
DRAIN_SECONDS = 0.0

blueprint = Blueprint("date", __name__)


@blueprint.get("/date")
def date():
    return f"{datetime.now().isoformat(sep=' ')} from {services().hostname}\n"
