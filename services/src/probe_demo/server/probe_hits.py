"""Every probe hit, HTTP or gRPC: counted, logged as one JSON line and kept in a short history.

The history (the last HISTORY hits, newest first) is what /ui shows; it is a bounded deque, so
a flood of probe requests costs a fixed amount of memory.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from probe_demo.server import logs
from probe_demo.server.metrics import Metrics

HISTORY = 50
KUBELET_AGENT = "kube-probe/"


class ProbeHits:
    def __init__(self, metrics: Metrics | None = None):
        self.metrics = metrics
        self._lock = threading.Lock()
        self._recent: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._total = 0

    def record(self, *, endpoint: str, path: str, status: int | str, user_agent: str,
               headers: dict[str, str] | None = None,
               answer_headers: dict[str, str] | None = None, **extra: Any) -> None:
        """One probe hit: `endpoint` is the metric label, `path` what was asked for (an HTTP
        path, or grpc:<service>), `headers` what the prober sent beyond the usual ones and
        `answer_headers` what the answer carried beyond them (seed 000's custom header)."""
        if self.metrics is not None:
            self.metrics.probe_hits.labels(endpoint, str(status)).inc()
        headers = headers or {}
        logs.event("probe", path=path, **extra, status=status, user_agent=user_agent,
                   headers=headers)
        hit = {"time": time.time(), "path": path, "status": status, "user_agent": user_agent,
               "kubelet": user_agent.startswith(KUBELET_AGENT), "headers": headers,
               "answer_headers": answer_headers or {}, **extra}
        with self._lock:
            self._total += 1
            self._recent.appendleft(hit)

    def recent(self) -> tuple[int, list[dict[str, Any]]]:
        """(hits recorded since start, the last HISTORY of them, newest first)."""
        with self._lock:
            return self._total, list(self._recent)
