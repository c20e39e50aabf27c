"""Per-pod state shared by the supervisor and every gunicorn worker.

Kubernetes probes one pod, not one worker: the unhealthy counter, the failing flag and the
draining flag must be the same whichever worker answers. They live in one small JSON file,
changed under an exclusive flock. Only probes, /state, /metrics and the supervisor read it,
never the hot path (/status), so it is simply re-read each time.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from typing import Any

INITIAL_STATE: dict[str, Any] = {
    "started_at": 0.0,
    "healthchecks": 0,
    "failing": False,
    "draining": False,
    # None: readiness follows the server; False: forced not-ready by /fault/readiness.
    "ready_override": None,
    "memory_target": 0,
    "cpu_target": 0,
    "health_file_present": False,
}


class PodState:
    def __init__(self, path: str):
        self.path = path

    @classmethod
    def create(cls, path: str, **initial: Any) -> PodState:
        """Write a fresh state file (replacing any left by an earlier run)."""
        state = dict(INITIAL_STATE, started_at=time.time(), **initial)
        tmp = f"{path}.tmp"
        with open(tmp, "w") as handle:
            json.dump(state, handle)
        os.replace(tmp, path)
        return cls(path)

    @classmethod
    def open_or_create(cls, path: str) -> PodState:
        if not os.path.exists(path):
            return cls.create(path)
        return cls(path)

    def read(self) -> dict[str, Any]:
        with open(self.path) as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            return json.load(handle)

    def update(self, change: Callable[[dict[str, Any]], Any]) -> tuple[dict[str, Any], Any]:
        """Apply change(state) atomically for all processes; return (new state, its result)."""
        with open(self.path, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            state = json.load(handle)
            result = change(state)
            handle.seek(0)
            handle.truncate()
            json.dump(state, handle)
            handle.flush()
        return state, result

    def set(self, **fields: Any) -> dict[str, Any]:
        """Set fields; return the values they had before."""

        def change(state: dict[str, Any]) -> dict[str, Any]:
            before = {key: state.get(key) for key in fields}
            state.update(fields)
            return before

        return self.update(change)[1]

    def increment(self, field: str) -> int:
        def change(state: dict[str, Any]) -> int:
            state[field] = state.get(field, 0) + 1
            return state[field]

        return self.update(change)[1]
