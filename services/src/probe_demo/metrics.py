"""Prometheus metrics: request and probe counters, plus the pod state as gauges.

Under gunicorn every worker counts on its own; prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set by the supervisor) adds them up at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from probe_demo import health
from probe_demo.config import Settings


class StateCollector:
    """Reads the shared pod state at scrape time, so every worker reports the same values."""

    def __init__(self, read_state: Callable[[], dict[str, Any]], settings: Settings):
        self.read_state = read_state
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        state = self.read_state()
        gauges = {
            "probe_demo_ready": ("1 when the readiness endpoint answers 200",
                                 health.readiness(state, self.settings).ok),
            "probe_demo_live": ("1 when the liveness endpoint answers 200",
                                health.liveness(state).ok),
            "probe_demo_draining": ("1 once shutdown was requested", state["draining"]),
            "probe_demo_healthchecks": ("/healthcheck calls answered by this pod",
                                        state["healthchecks"]),
            "probe_demo_memory_ballast_bytes": ("memory held on purpose by the supervisor",
                                                state["memory_target"]),
            "probe_demo_cpu_burners": ("busy processes started on purpose", state["cpu_target"]),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(name, doc, value=float(value))


class Metrics:
    def __init__(self, read_state: Callable[[], dict[str, Any]], settings: Settings):
        self.registry = CollectorRegistry()
        self.state_collector = StateCollector(read_state, settings)
        self.requests = Counter(
            "probe_demo_http_requests", "HTTP requests answered",
            ["method", "endpoint", "code"], registry=self.registry,
        )
        self.probe_hits = Counter(
            "probe_demo_probe_hits", "Requests to probe endpoints",
            ["endpoint", "code"], registry=self.registry,
        )
        self.latency = Histogram(
            "probe_demo_http_request_duration_seconds", "Time to answer an HTTP request",
            ["endpoint"], registry=self.registry,
        )
        self.registry.register(self.state_collector)

    def exposition(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            registry.register(self.state_collector)
        else:
            registry = self.registry
        return generate_latest(registry), CONTENT_TYPE_LATEST
