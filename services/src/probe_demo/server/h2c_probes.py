"""The HTTP probe paths over h2c: HTTP/2 in cleartext, with prior knowledge, on the gRPC port.

An httpGet probe with `protocol: HTTP2` (Kubernetes 1.37, feature gate H2CContainerProbe)
makes the kubelet speak HTTP/2 from the first byte, which only an HTTP/2 server answers.
The gRPC port is one (probe_demo.server.grpc_health): every request on it that is not a
gRPC call is answered here, with the same decisions and status codes as the HTTP port's
probe paths (probe_demo.server.health.PROBE_ROUTES).
"""

from __future__ import annotations

from dataclasses import dataclass

from probe_demo.server import health
from probe_demo.server.config import Settings
from probe_demo.server.metrics import UNMATCHED
from probe_demo.server.state import PodState


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    endpoint: str  # the metric label: a probe path, or UNMATCHED


def is_grpc(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/grpc")


def answer(method: str, path: str, state: PodState, settings: Settings) -> Answer:
    """The answer to one HTTP/2 request for `path` (its query string ignored)."""
    route_path = path.split("?", 1)[0]
    route = health.PROBE_ROUTES.get(route_path)
    if route is None:
        return Answer(404, f"{path[:128]} is not served over h2c; the probe paths are "
                           f"{', '.join(health.PROBE_ROUTES)}\n", UNMATCHED)
    if method not in ("GET", "HEAD"):
        return Answer(405, f"{method[:32]} {route_path}: probe paths answer GET\n", route_path)
    verdict = health.probe(route.kind, state, settings)
    return Answer(200 if verdict.ok else route.failure_code, verdict.reason + "\n",
                  route_path)
