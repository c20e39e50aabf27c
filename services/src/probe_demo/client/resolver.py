"""Name lookups for the load client, made at most once a `ttl` for each host and port.

Python looks a name up afresh for every connection, and in a pod that is several DNS
queries: the search path (ndots:5) and an A and an AAAA query for each name it tries. At
500 new connections a second to the Gateway (traefik.traefik) that was 2,000 queries a
second to the cluster's DNS, and on two cores the lookups held requests up to 2.2 s (p99
0.9 s; 17 ms by address): the check timed out on its own lookups, not on the pods. So
the client does what a caching resolver does: it keeps the addresses for `ttl` (1 s,
under the 5 s TTL of the cluster's own records), and while one thread looks a name up
again the others go on with the addresses it had. A name that fails to resolve is
forgotten, so every attempt after it asks again, and fails, with "name not resolved".
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

DEFAULT_TTL = 1.0  # seconds the addresses of a name are used before it is looked up again


@dataclass
class _Entry:
    addresses: list[tuple[Any, ...]]
    expires: float
    refreshing: bool = False


class Resolver:
    """getaddrinfo(host, port, 0, SOCK_STREAM), the answer kept for `ttl` seconds."""

    def __init__(self, ttl: float = DEFAULT_TTL, lookup: Any = socket.getaddrinfo) -> None:
        self.ttl = ttl
        self._lookup = lookup
        self._entries: dict[tuple[str, int], _Entry] = {}
        self._lock = threading.Lock()

    def addresses(self, host: str, port: int) -> list[tuple[Any, ...]]:
        key = (host, port)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (entry.expires > time.monotonic() or entry.refreshing):
                return entry.addresses
            if entry is not None:
                entry.refreshing = True
        try:
            addresses = self._lookup(host, port, 0, socket.SOCK_STREAM)
        except BaseException:  # OSError, or UnicodeError for a name IDNA refuses
            with self._lock:
                self._entries.pop(key, None)
            raise
        with self._lock:
            self._entries[key] = _Entry(addresses, time.monotonic() + self.ttl)
        return addresses
