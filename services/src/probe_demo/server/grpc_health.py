"""grpc.health.v1 on its own port, so the chart can offer Kubernetes' `grpc` probe type; and,
on the same HTTP/2 connections, the HTTP probe paths over h2c (probe_demo.server.h2c_probes)
for an httpGet probe with `protocol: HTTP2`. A request is a gRPC call when its content-type
is application/grpc.

Services: "" and "liveness" answer liveness, "readiness" readiness, "startup" startup, with
the same decisions (probe_demo.server.health) as the HTTP probes.

Served with the h2 library, which does HTTP/2 itself (framing, HPACK, flow control, SETTINGS
and PING); this module adds gRPC's thin layer over it: the 5-byte message prefix, the
grpc-status trailer, and the two one-field protobuf messages of the health service. grpcio
would cost about 12 MiB of memory for that, in a server whose seed gives it 100Mi.

One thread serves every connection from a selector, so connections cost no threads. A
client that holds connections cannot keep the kubelet out: at MAX_CONNECTIONS, the one
that went longest without a call is closed to make room; a connection with no call for
IDLE_SECONDS (PINGs do not count) and a call left unfinished for CALL_SECONDS are closed.

The drain, as grpc-go's GracefulStop does it: at its start every connection gets a GOAWAY
that admits every stream (last stream id 2^31-1) and a PING; once the client answers the
PING it has seen the GOAWAY, and a second GOAWAY names the last stream this server will
answer. Calls up to it are answered, the connection closes when none is open, and a
client opens its next call on a new connection, through the Service, to a pod still
listed. A connection opened during the drain (the Service may still route one here) is
told the same after its first call, as every HTTP answer in the drain closes its
connection: telling it before any call would send the client round in circles. The
GOAWAY frames are written directly (hyperframe), because h2 stops sending anything on a
connection once it has sent a GOAWAY itself.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time
from typing import TYPE_CHECKING, Any

from probe_demo.protocol import POD_HEADER, ServerEvent
from probe_demo.server import h2c_probes, health, logs
from probe_demo.server.config import Settings
from probe_demo.server.metrics import UNMATCHED, grpc_endpoint_label
from probe_demo.server.probe_hits import KUBELET_AGENT, ORDINARY_HEADERS, ProbeProtocol, unusual
from probe_demo.server.state import PodState

if TYPE_CHECKING:
    from probe_demo.server.probe_hits import ProbeHits

CHECK_PATH = "/grpc.health.v1.Health/Check"
SERVING, NOT_SERVING = 1, 2
# grpc-status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html)
OK, INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED = 0, 3, 5, 12
MAX_CONNECTIONS = 64
IDLE_SECONDS = 30.0  # without a call, PINGs or not
CALL_SECONDS = 10.0  # one call from its first frame to its last
MAX_MESSAGE = 4096
MAX_STREAMS = 32  # open calls on one connection (SETTINGS_MAX_CONCURRENT_STREAMS)
MAX_UNSENT = 256 * 1024  # bytes a connection may leave unread before it is closed
LAST_STREAM = 2**31 - 1
DRAIN_PING = b"draining"
TICK_SECONDS = 0.25


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


def goaway_frame(last_stream_id: int) -> bytes:
    from hyperframe.frame import GoAwayFrame

    frame = GoAwayFrame(0)
    frame.last_stream_id = last_stream_id
    frame.error_code = 0  # NO_ERROR: a graceful close
    return frame.serialize()


class _Connection:
    """One client connection: its h2 state, what it still has to send, its open calls."""

    def __init__(self, sock: socket.socket, now: float) -> None:
        from h2.config import H2Configuration
        from h2.connection import H2Connection
        from h2.settings import SettingCodes

        self.sock = sock
        self.h2 = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.h2.local_settings.update({SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS})
        self.h2.initiate_connection()
        self.unsent = bytearray(self.h2.data_to_send())
        self.streams: dict[int, dict[str, Any]] = {}  # stream id -> headers, body, opened
        self.last_call = now  # opened, or the last call's end
        self.highest_stream = 0
        self.told_to_go = False  # the first GOAWAY is sent
        self.last_answered: int | None = None  # the second GOAWAY's last stream id
        self.close_when_sent = False

    def queue(self, data: bytes = b"") -> None:
        self.unsent += self.h2.data_to_send()
        self.unsent += data


class GrpcHealthServer:
    def __init__(self, listener: socket.socket, state: PodState, settings: Settings,
                 probe_hits: ProbeHits | None = None, pod: str | None = None):
        self.listener = listener
        self.state = state
        self.settings = settings
        self.probe_hits = probe_hits
        self.pod = pod or socket.gethostname()
        self._selector = selectors.DefaultSelector()
        self._connections: dict[socket.socket, _Connection] = {}
        self._wake_read, self._wake_write = socket.socketpair()
        self._commands: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._draining = False
        self._listening = True
        self.cut_off = 0  # calls still open when the server stopped

    def verdict(self, service: str) -> health.Verdict:
        kind = service or "liveness"
        if kind not in health.PROBE_KINDS:
            raise GrpcError(NOT_FOUND, f"unknown service {service!r}; use '', 'liveness', "
                                       "'readiness' or 'startup'")
        return health.probe(kind, self.state, self.settings)

    # Called from the main thread: each is carried out by the serving thread.
    def start(self) -> None:
        self.listener.setblocking(False)
        self._selector.register(self.listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._serve, name="grpc-health", daemon=True)
        self._thread.start()

    def drain(self) -> None:
        """Tell every client to go away; keep answering what they already sent."""
        self._command("drain")

    def stop_listening(self) -> None:
        """Take no new connection; name the last call each open one gets answered."""
        self._command("stop_listening")

    def stop(self, timeout: float = 2.0) -> None:
        self._command("stop")
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _command(self, name: str) -> None:
        with self._lock:
            self._commands.append(name)
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    # The serving thread.
    def _serve(self) -> None:
        next_expiry = 0.0
        try:
            while True:
                for key, events in self._selector.select(TICK_SECONDS):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_read.recv(4096)
                        if self._run_commands():
                            return
                    else:
                        self._on_ready(key.data, events)
                now = time.monotonic()
                if now >= next_expiry:  # once a tick, not after every frame under load
                    self._expire(now)
                    next_expiry = now + TICK_SECONDS
        finally:
            for connection in list(self._connections.values()):
                self.cut_off += len(connection.streams)
                self._close(connection)
            self._close_listener()

    def _run_commands(self) -> bool:
        """Carry out the main thread's commands; True when told to stop."""
        with self._lock:
            commands, self._commands = self._commands, []
        for command in commands:
            if command == "drain" and not self._draining:
                self._draining = True
                for connection in list(self._connections.values()):
                    self._tell_to_go(connection)
                logs.event(ServerEvent.GOAWAY, connections=len(self._connections))
            elif command == "stop_listening":
                self._accept_queued()  # closing the listener would reset them
                self._close_listener()
                for connection in list(self._connections.values()):
                    self._name_last_call(connection)
            elif command == "stop":
                return True
        return False

    def _close_listener(self) -> None:
        if self._listening:
            self._listening = False
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self.listener)
            self.listener.close()

    def _accept_queued(self) -> None:
        while self._listening and self._accept():
            pass

    def _accept(self) -> bool:
        """Accept up to 64 connections; True when there may be more."""
        for _ in range(64):  # then let the others have a turn
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return False
            now = time.monotonic()
            if len(self._connections) >= MAX_CONNECTIONS:
                # The kubelet opens a connection for every probe: make room for it by
                # closing the connection that went longest without a call.
                self._close(min(self._connections.values(), key=lambda c: c.last_call))
            sock.setblocking(False)
            connection = _Connection(sock, now)
            self._connections[sock] = connection
            self._selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE,
                                    connection)
        return True

    def _tell_to_go(self, connection: _Connection) -> None:
        if connection.told_to_go:
            return
        connection.told_to_go = True
        connection.queue(goaway_frame(LAST_STREAM))
        connection.h2.ping(DRAIN_PING)
        connection.queue()
        self._want_write(connection)

    def _name_last_call(self, connection: _Connection) -> None:
        """The second GOAWAY: calls after the last one seen will not be answered here."""
        if connection.last_answered is not None:
            return
        connection.last_answered = connection.highest_stream
        connection.queue(goaway_frame(connection.highest_stream))
        if not connection.streams:
            connection.close_when_sent = True
        self._want_write(connection)

    def _want_write(self, connection: _Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(connection.sock,
                                  selectors.EVENT_READ | selectors.EVENT_WRITE, connection)

    def _close(self, connection: _Connection) -> None:
        self._connections.pop(connection.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)
        connection.sock.close()

    def _expire(self, now: float) -> None:
        for connection in list(self._connections.values()):
            stale_call = any(now - stream["opened"] > CALL_SECONDS
                             for stream in connection.streams.values())
            if stale_call or (not connection.streams
                              and now - connection.last_call > IDLE_SECONDS):
                self._close(connection)

    def _on_ready(self, connection: _Connection, events: int) -> None:
        from h2.exceptions import H2Error

        try:
            if events & selectors.EVENT_READ:
                data = connection.sock.recv(65536)
                if not data:
                    self._close(connection)
                    return
                self._receive(connection, data)
            if connection.unsent:
                sent = connection.sock.send(connection.unsent)
                del connection.unsent[:sent]
            if not connection.unsent:
                if connection.close_when_sent:
                    self._close(connection)
                    return
                self._selector.modify(connection.sock, selectors.EVENT_READ, connection)
            elif len(connection.unsent) > MAX_UNSENT:
                self._close(connection)  # a client that sends but never reads
        except (BlockingIOError, InterruptedError):
            pass
        except (OSError, H2Error, ValueError, KeyError):
            self._close(connection)  # the peer went away or spoke something else

    def _receive(self, connection: _Connection, data: bytes) -> None:
        from h2.errors import ErrorCodes
        from h2.events import (
            ConnectionTerminated,
            DataReceived,
            PingAckReceived,
            RequestReceived,
            StreamEnded,
            StreamReset,
        )

        h2 = connection.h2
        now = time.monotonic()
        for event in h2.receive_data(data):
            if isinstance(event, RequestReceived):
                if (connection.last_answered is not None
                        and event.stream_id > connection.last_answered):
                    # After the second GOAWAY: the client retries it on a new connection.
                    h2.reset_stream(event.stream_id, ErrorCodes.REFUSED_STREAM)
                    continue
                connection.highest_stream = max(connection.highest_stream, event.stream_id)
                connection.streams[event.stream_id] = {
                    "headers": dict(event.headers), "body": b"", "opened": now}
            elif isinstance(event, DataReceived):
                stream = connection.streams.get(event.stream_id)
                if stream is not None and len(stream["body"]) < MAX_MESSAGE:
                    stream["body"] += event.data
                h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                stream = connection.streams.pop(event.stream_id, None)
                if stream is not None:
                    self._answer(h2, event.stream_id, stream)
                    connection.last_call = now
                    if self._draining:  # opened during the drain: one call, then go
                        self._tell_to_go(connection)
            elif isinstance(event, StreamReset):
                connection.streams.pop(event.stream_id, None)
            elif isinstance(event, PingAckReceived) and event.ping_data == DRAIN_PING:
                self._name_last_call(connection)
            elif isinstance(event, ConnectionTerminated):
                connection.close_when_sent = True
        if connection.last_answered is not None and not connection.streams:
            connection.close_when_sent = True
        connection.queue()

    def _answer(self, h2: Any, stream_id: int, stream: dict[str, Any]) -> None:
        if h2c_probes.is_grpc(stream["headers"]):
            self._answer_grpc(h2, stream_id, stream)
        else:
            self._answer_http(h2, stream_id, stream)

    def _answer_http(self, h2: Any, stream_id: int, stream: dict[str, Any]) -> None:
        headers = stream["headers"]
        method, path = headers.get(":method", ""), headers.get(":path", "")
        answer = h2c_probes.answer(method, path, self.state, self.settings)
        body = b"" if method == "HEAD" else answer.body.encode()
        h2.send_headers(stream_id, [
            (":status", str(answer.status)), ("content-type", "text/plain; charset=utf-8"),
            ("content-length", str(len(answer.body.encode()))),
            (POD_HEADER.lower(), self.pod)], end_stream=not body)
        if body:
            h2.send_data(stream_id, body, end_stream=True)
        user_agent = headers.get("user-agent", "")
        # As on the HTTP port: a probe path, or the kubelet; not every other client's request.
        if self.probe_hits is not None and (answer.endpoint != UNMATCHED
                                            or user_agent.startswith(KUBELET_AGENT)):
            self.probe_hits.record(endpoint=answer.endpoint, path=path[:256],
                                   status=answer.status, protocol=ProbeProtocol.H2C,
                                   user_agent=user_agent[:256],
                                   headers=unusual(headers.items(), ORDINARY_HEADERS))

    def _answer_grpc(self, h2: Any, stream_id: int, stream: dict[str, Any]) -> None:
        headers = stream["headers"]
        path = headers.get(":path", "")
        service, code, message, status = "", OK, "", None
        try:
            if path != CHECK_PATH:
                raise GrpcError(UNIMPLEMENTED, f"{path[:128]} is not served here; use "
                                               f"{CHECK_PATH}")
            service = decode_service(stream["body"])
            status = SERVING if self.verdict(service).ok else NOT_SERVING
        except GrpcError as err:
            code, message = err.code, err.message
        response = [(":status", "200"), ("content-type", "application/grpc"),
                    (POD_HEADER.lower(), self.pod)]
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
            self.probe_hits.record(endpoint=grpc_endpoint_label(service),
                                   path=f"grpc:{path[:128]}",
                                   service=service[:128], status=label,
                                   protocol=ProbeProtocol.GRPC,
                                   user_agent=headers.get("user-agent", "")[:256])
