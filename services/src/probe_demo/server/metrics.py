"""Prometheus metrics: request, probe and shed counters, plus the pod's state as gauges.

The gauges are computed at scrape time from the same state and the same decisions
(probe_demo.server.health) the probes answer with.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from probe_demo.server import health
from probe_demo.server.config import Settings
from probe_demo.server.state import PodState

# Label values a client chooses are mapped onto these, so no client can grow the number of
# series (and the memory, /metrics and /ui/live) without bound: an unknown method counts
# as OTHER; gRPC health services are the probe kinds or "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT",
                     "TRACE"})
OTHER = "OTHER"
UNMATCHED = "<unmatched>"  # the endpoint label of a request no route (HTTP or h2c) matched


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def grpc_endpoint_label(service: str) -> str:
    return f"grpc:{service}" if service in ("", *health.PROBE_KINDS) else "grpc:<other>"


class StateCollector:
    def __init__(self, state: PodState, settings: Settings):
        self.state = state
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        state = self.state.read()
        gauges = {
            "probe_demo_ready": ("1 when the readiness endpoint answers 200",
                                 health.readiness(state, self.settings).ok),
            "probe_demo_live": ("1 when the liveness endpoint answers 200",
                                health.liveness(state, self.settings).ok),
            "probe_demo_draining": ("1 once shutdown was requested", state["draining"]),
            "probe_demo_healthchecks": ("/healthcheck calls answered by this pod",
                                        state["healthchecks"]),
            "probe_demo_memory_ballast_bytes": ("memory held on purpose", state["memory_target"]),
            "probe_demo_cpu_burners": ("CPUs kept busy on purpose", state["cpu_target"]),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(name, doc, value=float(value))


class Metrics:
    def __init__(self, state: PodState, settings: Settings):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "probe_demo_http_requests", "HTTP requests answered",
            ["method", "endpoint", "code"], registry=self.registry,
        )
        self.probe_hits = Counter(
            "probe_demo_probe_hits", "Requests to probe endpoints",
            ["endpoint", "code"], registry=self.registry,
        )
        self.shed = Counter(
            "probe_demo_shed_requests", "Requests refused with 503 because the endpoint was busy",
            ["endpoint"], registry=self.registry,
        )
        self.latency = Histogram(
            "probe_demo_http_request_duration_seconds", "Time to answer an HTTP request",
            ["endpoint"], registry=self.registry,
        )
        self.registry.register(StateCollector(state, settings))

    def request_counts(self) -> list[dict[str, object]]:
        """Requests answered so far, by method, endpoint and code (for /ui)."""
        return [{**sample.labels, "count": int(sample.value)}
                for metric in self.requests.collect() for sample in metric.samples
                if sample.name.endswith("_total")]

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
