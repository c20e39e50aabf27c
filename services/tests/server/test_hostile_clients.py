"""One unkind client against a real server process: the probes are still answered within
their 1 s timeout, and memory stays bounded."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from processes import http_get

PROBE_TIMEOUT = 1.0


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise AssertionError("no Pss line")


def probe_latencies(server, paths=("/livez", "/readyz"), rounds: int = 10) -> list[float]:
    """Probes as the kubelet makes them: a fresh connection each, a 1 s timeout."""
    latencies = []
    for _ in range(rounds):
        for path in paths:
            began = time.monotonic()
            status, _, _ = http_get(server.url(path), timeout=PROBE_TIMEOUT)
            latencies.append(time.monotonic() - began)
            assert status == 200
    return latencies


def grpc_probe_latencies(server, rounds: int = 10) -> list[float]:
    latencies = []
    for _ in range(rounds):
        began = time.monotonic()
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="readiness"), timeout=PROBE_TIMEOUT)
        latencies.append(time.monotonic() - began)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    return latencies


class HeldConnections:
    """COUNT connections to PORT, each sending `opening` and then `every` bytes every
    `interval` seconds (nothing at all when empty), until closed."""

    def __init__(self, port: int, count: int, opening: bytes = b"", every: bytes = b"",
                 interval: float = 1.0) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if opening:
                sock.sendall(opening)
            self.sockets.append(sock)
        self.every, self.interval = every, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while self.every and not self.stop.wait(self.interval):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server: its right
                    sock.send(self.every)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def while_held(held: HeldConnections, measure):
    """What `measure` returns while `held` stays open; then they are closed."""
    try:
        return measure()
    finally:
        held.close()


@pytest.mark.parametrize(("opening", "every"), [
    (b"", b""),  # idle: connected, nothing sent
    (b"GET /status HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n"),  # slowloris
], ids=["idle", "slowloris"])
def test_probes_are_answered_while_1100_connections_are_held(start_server, opening, every):
    server = start_server("--variant", "graceful")
    latencies = while_held(HeldConnections(server.port, 1100, opening, every),
                           lambda: probe_latencies(server))
    assert max(latencies) < PROBE_TIMEOUT, latencies


def test_a_request_that_never_finishes_arriving_is_closed(start_server):
    from probe_demo.server.http_connections import REQUEST_SECONDS

    server = start_server("--variant", "graceful")
    held = HeldConnections(server.port, 1, b"GET /status HTTP/1.1\r\n", b"X-Slow: 1\r\n", 1.0)
    try:
        held.sockets[0].settimeout(REQUEST_SECONDS + 5)
        began = time.monotonic()
        assert held.sockets[0].recv(1024) == b""  # closed by the server, unanswered
        assert time.monotonic() - began < REQUEST_SECONDS + 3
    finally:
        held.close()


def _h2_preface() -> bytes:
    from h2.config import H2Configuration
    from h2.connection import H2Connection

    h2 = H2Connection(H2Configuration(client_side=True))
    h2.initiate_connection()
    return h2.data_to_send()


def _h2_ping() -> bytes:
    from hyperframe.frame import PingFrame

    ping = PingFrame(0)
    ping.opaque_data = b"12345678"
    return ping.serialize()


@pytest.mark.parametrize(("count", "pinging"), [(40, False), (40, True), (None, True)],
                         ids=["40-silent", "40-pinging", "every-slot-pinging"])
def test_grpc_probes_are_answered_while_connections_are_held(start_server, count, pinging):
    from probe_demo.server.grpc_health import MAX_CONNECTIONS

    server = start_server("--variant", "graceful")
    held = HeldConnections(server.grpc_port, count or MAX_CONNECTIONS + 10,
                           _h2_preface() if pinging else b"", _h2_ping() if pinging else b"",
                           0.5)
    latencies = while_held(held, lambda: grpc_probe_latencies(server))
    assert max(latencies) < PROBE_TIMEOUT, latencies


def test_distinct_method_names_do_not_grow_memory_or_metrics(start_server):
    server = start_server("--variant", "graceful")

    def send_methods(names) -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            reader = sock.makefile("rb")
            for name in names:
                sock.sendall(f"{name} /status HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)

    send_methods(f"W{n:05d}X" for n in range(500))  # the allocator's first growth
    before = pss_kib(server.process.pid)
    send_methods(f"M{n:05d}X" for n in range(5000))
    grown = pss_kib(server.process.pid) - before
    assert grown < 3 * 1024, f"PSS grew {grown} KiB"
    _, metrics, _ = http_get(server.url("/metrics"))
    series = [line for line in metrics.splitlines()
              if line.startswith("probe_demo_http_requests_total{")]
    assert len(series) < 20, series[:5]
    assert 'method="OTHER"' in metrics
    _, live, _ = http_get(server.url("/ui/live"))
    assert len(live) < 64 * 1024
