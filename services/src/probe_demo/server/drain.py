"""The drain: how the server leaves the Service without losing a request.

Kubernetes removes a terminating pod from the Service's endpoints at the same time as it
sends SIGTERM, and a connection a client already holds stays with this pod whatever the
endpoints say. So, on the first stop signal:
1. Draining: readiness fails (HTTP and gRPC), everything else is still answered, and every
   HTTP answer closes its connection (`Connection: close`, as Go's Server.Shutdown does
   once keep-alives are off), so a pooled client opens its next request on a new
   connection, which the Service routes to a pod still listed. gRPC clients get GOAWAY
   (probe_demo.server.grpc_health). New connections are still accepted for drain_seconds.
2. Stop listening: new handshakes are refused first and those under way complete
   (probe_demo.server.listener), then the connections the kernel had already accepted are
   taken and served (closing the listener would reset them), then the listener closes. An idle
   connection is closed only when nothing is arriving on it (one with a request arriving
   is read and answered); a connection that has not sent its first request yet gets
   FIRST_REQUEST_SECONDS for it. Requests in flight get graceful_timeout to finish.
3. Stopped: the last log line counts what happened, including the requests cut off at
   the deadline.
A second stop signal during the drain skips the rest of it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from probe_demo.protocol import ServerEvent
from probe_demo.server import http_connections, listener, logs
from probe_demo.server.state import PodState

# After the listener closes, how long a connection that has carried no request yet may
# take to send its first: a client may have connected a moment before and be sending now.
FIRST_REQUEST_SECONDS = 1.0


class Drain:
    """The drain's clock and its steps, run from the server's I/O loop."""

    def __init__(self, http: Any, state: PodState, grpc: Any, drain_seconds: float,
                 graceful_timeout: float, counts: http_connections.ConnectionCounts) -> None:
        self.http = http
        self.state = state
        self.grpc = grpc
        self.drain_seconds = drain_seconds
        self.graceful_timeout = graceful_timeout
        self.draining = threading.Event()
        self.counts = counts
        self.stop_listening_at: float | None = None
        self.refused_new_at: float | None = None  # when new handshakes were refused
        self.stopped_listening_at = 0.0
        self.finish_by: float | None = None
        self.taken_from_backlog = 0
        self.idle_closed = 0  # keep-alive connections closed with nothing on them
        self.requests_cut_off = 0  # requests still unanswered at the deadline
        self.connections_cut_off = 0  # the connections still open then

    def on_signal(self, name: str) -> None:
        if self.stop_listening_at is None:
            self.stop_listening_at = time.monotonic() + self.drain_seconds
            self.draining.set()
            self.state.set(draining=True)
            logs.event(ServerEvent.STATE_CHANGE, field="draining", value=True, signal=name,
                       drain_seconds=self.drain_seconds)
            if self.grpc is not None:
                self.grpc.drain()
        elif self.finish_by is None:
            self.stop_listening_at = time.monotonic()
            logs.event(ServerEvent.DRAIN_CUT_SHORT, signal=name, why="second stop signal")

    def tick(self, now: float) -> bool:
        """One pass of the loop; True when the server may stop."""
        if self.finish_by is None:
            if self.stop_listening_at is not None and now >= self.stop_listening_at:
                if self.refused_new_at is None:
                    self._refuse_new_handshakes(now)
                elif now >= self.refused_new_at + listener.HANDSHAKE_SECONDS:
                    self._stop_listening(now)
            return False
        channels = http_connections.channels(self.http)
        busy = [channel for channel in channels if http_connections.busy(channel)]
        fresh_may_wait = now < self.stopped_listening_at + FIRST_REQUEST_SECONDS
        for channel in channels:
            if channel in busy or http_connections.arriving(channel):
                continue
            if channel.answers == 0 and fresh_may_wait:
                continue
            self.idle_closed += 1
            channel.handle_close()
        remaining = http_connections.channels(self.http)
        if not remaining:
            return True
        if now >= self.finish_by:
            # What is left is cut off: each busy connection loses its queued requests, its
            # half-read one, or at least the answer it had not finished sending.
            self.connections_cut_off = len(remaining)
            self.requests_cut_off = sum(
                max(1, len(c.requests) + (c.request is not None)) for c in busy)
            return True
        return False

    def _refuse_new_handshakes(self, now: float) -> None:
        self.refused_new_at = now
        listener.refuse_new_handshakes(http_connections.listening_socket(self.http))
        if self.grpc is not None:
            listener.refuse_new_handshakes(self.grpc.listener)

    def _stop_listening(self, now: float) -> None:
        from waitress import wasyncore

        self.taken_from_backlog = http_connections.take_backlog(self.http)
        # Close the listening socket only (the server's own close() would also close the
        # trigger the request threads wake this loop with).
        wasyncore.dispatcher.close(self.http)
        if self.grpc is not None:
            self.grpc.stop_listening()
        self.stopped_listening_at = now
        self.finish_by = now + self.graceful_timeout
        logs.event(ServerEvent.STOP_LISTENING, graceful_timeout=self.graceful_timeout,
                   told_to_close=self.counts.told_to_close,
                   taken_from_backlog=self.taken_from_backlog)

    def log_stopped(self) -> None:
        logs.event(ServerEvent.STOPPED, told_to_close=self.counts.told_to_close,
                   taken_from_backlog=self.taken_from_backlog, idle_closed=self.idle_closed,
                   requests_cut_off=self.requests_cut_off,
                   connections_cut_off=self.connections_cut_off,
                   grpc_calls_cut_off=self.grpc.cut_off if self.grpc is not None else 0,
                   evicted=self.counts.evicted, too_slow=self.counts.too_slow)
