"""The HTTP probe paths over h2c on the gRPC port, as the kubelet's `protocol: HTTP2` asks.

The client is curl with --http2-prior-knowledge, which speaks HTTP/2 from the first byte
exactly as the kubelet's h2c prober does (Go's http.Transport with unencrypted HTTP/2).
"""

import json
import subprocess

import pytest
from processes import http_get, http_post

from probe_demo.server import h2c_probes, health
from probe_demo.server.config import Settings
from probe_demo.server.state import PodState

FIELDS = "\n%{http_code} %{http_version}"


def h2c(port: int, path: str, *extra: str) -> tuple[int, str, str]:
    """(status, body, HTTP version curl used) for one h2c request to the gRPC port."""
    result = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-w", FIELDS, *extra,
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=10, check=True)
    body, _, fields = result.stdout.rpartition("\n")
    status, version = fields.split()
    return int(status), body, version


def test_each_probe_path_answers_over_h2c_as_over_http1(start_server):
    server = start_server("--enable-faults")
    for path in health.PROBE_ROUTES:
        status, body, version = h2c(server.grpc_port, path)
        assert (status, version) == (200, "2"), path
        assert http_get(server.url(path))[1] == body
    http_post(server.url("/fault/readiness?ready=false"))
    assert h2c(server.grpc_port, "/readyz")[:2] == (500, "not ready: set by /fault/readiness\n")
    assert h2c(server.grpc_port, "/livez")[0] == 200
    http_post(server.url("/start-failing"))
    assert h2c(server.grpc_port, "/livez")[0] == 500


def test_startup_fails_with_503_over_h2c_until_started(start_server):
    server = start_server("--startup-seconds", "30")
    status, body, _ = h2c(server.grpc_port, "/startupz")
    assert status == 503 and body.startswith("starting, ")


def test_fail_next_spends_h2c_probes_too(start_server):
    server = start_server("--enable-faults")
    http_post(server.url("/fault/fail-next?probe=liveness&count=1"))
    assert h2c(server.grpc_port, "/livez")[0] == 500
    assert h2c(server.grpc_port, "/livez")[0] == 200


def test_h2c_hits_are_listed_with_their_protocol(start_server):
    server = start_server()
    h2c(server.grpc_port, "/readyz", "-A", "kube-probe/1.37", "-H", "Custom-Header: Awesome")
    http_get(server.url("/livez"))
    recent = json.loads(http_get(server.url("/ui/live"))[1])["probes"]["recent"]
    http1, over_h2c = recent[0], recent[1]
    assert (http1["path"], http1["protocol"]) == ("/livez", "HTTP/1.1")
    assert (over_h2c["path"], over_h2c["protocol"], over_h2c["status"]) == (
        "/readyz", "h2c", 200)
    assert over_h2c["kubelet"] is True
    assert over_h2c["headers"] == {"custom-header": "Awesome"}
    assert '"protocol": "h2c"' in server.log()


def test_other_paths_and_methods_are_refused_over_h2c(start_server):
    server = start_server()
    status, body, _ = h2c(server.grpc_port, "/ui")
    assert status == 404 and "/livez" in body and "/startupz" in body
    status, body, _ = h2c(server.grpc_port, "/livez", "-X", "POST")
    assert status == 405 and "GET" in body
    # A client's 404s are no probe hits (they would push the kubelet's out of the history);
    # the kubelet's would be.
    h2c(server.grpc_port, "/kube", "-A", "kube-probe/1.37")
    probes = json.loads(http_get(server.url("/ui/live"))[1])["probes"]
    hits = [(hit["path"], hit["status"], hit["protocol"]) for hit in probes["recent"]]
    assert hits[:2] == [("/kube", 404, "h2c"), ("/livez", 405, "h2c")]
    assert ("/ui", 404, "h2c") not in hits


def test_head_over_h2c_has_the_length_and_no_body(start_server):
    server = start_server()
    result = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-I",
         f"http://127.0.0.1:{server.grpc_port}/livez"],
        capture_output=True, text=True, timeout=10, check=True)
    assert result.stdout.startswith("HTTP/2 200")
    assert "content-length: 6" in result.stdout.lower()  # "alive\n"


def test_the_grpc_port_speaks_no_http1(start_server):
    """HTTP/2 only: an HTTP/1.1 probe at this port gets no answer (the chart refuses it)."""
    server = start_server()
    result = subprocess.run(["curl", "-sS", "--http1.1", "-o", "/dev/null", "-w",
                             "%{http_code}", f"http://127.0.0.1:{server.grpc_port}/livez"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode != 0 and result.stdout == "000"


@pytest.mark.parametrize(("headers", "grpc"), [
    ({"content-type": "application/grpc"}, True),
    ({"content-type": "application/grpc+proto"}, True),
    ({}, False),
    ({"content-type": "text/plain"}, False),
])
def test_a_grpc_call_is_told_by_its_content_type(headers, grpc):
    assert h2c_probes.is_grpc(headers) is grpc


def test_the_query_string_is_not_part_of_the_route():
    answer = h2c_probes.answer("GET", "/livez?verbose=1", PodState(), Settings())
    assert (answer.status, answer.endpoint) == (200, "/livez")
    assert h2c_probes.answer("GET", "/nope", PodState(), Settings()).endpoint == "<unmatched>"
