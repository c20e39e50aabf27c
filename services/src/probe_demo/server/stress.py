"""Memory held and CPU burnt on purpose, in the server process itself.

The server is the container's main process, so a memory limit kills it and Kubernetes reports
the container OOMKilled (exit 137). CPU burners are threads that hash a buffer: hashlib lets
go of the GIL while it hashes, so N burners keep N CPUs busy and the request threads, probes
included, still run between them.
"""

from __future__ import annotations

import hashlib
import threading
import time

from probe_demo.server import logs
from probe_demo.server.state import PodState

CHUNK = 8 * 2**20
# Hashing this much lets go of the GIL for about a tenth of a millisecond at a time.
BURN_BLOCK = bytes(2**16)


def burn_cpu_until(done: threading.Event | None = None, cpu_seconds: float | None = None) -> int:
    """Keep one CPU busy until `done` is set or this thread has used `cpu_seconds`; return the
    number of blocks hashed. Used by the burners and by /work."""
    deadline = None if cpu_seconds is None else time.thread_time() + cpu_seconds
    rounds = 0
    while not (done is not None and done.is_set()):
        if deadline is not None and time.thread_time() >= deadline:
            break
        hashlib.sha256(BURN_BLOCK).digest()
        rounds += 1
    return rounds


class Resources:
    def __init__(self, state: PodState):
        self.state = state
        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._burners: list[tuple[threading.Thread, threading.Event]] = []

    def hold_memory(self, size: int, cause: str) -> None:
        """Hold `size` bytes of touched (resident) memory, grown chunk by chunk."""
        with self._lock:
            held = sum(len(chunk) for chunk in self._chunks)
            logs.event("memory_ballast", target_bytes=size, held_bytes=held, cause=cause)
            self.state.set(memory_target=size)
            if size < held:
                self._chunks.clear()
                held = 0
            while held < size:
                chunk = min(CHUNK, size - held)
                # b"\x01" * n writes every page, so the memory is resident, not just reserved.
                self._chunks.append(b"\x01" * chunk)
                held += chunk
            logs.event("memory_ballast", held_bytes=held)

    def burn_cpus(self, count: int, cause: str) -> None:
        with self._lock:
            logs.event("cpu_burners", target=count, running=len(self._burners), cause=cause)
            self.state.set(cpu_target=count)
            while len(self._burners) < count:
                done = threading.Event()
                thread = threading.Thread(target=burn_cpu_until, args=(done,),
                                          name=f"cpu-burner-{len(self._burners)}", daemon=True)
                thread.start()
                self._burners.append((thread, done))
            while len(self._burners) > count:
                thread, done = self._burners.pop()
                done.set()
                thread.join()
