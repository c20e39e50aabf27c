"""The pod's state: one process serves the pod, so it lives in memory behind one lock.

Everything that answers about the pod (HTTP probes, gRPC health, /state, /metrics, /ui) reads
a snapshot from here, so they can never disagree.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class PodState:
    def __init__(self, **initial: Any):
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "started_at": time.time(),
            "healthchecks": 0,
            "failing": False,
            "draining": False,
            # None: readiness follows the server; False: forced not-ready by /fault/readiness.
            "ready_override": None,
            "memory_target": 0,
            "cpu_target": 0,
            "health_file_present": False,
            # Probes of each kind still to fail on purpose (/fault/fail-next).
            "fail_next_liveness": 0,
            "fail_next_readiness": 0,
            "fail_next_startup": 0,
            **initial,
        }

    def read(self) -> dict[str, Any]:
        """A consistent copy of the state."""
        with self._lock:
            return dict(self._state)

    def set(self, **fields: Any) -> dict[str, Any]:
        """Set fields; return the values they had before."""
        with self._lock:
            before = {key: self._state[key] for key in fields}
            self._state.update(fields)
        return before

    def increment(self, field: str) -> dict[str, Any]:
        """Add one to a counter; return the state as this call left it."""
        with self._lock:
            self._state[field] += 1
            return dict(self._state)

    def take(self, field: str) -> int | None:
        """Take one from a positive counter; return what is left, or None if it was 0."""
        with self._lock:
            if self._state[field] <= 0:
                return None
            self._state[field] -= 1
            return self._state[field]
