"""The server's HTTP connections: waitress's channel with this server's rules on top. It is
the only module that touches waitress's channels; written against waitress 3.0.x
(HTTPChannel's `requests`, `request`, `total_outbufs_len`, `last_activity` and
`server.active_channels`; Task.build_response_header reading the request's Connection
header to choose keep-alive or close).

The rules, so that no client can keep the kubelet's probes out (the kubelet opens a new
connection for every probe):
- At most MAX_CONNECTIONS. A connection beyond that makes room for itself: the one whose
  request has been arriving longest is closed (a slow sender), else the one idle longest.
- A request must arrive whole, headers and body, within REQUEST_SECONDS of its first byte.
- A keep-alive connection idle for IDLE_SECONDS is closed (waitress's channel_timeout).
- While the server drains, every answer closes its connection (Connection: close).
"""

from __future__ import annotations

import select
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MAX_CONNECTIONS = 1000
REQUEST_SECONDS = 10.0
IDLE_SECONDS = 30.0
# waitress stops accepting at its own connection_limit; it is set above ours, so the
# eviction, not a full server, decides who goes.
WAITRESS_LIMIT = MAX_CONNECTIONS + 64
SWEEP_SECONDS = 1.0


@dataclass
class ConnectionCounts:
    told_to_close: int = 0  # connections whose answer said Connection: close (draining)
    evicted: int = 0  # closed to make room for a new one
    too_slow: int = 0  # closed because a request did not arrive whole in time
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


def waitress_options() -> dict[str, Any]:
    """What create_server needs to apply these rules."""
    return {"connection_limit": WAITRESS_LIMIT, "channel_timeout": IDLE_SECONDS,
            "cleanup_interval": 5}


def channel_class(draining: threading.Event, counts: ConnectionCounts) -> type:
    """waitress's HTTPChannel that keeps the rules above."""
    from waitress.channel import HTTPChannel
    from waitress.task import WSGITask

    class Task(WSGITask):
        def build_response_header(self) -> bytes:
            self.channel.answers += 1
            if draining.is_set():
                if not self.channel.told_to_close:
                    self.channel.told_to_close = True
                    counts.add("told_to_close")
                # A WSGI application may not set Connection (waitress refuses hop-by-hop
                # headers), so the task is told what it reads to choose: the client asked
                # for close.
                self.request.headers["CONNECTION"] = "close"
            return super().build_response_header()

    class Channel(HTTPChannel):
        task_class = Task
        told_to_close = False
        answers = 0
        request_began = 0.0  # monotonic time of the first byte of the arriving request

        def __init__(self, server: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(server, *args, **kwargs)
            if len(server.active_channels) > MAX_CONNECTIONS:
                victim = _eviction_candidate(server.active_channels.values(), self)
                if victim is not None:
                    counts.add("evicted")
                    victim.handle_close()

        def received(self, data: bytes) -> bool:
            if self.request is None and data:
                self.request_began = time.monotonic()
            return super().received(data)

    return Channel


def _eviction_candidate(channels: Any, newcomer: Any) -> Any | None:
    """The slowest arriving request, else the longest idle connection; never one whose
    request is being answered."""
    arriving = [c for c in channels if c is not newcomer and c.request is not None
                and not c.requests]
    if arriving:
        return min(arriving, key=lambda c: c.request_began)
    idle = [c for c in channels if c is not newcomer and not busy(c)]
    return min(idle, key=lambda c: c.last_activity) if idle else None


def sweep(server: Any, counts: ConnectionCounts, now: float) -> None:
    """Close the connections whose request is taking longer than REQUEST_SECONDS to arrive."""
    for channel in list(server.active_channels.values()):
        if channel.request is not None and now - channel.request_began > REQUEST_SECONDS:
            counts.add("too_slow")
            channel.handle_close()


def busy(channel: Any) -> bool:
    """A request arriving, queued, being answered, or an answer still being sent."""
    return bool(channel.requests or channel.request is not None or channel.total_outbufs_len)


def arriving(channel: Any) -> bool:
    """Bytes are waiting on an idle connection: a request the loop will read next."""
    try:
        readable, _, _ = select.select([channel.socket], [], [], 0)
    except (OSError, ValueError):
        return False
    return bool(readable)


def channels(server: Any) -> list[Any]:
    return list(server.active_channels.values())


def listening_socket(server: Any) -> Any:
    """The waitress server's listening socket."""
    return server.socket


def take_backlog(server: Any) -> int:
    """Accept what the kernel already accepted: closing the listener would reset it."""
    taken = 0
    while True:
        try:
            pair = server.accept()
        except OSError:
            break
        if pair is None:
            break
        sock, address = pair
        try:
            server.set_socket_options(sock)
        except OSError:
            sock.close()
            continue
        server.channel_class(server, sock, server.fix_addr(address), server.adj,
                             map=server._map)
        taken += 1
    return taken
