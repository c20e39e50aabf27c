"""What the endpoints share, reached through `services()` inside a request.

Features import this module, never the app factory, so nothing imports the factory back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from probe_demo.server.config import Settings
from probe_demo.server.state import PodState

if TYPE_CHECKING:
    from probe_demo.server.metrics import Metrics
    from probe_demo.server.probe_hits import ProbeHits
    from probe_demo.server.stress import Resources

EXTENSION_KEY = "probe_demo"


@dataclass
class Services:
    settings: Settings
    state: PodState
    metrics: Metrics
    resources: Resources
    probe_hits: ProbeHits
    hostname: str


def services() -> Services:
    return current_app.extensions[EXTENSION_KEY]
