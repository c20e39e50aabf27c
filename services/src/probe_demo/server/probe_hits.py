"""Every probe hit, HTTP or gRPC: counted, logged as one JSON line and kept in a short history.

The history (the last HISTORY hits, newest first) is what /ui shows; it is a bounded deque, so
a flood of probe requests costs a fixed amount of memory.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from probe_demo.protocol import POD_HEADER
from probe_demo.server import logs
from probe_demo.server.metrics import Metrics

HISTORY = 50
KUBELET_AGENT = "kube-probe/"
# Headers every HTTP client sends (and HTTP/2's pseudo-headers); the rest (e.g. a probe's
# httpHeaders) are logged and shown.
ORDINARY_HEADERS = frozenset(
    {"host", "user-agent", "accept", "accept-encoding", "connection", "content-length",
     "content-type", ":method", ":path", ":scheme", ":authority"}
)
# Headers every answer carries; the rest (e.g. seed 000's custom header) are shown by /ui.
ORDINARY_ANSWER_HEADERS = frozenset({"content-type", "content-length", POD_HEADER.lower()})


class ProbeProtocol(enum.StrEnum):
    """How a probe reached the server: the wire protocol, as /ui and the log show it."""

    HTTP1_0 = "HTTP/1.0"
    HTTP1_1 = "HTTP/1.1"
    H2C = "h2c"  # HTTP/2 in cleartext with prior knowledge: an httpGet probe's HTTP2
    GRPC = "gRPC"  # grpc.health.v1, over HTTP/2 too


def unusual(headers: Iterable[tuple[str, str]], ordinary: frozenset[str]) -> dict[str, str]:
    """The headers not in `ordinary`, bounded for a log line."""
    return logs.bounded_headers((name, value) for name, value in headers
                                if name.lower() not in ordinary)


class ProbeHits:
    def __init__(self, metrics: Metrics | None = None):
        self.metrics = metrics
        self._lock = threading.Lock()
        self._recent: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._total = 0

    def record(self, *, endpoint: str, path: str, status: int | str, user_agent: str,
               protocol: ProbeProtocol, headers: dict[str, str] | None = None,
               answer_headers: dict[str, str] | None = None, **extra: Any) -> None:
        """One probe hit: `endpoint` is the metric label, `path` what was asked for (an HTTP
        path, or grpc:<service>), `protocol` how it came, `headers` what the prober sent
        beyond the usual ones and `answer_headers` what the answer carried beyond them (seed
        000's custom header)."""
        if self.metrics is not None:
            self.metrics.probe_hits.labels(endpoint, str(status)).inc()
        headers = headers or {}
        logs.event("probe", path=path, **extra, status=status, protocol=protocol,
                   user_agent=user_agent, headers=headers)
        hit = {"time": time.time(), "path": path, "status": status, "protocol": protocol,
               "user_agent": user_agent,
               "kubelet": user_agent.startswith(KUBELET_AGENT), "headers": headers,
               "answer_headers": answer_headers or {}, **extra}
        with self._lock:
            self._total += 1
            self._recent.appendleft(hit)

    def recent(self) -> tuple[int, list[dict[str, Any]]]:
        """(hits recorded since start, the last HISTORY of them, newest first)."""
        with self._lock:
            return self._total, list(self._recent)
