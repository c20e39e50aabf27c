import json

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from processes import http_get, http_post

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _check(port: int, service: str):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def test_grpc_health_follows_the_pod_state(start_server):
    server = start_server("--variant", "failing", "--enable-faults", "true")
    assert _check(server.grpc_port, "") == SERVING
    assert _check(server.grpc_port, "readiness") == SERVING
    http_post(server.url("/fault/readiness?ready=false"))
    assert _check(server.grpc_port, "readiness") == NOT_SERVING
    assert _check(server.grpc_port, "liveness") == SERVING
    http_post(server.url("/start-failing"))
    assert _check(server.grpc_port, "liveness") == NOT_SERVING
    assert _check(server.grpc_port, "startup") == SERVING


def test_grpc_liveness_follows_the_unhealthy_count(start_server):
    server = start_server("--variant", "unhealthy", "--healthy-checks", "1")
    http_get(server.url("/healthcheck"))
    assert _check(server.grpc_port, "liveness") == SERVING
    http_get(server.url("/healthcheck"))
    assert _check(server.grpc_port, "liveness") == NOT_SERVING
    assert _check(server.grpc_port, "") == NOT_SERVING
    assert http_get(server.url("/livez"))[0] == 500


def test_grpc_health_logs_the_probe_and_ui_lists_it(start_server):
    server = start_server()
    _check(server.grpc_port, "readiness")
    assert '"path": "grpc:/grpc.health.v1.Health/Check", "service": "readiness", ' \
           '"status": "SERVING"' in server.log()
    hit = json.loads(http_get(server.url("/ui/live"))[1])["probes"]["recent"][0]
    assert (hit["path"], hit["service"], hit["status"]) == (
        "grpc:/grpc.health.v1.Health/Check", "readiness", "SERVING")


def test_fail_next_applies_to_grpc_probes_too(start_server):
    server = start_server("--enable-faults")
    http_post(server.url("/fault/fail-next?probe=readiness&count=1"))
    assert _check(server.grpc_port, "readiness") == NOT_SERVING
    assert _check(server.grpc_port, "readiness") == SERVING


def test_grpc_health_rejects_unknown_services(start_server):
    server = start_server()
    with pytest.raises(grpc.RpcError) as caught:
        _check(server.grpc_port, "database")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "readiness" in caught.value.details()


def test_grpc_other_methods_are_unimplemented(start_server):
    server = start_server()
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        watch = channel.unary_stream("/grpc.health.v1.Health/Watch")
        with pytest.raises(grpc.RpcError) as caught:
            list(watch(b"", timeout=5))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
