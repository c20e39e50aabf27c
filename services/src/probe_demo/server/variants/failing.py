"""Seed 001: healthy until /start-failing is called (probe_demo.server.faults), then /livez
fails."""

from __future__ import annotations

from flask import Blueprint

from probe_demo.server.config import Settings
from probe_demo.server.context import services

PORT = 5000
DRAIN_SECONDS = 0.0

blueprint = Blueprint("failing", __name__)


def describe(settings: Settings) -> str:
    return "/livez answers 200 until /start-failing is called"


@blueprint.get("/")
def index():
    return (
        f"Hello from {services().hostname}. Liveness is /livez; "
        "call /start-failing to make it fail until the container restarts.\n"
    )
