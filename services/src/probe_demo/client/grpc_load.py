"""gRPC load: grpc.health.v1 Check calls, all multiplexed on one long-lived HTTP/2
connection, as a gRPC channel makes them. Through a Service that connection stays with one
pod, however the endpoints change; what moves a client is the server's GOAWAY.

Following GOAWAY as gRPC clients do: no new call starts on a connection that got one, the
next call opens a new connection (through the Service, to a pod still listed), calls the
server named as answered (up to its last stream id) finish where they are, and a call it
did not take (a higher stream id, or refused with REFUSED_STREAM) is sent again on the new
connection: the server promised it never saw it.

h2 does HTTP/2; this module reads GOAWAY frames itself (hyperframe) before they reach h2,
because an h2 client reads nothing after a GOAWAY, not even the answers the server still
sends to the calls it promised.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from probe_demo.client.attempt import Attempt, Target, error_name
from probe_demo.protocol import POD_HEADER

CHECK_PATH = "/grpc.health.v1.Health/Check"
SERVING = 1
GOAWAY_FRAME = 0x7
RETRIES = 3  # a call the server did not take is sent again this often at most


@dataclass
class _Call:
    done: threading.Event = field(default_factory=threading.Event)
    pod: str | None = None
    body: bytes = b""
    grpc_status: str | None = None
    error: str | None = None
    not_taken: bool = False  # the server did not take it: send it again elsewhere


def _request(service: str) -> bytes:
    encoded = service.encode()
    message = bytes([0x0A, len(encoded)]) + encoded if encoded else b""
    return struct.pack(">BI", 0, len(message)) + message


def _status_of(body: bytes) -> int | None:
    """The status field of a length-prefixed HealthCheckResponse."""
    message = body[5:]
    if len(message) >= 2 and message[0] == 0x08:
        return message[1]
    return None


class _Connection:
    """One HTTP/2 connection and the calls on it; a reader thread takes the answers."""

    def __init__(self, target: Target, timeout: float, attempt: Attempt) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection

        self.target = target
        self.sock = socket.create_connection((target.host, target.port), timeout=timeout)
        attempt.local_port = self.sock.getsockname()[1]
        self.local_port = attempt.local_port
        self.sock.settimeout(None)
        self.h2 = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        self.lock = threading.Lock()
        self.calls: dict[int, _Call] = {}
        self.going_away = False
        self.closed = False
        self.answered = 0  # calls answered on it so far
        self.pod: str | None = None
        self._buffer = bytearray()
        self.sock.sendall(self.h2.data_to_send())
        threading.Thread(target=self._read, name="grpc-reader", daemon=True).start()

    def start(self, call: _Call, service: str) -> bool:
        """Send the call; False when this connection takes no new calls."""
        with self.lock:
            if self.going_away or self.closed:
                return False
            stream = self.h2.get_next_available_stream_id()
            self.h2.send_headers(stream, [
                (":method", "POST"), (":scheme", "http"), (":path", CHECK_PATH),
                (":authority", self.target.host_header),
                ("content-type", "application/grpc"), ("te", "trailers"),
                ("user-agent", "probe-demo-client")])
            self.h2.send_data(stream, _request(service), end_stream=True)
            self.calls[stream] = call
            try:
                self.sock.sendall(self.h2.data_to_send())
            except OSError as err:
                self.calls.pop(stream, None)
                call.error = error_name(err)
                self._close_locked()
                return True
        return True

    def forget(self, call: _Call) -> None:
        with self.lock:
            for stream, waiting in list(self.calls.items()):
                if waiting is call:
                    del self.calls[stream]

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    self._fail_all("closed without response")
                    return
                self._receive(data)
        except OSError as err:
            self._fail_all(error_name(err))
        except Exception as err:  # a protocol error: the connection is unusable
            self._fail_all(f"protocol error: {type(err).__name__}")

    def _receive(self, data: bytes) -> None:
        from h2.errors import ErrorCodes
        from h2.events import (
            DataReceived,
            ResponseReceived,
            StreamEnded,
            StreamReset,
            TrailersReceived,
        )

        self._buffer += data
        passed = bytearray()
        while len(self._buffer) >= 9:
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < 9 + length:
                break
            frame = bytes(self._buffer[:9 + length])
            del self._buffer[:9 + length]
            if frame[3] == GOAWAY_FRAME:
                self._go_away(int.from_bytes(frame[9:13], "big") & 0x7FFFFFFF)
            else:
                passed += frame
        if not passed:
            return
        with self.lock:
            for event in self.h2.receive_data(bytes(passed)):
                call = self.calls.get(getattr(event, "stream_id", 0) or 0)
                if isinstance(event, ResponseReceived) and call is not None:
                    call.pod = dict(event.headers).get(POD_HEADER.lower())
                elif isinstance(event, DataReceived):
                    if call is not None:
                        call.body += event.data
                    self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                      event.stream_id)
                elif isinstance(event, TrailersReceived) and call is not None:
                    call.grpc_status = dict(event.headers).get("grpc-status")
                elif isinstance(event, StreamEnded) and call is not None:
                    self.calls.pop(event.stream_id, None)
                    self.answered += 1
                    self.pod = call.pod or self.pod
                    call.done.set()
                elif isinstance(event, StreamReset) and call is not None:
                    self.calls.pop(event.stream_id, None)
                    call.not_taken = event.error_code == ErrorCodes.REFUSED_STREAM
                    call.error = f"stream reset ({event.error_code.name})"
                    call.done.set()
            outgoing = self.h2.data_to_send()  # PING answers, window updates
            if outgoing:
                self.sock.sendall(outgoing)
            if self.going_away and not self.calls:
                self._close_locked()

    def _go_away(self, last_stream: int) -> None:
        with self.lock:
            self.going_away = True
            for stream in [s for s in self.calls if s > last_stream]:
                call = self.calls.pop(stream)
                call.not_taken = True
                call.done.set()
            if not self.calls:
                self._close_locked()

    def _fail_all(self, error: str) -> None:
        with self.lock:
            for call in self.calls.values():
                call.error = error
                call.done.set()
            self.calls.clear()
            self._close_locked()

    def _close_locked(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()


class GrpcHealthLoad:
    """The fetcher of LoadRun for grpc:// URLs: grpc://host:port/service ('' is liveness)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.service = target.path.lstrip("/")
        self._current: _Connection | None = None
        self._lock = threading.Lock()
        self.opened = 0

    def _connection(self, timeout: float, attempt: Attempt) -> _Connection:
        with self._lock:
            current = self._current
            if current is None or current.going_away or current.closed:
                current = self._current = _Connection(self.target, timeout, attempt)
                self.opened += 1
            return current

    def fetch(self, attempt: Attempt, timeout: float) -> Attempt:
        begin = time.monotonic()
        deadline = begin + timeout
        try:
            for _ in range(RETRIES + 1):
                connection = self._connection(max(0.01, deadline - time.monotonic()), attempt)
                call = _Call()
                attempt.reused = connection.answered > 0
                attempt.connection_pod = connection.pod
                attempt.local_port = connection.local_port
                if not connection.start(call, self.service):
                    continue  # it got a GOAWAY just now: the next connection takes it
                if not call.done.wait(max(0.0, deadline - time.monotonic())):
                    connection.forget(call)
                    attempt.error = "timeout"
                    return attempt
                if call.not_taken and not call.grpc_status:
                    continue
                self._fill(attempt, call)
                return attempt
            attempt.error = "not taken by any connection"
        except OSError as err:
            attempt.error = error_name(err)
        finally:
            attempt.ttlb = time.monotonic() - begin
        return attempt

    @staticmethod
    def _fill(attempt: Attempt, call: _Call) -> None:
        attempt.pod = call.pod
        if call.error is not None:
            attempt.error = call.error
        elif call.grpc_status != "0":
            attempt.error = f"grpc-status {call.grpc_status}"
        elif _status_of(call.body) != SERVING:
            attempt.error = "NOT_SERVING"
        else:
            attempt.status = 200
            attempt.version = "SERVING"

    def summary(self, failed: list[Attempt]) -> dict[str, Any]:
        return {"mode": "grpc", "opened": self.opened,
                "failed_reused": sum(1 for a in failed if a.reused)}

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                with self._current.lock:
                    self._current._close_locked()
