"""The drain against real server processes: clients that keep their connections lose nothing.

Pooled HTTP/1.1 clients are told to close (Connection: close) from the start of the drain;
gRPC clients get GOAWAY, their calls in flight are answered, then the connection closes.
The server's last log line counts what happened, and the tests hold it to what they saw.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

LAST_STREAM = 2**31 - 1


def stop_log(server) -> dict:
    """The server's last log line, `stopped`."""
    for line in reversed(server.log().splitlines()):
        entry = json.loads(line)
        if entry["event"] == "stopped":
            return entry
    raise AssertionError(f"no stopped line:\n{server.log()}")


class KeepAliveClient(threading.Thread):
    """A pooled client's one connection: GET /status every 10 ms on the same connection,
    a new one only when the server says Connection: close. No retries, no checks before
    reuse: whatever fails on an accepted connection is a lost request."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.answers: list[tuple[float, int, bool]] = []  # sent at, status, will_close
        self.lost: list[str] = []
        self.told_to_close = 0  # connections the server closed by saying so

    def run(self) -> None:
        connection = None
        while not self.stop.is_set():
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                try:
                    connection.connect()
                except ConnectionRefusedError:
                    return  # the server stopped listening: nothing was accepted
            sent = time.monotonic()
            try:
                connection.request("GET", "/status")
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as err:
                self.lost.append(repr(err))
                connection.close()
                connection = None
                continue
            self.answers.append((sent, response.status, response.will_close))
            if response.will_close:
                self.told_to_close += 1
                connection.close()
                connection = None
            time.sleep(0.01)
        if connection is not None:
            connection.close()


def test_pooled_keep_alive_clients_lose_nothing_and_are_told_to_close(start_server):
    server = start_server("--variant", "graceful", "--drain-seconds", "2",
                          "--graceful-timeout", "5")
    stop = threading.Event()
    clients = [KeepAliveClient(server.port, stop) for _ in range(8)]
    for client in clients:
        client.start()
    time.sleep(1.0)
    signalled = time.monotonic()
    server.terminate()
    assert server.process.wait(timeout=20) == 0
    stop.set()
    for client in clients:
        client.join(timeout=15)
    answers = [answer for client in clients for answer in client.answers]
    assert [lost for client in clients for lost in client.lost] == []
    before = [close for sent, _, close in answers if sent < signalled - 0.1]
    during = [close for sent, _, close in answers if sent > signalled + 0.2]
    assert len(before) > 100 and not any(before), "keep-alive before the drain"
    assert len(during) > 100 and all(during), "every answer in the drain closes"
    assert {status for _, status, _ in answers} == {200}
    log = stop_log(server)
    assert log["told_to_close"] == sum(client.told_to_close for client in clients)
    assert log["requests_cut_off"] == 0 and log["connections_cut_off"] == 0


def test_a_request_still_running_at_the_deadline_is_counted_as_cut_off(start_server):
    server = start_server("--variant", "graceful", "--drain-seconds", "0",
                          "--graceful-timeout", "0.5", "--max-work-ms", "5000")
    outcome: dict = {}

    def slow() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            connection.request("GET", "/work?ms=3000")
            outcome["status"] = connection.getresponse().status
        except (OSError, http.client.HTTPException) as err:
            outcome["error"] = repr(err)

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.3)
    server.terminate()
    assert server.process.wait(timeout=20) == 0
    worker.join(timeout=15)
    assert "error" in outcome, outcome
    log = stop_log(server)
    assert log["requests_cut_off"] == 1 and log["connections_cut_off"] == 1


def test_a_connection_waiting_in_the_backlog_is_served_not_reset(start_server):
    """Connections the kernel accepted while the loop was busy are answered after the
    listener closes, with Connection: close."""
    server = start_server("--variant", "graceful", "--drain-seconds", "1",
                          "--graceful-timeout", "5")
    server.terminate()
    time.sleep(0.5)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", "/status")
    response = connection.getresponse()
    assert response.status == 200 and response.will_close
    assert server.process.wait(timeout=20) == 0


# gRPC, frame by frame: hyperframe reads what the server sends, so the test sees each
# GOAWAY and PING as it is (an h2 client stops reading frames after the first GOAWAY).

def _frames(sock: socket.socket, buffer: bytearray, until, timeout: float = 10.0) -> list:
    from hyperframe.frame import Frame

    deadline = time.monotonic() + timeout
    seen: list = []
    while True:
        while len(buffer) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(buffer[:9]))
            if len(buffer) < 9 + length:
                break
            frame.parse_body(memoryview(buffer[9:9 + length]))
            del buffer[:9 + length]
            seen.append(frame)
            if until(frame):
                return seen
        left = deadline - time.monotonic()
        assert left > 0, f"no such frame; saw {seen}"
        sock.settimeout(left)
        data = sock.recv(65536)
        if not data:
            return [*seen, None]  # the server closed the connection
        buffer += data


def _health_call(h2, stream_id: int, service: bytes = b"") -> None:
    body = bytes([0x0A, len(service)]) + service
    h2.send_headers(stream_id, [(":method", "POST"), (":scheme", "http"),
                                (":path", "/grpc.health.v1.Health/Check"),
                                (":authority", "test"), ("content-type", "application/grpc"),
                                ("te", "trailers")])
    h2.send_data(stream_id, struct.pack(">BI", 0, len(body)) + body, end_stream=True)


def test_grpc_connection_gets_goaway_at_drain_start_and_its_call_in_flight_completes(
        start_server):
    from h2.config import H2Configuration
    from h2.connection import H2Connection
    from hyperframe.frame import GoAwayFrame, HeadersFrame, PingFrame

    server = start_server("--variant", "graceful", "--drain-seconds", "3",
                          "--graceful-timeout", "5")
    sock = socket.create_connection(("127.0.0.1", server.grpc_port), timeout=10)
    h2 = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    h2.initiate_connection()
    _health_call(h2, 1)
    sock.sendall(h2.data_to_send())
    buffer = bytearray()
    _frames(sock, buffer, lambda f: isinstance(f, HeadersFrame) and f.stream_id == 1
            and "END_STREAM" in f.flags)

    server.terminate()
    first = _frames(sock, buffer, lambda f: isinstance(f, PingFrame))
    goaways = [f for f in first if isinstance(f, GoAwayFrame)]
    assert [g.last_stream_id for g in goaways] == [LAST_STREAM], first
    ping = first[-1]
    # A call the client sent before it read the GOAWAY, then the PING's answer.
    _health_call(h2, 3)
    sock.sendall(h2.data_to_send())
    ack = PingFrame(0)
    ack.flags.add("ACK")
    ack.opaque_data = ping.opaque_data
    sock.sendall(ack.serialize())

    rest = _frames(sock, buffer, lambda f: f is None)
    answered = [f for f in rest if isinstance(f, HeadersFrame) and f.stream_id == 3
                and "END_STREAM" in f.flags]
    final = [f.last_stream_id for f in rest if isinstance(f, GoAwayFrame)]
    assert answered, rest
    assert final == [3], rest
    assert rest[-1] is None, "the server closes the connection once its calls are done"
    assert server.process.wait(timeout=20) == 0
    assert stop_log(server)["grpc_calls_cut_off"] == 0
    assert '"event": "goaway", "connections": 1' in server.log()


def test_a_grpc_channel_calling_through_the_drain_loses_no_call(start_server):
    server = start_server("--variant", "graceful", "--drain-seconds", "3",
                          "--graceful-timeout", "5")
    results: list[str] = []
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        begin = time.monotonic()
        signalled = None
        while time.monotonic() - begin < 3.5:
            if signalled is None and time.monotonic() - begin > 1.0:
                server.terminate()
                signalled = time.monotonic()
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                results.append(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
            except grpc.RpcError as err:
                results.append(f"failed: {err.code().name}")
            time.sleep(0.01)
    assert server.process.wait(timeout=20) == 0
    assert len(results) > 100
    assert set(results) == {"SERVING"}, [r for r in results if r != "SERVING"][:5]


def test_a_half_sent_request_does_not_keep_the_server_past_its_deadline(start_server):
    from probe_demo.server.process import STOP_SECONDS

    server = start_server("--variant", "graceful", "--drain-seconds", "1",
                          "--graceful-timeout", "1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        time.sleep(0.2)
        signalled = time.monotonic()
        server.terminate()
        assert server.process.wait(timeout=20) == 0
        took = time.monotonic() - signalled
    assert took < 1 + 1 + STOP_SECONDS, f"stopped {took:.2f}s after SIGTERM"
    log = stop_log(server)
    assert log["requests_cut_off"] == 1 and log["connections_cut_off"] == 1


class Reconnecting(threading.Thread):
    """A client that opens a new connection for every request, as fast as it can: some of
    its connections arrive just as the server stops listening."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.answered = 0
        self.not_connected = 0  # refused or timed out: nothing was sent
        self.lost: list[str] = []  # connected, sent, and then no answer

    def run(self) -> None:
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=3)
            except OSError:
                self.not_connected += 1
                return
            with sock:
                try:
                    sock.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    answer = sock.recv(64)
                except OSError as err:
                    self.lost.append(repr(err))
                    continue
                if answer.startswith(b"HTTP/1.1 200"):
                    self.answered += 1
                else:
                    self.lost.append(repr(answer))


def test_connections_arriving_as_the_listener_closes_are_answered_or_refused(start_server):
    """The kernel accepts connections on its own: closing the listener resets those it had
    queued. The drain refuses new handshakes first, then takes the queue, then closes: a
    connection is answered, or refused before anything was sent, never reset."""
    server = start_server("--variant", "graceful", "--drain-seconds", "1",
                          "--graceful-timeout", "2")
    clients = [Reconnecting(server.port) for _ in range(16)]
    for client in clients:
        client.start()
    time.sleep(0.5)
    server.terminate()
    assert server.process.wait(timeout=20) == 0
    for client in clients:
        client.join(timeout=10)
    assert [lost for client in clients for lost in client.lost] == []
    assert sum(client.answered for client in clients) > 100
    assert sum(client.not_connected for client in clients) == len(clients)
