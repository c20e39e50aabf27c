"""Seed 004: /date on 0.0.0.0:8080, polled by a curl sidecar in the same pod."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint

from probe_demo.server.config import Settings
from probe_demo.server.context import services

PORT = 8080
DRAIN_SECONDS = 0.0

blueprint = Blueprint("date", __name__)


def describe(settings: Settings) -> str:
    return "/date answers the time, for the client beside it in the pod"


@blueprint.get("/date")
def date():
    return f"{datetime.now().isoformat(sep=' ')} from {services().hostname}\n"
