"""grpc.health.v1 on its own port, so the chart can offer Kubernetes' `grpc` probe type.

Service names: "" and "liveness" answer liveness, "readiness" answers readiness, "startup"
answers startup; both read the same pod state as the HTTP probes.
"""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from probe_demo import health
from probe_demo.config import Settings
from probe_demo.state import PodState

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class PodHealthServicer(health_pb2_grpc.HealthServicer):
    def __init__(self, state: PodState, settings: Settings):
        self.state = state
        self.settings = settings

    def verdict(self, service: str) -> health.Verdict | None:
        current = self.state.read()
        if service in ("", "liveness"):
            return health.liveness(current)
        if service == "readiness":
            return health.readiness(current, self.settings)
        if service == "startup":
            return health.started(current, self.settings)
        return None

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        verdict = self.verdict(request.service)
        if verdict is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}; "
                          "use '', 'liveness', 'readiness' or 'startup'")
        return health_pb2.HealthCheckResponse(status=SERVING if verdict.ok else NOT_SERVING)


def start_server(state: PodState, settings: Settings) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(PodHealthServicer(state, settings), server)
    server.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
    server.start()
    return server
