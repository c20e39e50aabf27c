"""Memory held and CPU burnt on purpose, owned by the supervisor (the container's PID 1).

Held by PID 1 so that a memory limit kills the container's main process: on cgroup v1 the
OOM killer picks the largest process, and only the main process's death makes Kubernetes
report the container as OOMKilled (exit 137).
"""

from __future__ import annotations

import subprocess
import sys

from probe_demo import logs

CHUNK = 8 * 2**20
BURN_LOOP = "while True: pass"


class MemoryBallast:
    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0

    def resize(self, size: int) -> None:
        """Hold `size` bytes of touched (resident) memory, grown chunk by chunk."""
        if size == self.size:
            return
        logs.event("memory_ballast", target_bytes=size, held_bytes=self.size)
        self._chunks.clear()
        held = 0
        while held < size:
            chunk = min(CHUNK, size - held)
            # b"\x01" * n writes every page, so the memory is resident, not just reserved.
            self._chunks.append(b"\x01" * chunk)
            held += chunk
        self.size = size
        logs.event("memory_ballast", held_bytes=self.size)


class CpuBurners:
    """N busy processes, each using one CPU until stopped."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen] = []

    @property
    def count(self) -> int:
        return len(self._procs)

    def resize(self, count: int) -> None:
        if count == self.count:
            return
        logs.event("cpu_burners", target=count, running=self.count)
        while self.count < count:
            self._procs.append(subprocess.Popen([sys.executable, "-c", BURN_LOOP]))
        while self.count > count:
            proc = self._procs.pop()
            proc.kill()
            proc.wait()
