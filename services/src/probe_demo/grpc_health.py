"""grpc.health.v1 on its own port, so the chart can offer Kubernetes' `grpc` probe type.

Services: "" and "liveness" answer liveness, "readiness" readiness, "startup" startup, with
the same decisions (probe_demo.health) as the HTTP probes.

Served with the h2 library, which does HTTP/2 itself (framing, HPACK, flow control, SETTINGS
and PING); this module adds gRPC's thin layer over it: the 5-byte message prefix, the
grpc-status trailer, and the two one-field protobuf messages of the health service. grpcio
would cost about 12 MiB of memory for that, in a server whose seed gives it 100Mi.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import TYPE_CHECKING, Any

from probe_demo import health
from probe_demo.config import Settings
from probe_demo.state import PodState

if TYPE_CHECKING:
    from probe_demo.probe_hits import ProbeHits

CHECK_PATH = "/grpc.health.v1.Health/Check"
SERVING, NOT_SERVING = 1, 2
# grpc-status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html)
OK, INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED = 0, 3, 5, 12
MAX_CONNECTIONS = 16
IDLE_SECONDS = 30.0
MAX_MESSAGE = 4096


class GrpcError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def decode_service(body: bytes) -> str:
    """The `service` field of a length-prefixed HealthCheckRequest."""
    if len(body) < 5:
        raise GrpcError(INVALID_ARGUMENT, "incomplete message")
    compressed, length = struct.unpack(">BI", body[:5])
    if compressed:
        raise GrpcError(UNIMPLEMENTED, "compressed messages are not supported")
    message = body[5:5 + length]
    service, position = "", 0
    while position < len(message):
        tag, position = _varint(message, position)
        field, wire_type = tag >> 3, tag & 7
        if wire_type == 2:
            size, position = _varint(message, position)
            value = message[position:position + size]
            position += size
            if field == 1:
                service = value.decode("utf-8", "replace")
        elif wire_type == 0:
            _, position = _varint(message, position)
        else:
            raise GrpcError(INVALID_ARGUMENT, "not a HealthCheckRequest")
    return service


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise GrpcError(INVALID_ARGUMENT, "not a HealthCheckRequest")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def encode_status(status: int) -> bytes:
    """A length-prefixed HealthCheckResponse{status}."""
    message = bytes([0x08, status])
    return struct.pack(">BI", 0, len(message)) + message


class GrpcHealthServer:
    def __init__(self, listener: socket.socket, state: PodState, settings: Settings,
                 probe_hits: ProbeHits | None = None):
        self.listener = listener
        self.state = state
        self.settings = settings
        self.probe_hits = probe_hits
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._stopped = threading.Event()

    def verdict(self, service: str) -> health.Verdict:
        kind = service or "liveness"
        if kind not in health.PROBE_KINDS:
            raise GrpcError(NOT_FOUND, f"unknown service {service!r}; use '', 'liveness', "
                                       "'readiness' or 'startup'")
        return health.probe(kind, self.state, self.settings)

    def start(self) -> None:
        threading.Thread(target=self._accept, name="grpc-health", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                connection.close()  # a probe retries; a flood does not grow threads
                continue
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        # h2 loads on the first connection, not on the way to the first readiness answer.
        from h2.exceptions import ProtocolError

        try:
            with connection:
                connection.settimeout(IDLE_SECONDS)
                self._converse(connection)
        except (OSError, ProtocolError):
            pass  # the peer went away or spoke something else: nothing to answer
        finally:
            self._slots.release()

    def _converse(self, connection: socket.socket) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection
        from h2.events import (
            ConnectionTerminated,
            DataReceived,
            RequestReceived,
            StreamEnded,
            StreamReset,
        )

        h2 = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        h2.initiate_connection()
        connection.sendall(h2.data_to_send())
        streams: dict[int, dict[str, Any]] = {}
        while True:
            data = connection.recv(65536)
            if not data:
                return
            for event in h2.receive_data(data):
                if isinstance(event, RequestReceived):
                    streams[event.stream_id] = {"headers": dict(event.headers), "body": b""}
                elif isinstance(event, DataReceived):
                    stream = streams.get(event.stream_id)
                    if stream is not None and len(stream["body"]) < MAX_MESSAGE:
                        stream["body"] += event.data
                    h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, StreamEnded):
                    stream = streams.pop(event.stream_id, None)
                    if stream is not None:
                        self._answer(h2, event.stream_id, stream)
                elif isinstance(event, StreamReset):
                    streams.pop(event.stream_id, None)
                elif isinstance(event, ConnectionTerminated):
                    connection.sendall(h2.data_to_send())
                    return
            outgoing = h2.data_to_send()
            if outgoing:
                connection.sendall(outgoing)

    def _answer(self, h2: Any, stream_id: int, stream: dict[str, Any]) -> None:
        headers = stream["headers"]
        path = headers.get(":path", "")
        service, code, message, status = "", OK, "", None
        try:
            if path != CHECK_PATH:
                raise GrpcError(UNIMPLEMENTED, f"{path} is not served here; use {CHECK_PATH}")
            service = decode_service(stream["body"])
            status = SERVING if self.verdict(service).ok else NOT_SERVING
        except GrpcError as err:
            code, message = err.code, err.message
        response = [(":status", "200"), ("content-type", "application/grpc")]
        if status is None:
            # Trailers-only: the status travels in the one HEADERS frame.
            h2.send_headers(stream_id, [*response, ("grpc-status", str(code)),
                                        ("grpc-message", message)], end_stream=True)
        else:
            h2.send_headers(stream_id, response)
            h2.send_data(stream_id, encode_status(status))
            h2.send_headers(stream_id, [("grpc-status", str(OK))], end_stream=True)
        label = "SERVING" if status == SERVING else "NOT_SERVING" if status else f"error {code}"
        if self.probe_hits is not None:
            self.probe_hits.record(endpoint=f"grpc:{service[:128]}", path=f"grpc:{path[:128]}",
                                   service=service[:128], status=label,
                                   user_agent=headers.get("user-agent", "")[:256])
