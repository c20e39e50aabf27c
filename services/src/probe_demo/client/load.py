"""The load client: R requests a second at a URL, every attempt recorded (seed 002 client.py).

Two kinds of HTTP client, chosen with `connections` (and gRPC health calls on one long-lived
HTTP/2 connection for grpc:// URLs, probe_demo.client.grpc_load):
  new         every attempt opens its own connection and asks the server to close it, the
              friendliest client there is: each connection is routed afresh;
  keep-alive  a pool of up to `pool` HTTP/1.1 connections, each reused until the server
              closes it (`Connection: close`) or it fails, as pooled HTTP clients, ingress
              controllers and meshes do. A failure on a connection that had already served
              a request is told apart (Attempt.reused): such a connection stays pinned to
              the pod it was opened to, whatever the Service's endpoints say since.
Names are looked up at most once a second (probe_demo.client.resolver), not once a
connection. A refused, reset or timed-out attempt is one counted failure and never a
crash. Attempts start on a fixed schedule whatever the server's latency, so a stalled
server shows up as failures and a backlog of slow answers, not as a quietly lower rate.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import heapq
import http.client
import json
import os
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from probe_demo.client.attempt import Attempt, Target, error_name, version_of
from probe_demo.client.resolver import Resolver
from probe_demo.date_fields import date_fields
from probe_demo.protocol import POD_HEADER

CONNECTION_MODES = ("new", "keep-alive")
DEFAULT_POOL = 16
DEFAULT_TIMEOUT = 2.0  # seconds one attempt may take
MAX_POOL = 256  # connections a keep-alive client may hold open at once
MAX_RATE = 5000  # attempts a second one client process can start, and far more than it holds
MAX_ANSWER_BYTES = 1 << 20  # an answer is read up to this much; a larger one is a failure
MAX_WORKERS = 512


class Watchdog:
    """Holds every attempt to its deadline: an attempt's socket is shut down when its time
    is up, so whatever read or write it is in returns at once. A socket timeout alone bounds
    one read, and a server that sends a byte a second would keep an attempt for ever."""

    def __init__(self) -> None:
        self._watched: list[list[Any]] = []  # [deadline, number, socket, fired, done]
        self._count = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, deadline: float) -> list[Any]:
        with self._wake:
            self._count += 1
            entry = [deadline, self._count, sock, False, False]
            heapq.heappush(self._watched, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="deadlines",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()
        return entry

    @staticmethod
    def release(entry: list[Any]) -> bool:
        """Stop watching; True when the deadline had passed and the socket was shut down."""
        entry[4] = True
        return entry[3]

    def expire_all(self) -> None:
        """End every attempt now (a second stop signal)."""
        with self._wake:
            for entry in self._watched:
                entry[0] = 0.0
            heapq.heapify(self._watched)
            self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._watched and (self._watched[0][4] or self._watched[0][0] <= now):
                    entry = heapq.heappop(self._watched)
                    if not entry[4]:
                        entry[3] = True
                        with contextlib.suppress(OSError):
                            entry[2].shutdown(socket.SHUT_RDWR)
                wait = self._watched[0][0] - now if self._watched else None
                self._wake.wait(wait)


def _connector(attempt: Attempt, resolver: Resolver):
    """socket.create_connection that also notes the source port, even of a connect that
    times out (a non-blocking connect has its port before the peer answers), and looks the
    name up through `resolver` (probe_demo.client.resolver: not once a connection)."""

    def create_connection(address, timeout, source_address=None, *_args):
        host, port = address
        errors: list[OSError] = []
        for family, kind, proto, _name, peer in resolver.addresses(host, port):
            sock = socket.socket(family, kind, proto)
            try:
                if source_address:
                    sock.bind(source_address)
                sock.setblocking(False)
                code = sock.connect_ex(peer)
                attempt.local_port = sock.getsockname()[1]
                if code in (errno.EINPROGRESS, errno.EWOULDBLOCK):
                    _, writable, _ = select.select([], [sock], [], timeout)
                    if not writable:
                        raise TimeoutError("connect timed out")
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                sock.settimeout(timeout)
                return sock
            except OSError as err:
                sock.close()
                errors.append(err)
        raise errors[0] if errors else OSError(f"{host}: no address to connect to")

    return create_connection


def _open(target: Target, timeout: float) -> http.client.HTTPConnection:
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    return connection_class(target.host, target.port, timeout=timeout)


def _exchange(connection: http.client.HTTPConnection, target: Target, attempt: Attempt,
              headers: dict[str, str], watchdog: Watchdog, deadline: float) -> bool:
    """Send one GET and read its answer into `attempt`, all of it by `deadline`; True when
    the connection may be used again."""
    watched = None
    try:
        if connection.sock is None:
            connection.connect()
        attempt.local_port = connection.sock.getsockname()[1]
        watched = watchdog.watch(connection.sock, deadline)
        if target.authority:
            headers = {**headers, "Host": target.authority}
        connection.request("GET", target.path, headers=headers)
        response = connection.getresponse()
        body = response.read(MAX_ANSWER_BYTES + 1)
    except (OSError, http.client.HTTPException) as err:
        timed_out = watched is not None and Watchdog.release(watched)
        attempt.error = "timeout" if timed_out else error_name(err)
        return False
    if Watchdog.release(watched):
        attempt.error = "timeout"
        return False
    if len(body) > MAX_ANSWER_BYTES:
        attempt.error = f"answer over {MAX_ANSWER_BYTES >> 20} MiB"
        return False
    if response.length:  # bytes its Content-Length promised that never came
        attempt.error = "answer cut short"
        return False
    attempt.status = response.status
    attempt.pod = response.getheader(POD_HEADER)
    attempt.version = version_of(body)
    attempt.told_to_close = response.will_close
    try:
        remote = json.loads(body)
        if isinstance(remote, dict) and isinstance(remote.get("date"), dict):
            attempt.remote_date = remote["date"]
    except ValueError:
        pass
    return not response.will_close


_WATCHDOG = Watchdog()
_RESOLVER = Resolver()


def fetch(target: Target, attempt: Attempt, timeout: float,
          watchdog: Watchdog = _WATCHDOG, resolver: Resolver = _RESOLVER) -> Attempt:
    """One attempt on a connection of its own, closed after the answer."""
    begin = time.perf_counter()
    connection = _open(target, timeout)
    connection._create_connection = _connector(attempt, resolver)
    try:
        _exchange(connection, target, attempt, {"Connection": "close"}, watchdog,
                  time.monotonic() + timeout)
    finally:
        connection.close()
        attempt.ttlb = time.perf_counter() - begin
    return attempt


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection was closed by the server while it sat in the pool: it is
    readable (EOF, or bytes nobody asked for). urllib3 and Go's transport look the same way
    before reusing one; the race with a server closing it right now remains, as for them."""
    if connection.sock is None:
        return True
    readable, _, _ = select.select([connection.sock], [], [], 0)
    return bool(readable)


@dataclass
class _Pooled:
    connection: http.client.HTTPConnection
    answers: int = 0  # answers it has carried
    pod: str | None = None  # the pod that gave the last one


class ConnectionPool:
    """Up to `size` keep-alive connections, handed out oldest-idle first so every one is
    used in turn (as a pool spreads its load), and each kept until the server closes it
    or it fails. An attempt that finds every connection busy waits for one, within its
    timeout."""

    def __init__(self, target: Target, size: int, watchdog: Watchdog = _WATCHDOG,
                 resolver: Resolver = _RESOLVER) -> None:
        self.target = target
        self.size = size
        self.watchdog = watchdog
        self.resolver = resolver
        self._idle: deque[_Pooled] = deque()
        self._open_count = 0
        self._ready = threading.Condition()
        self.opened = 0  # connections opened over the run
        self.closed_by_server = 0  # of those, closed after the server said so

    def _take(self, timeout: float) -> _Pooled | None:
        """An idle connection, or None when a new one may be opened."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while True:
                while not self._idle and self._open_count >= self.size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError("every pooled connection stayed busy")
                    self._ready.wait(left)
                if not self._idle:
                    self._open_count += 1
                    self.opened += 1
                    return None
                pooled = self._idle.popleft()
                if not _dropped(pooled.connection):
                    return pooled
                self._open_count -= 1
                self.closed_by_server += 1
                pooled.connection.close()

    def _give_back(self, pooled: _Pooled, keep: bool, told_to_close: bool) -> None:
        with self._ready:
            if keep:
                self._idle.append(pooled)
            else:
                self._open_count -= 1
                self.closed_by_server += told_to_close
            self._ready.notify()
        if not keep:
            pooled.connection.close()

    def fetch(self, attempt: Attempt, timeout: float) -> Attempt:
        begin = time.perf_counter()
        deadline = time.monotonic() + timeout
        try:
            pooled = self._take(timeout)
        except TimeoutError:
            attempt.error = "timeout"
            attempt.ttlb = time.perf_counter() - begin
            return attempt
        if pooled is None:
            pooled = _Pooled(_open(self.target, timeout))
            pooled.connection._create_connection = _connector(attempt, self.resolver)
        attempt.reused = pooled.answers > 0
        attempt.connection_pod = pooled.pod
        keep = False
        try:
            pooled.connection.timeout = timeout
            if pooled.connection.sock is not None:
                pooled.connection.sock.settimeout(timeout)
            keep = _exchange(pooled.connection, self.target, attempt, {}, self.watchdog,
                             deadline)
            if attempt.status is not None:
                pooled.answers += 1
                pooled.pod = attempt.pod
        finally:
            self._give_back(pooled, keep, attempt.told_to_close)
            attempt.ttlb = time.perf_counter() - begin
        return attempt

    def summary(self, failed: list[Attempt]) -> dict[str, Any]:
        return {"mode": "keep-alive", "pool": self.size, "opened": self.opened,
                "closed_by_server": self.closed_by_server,
                "failed_reused": sum(1 for a in failed if a.reused)}

    def close(self) -> None:
        with self._ready:
            idle, self._idle = list(self._idle), deque()
        for pooled in idle:
            pooled.connection.close()


@dataclass
class LoadRun:
    """Schedules attempts; `stop` (set from a signal handler) ends the run early.

    `fetcher` replaces the plain HTTP fetch (e.g. through the Kubernetes API's service
    proxy); `began_at` is the wall-clock time of attempt 0, for lining attempts up with
    events that carry wall-clock times."""

    url: str
    rate: float
    duration: float | None = None
    timeout: float = DEFAULT_TIMEOUT
    on_attempt: Callable[[Attempt], None] = lambda attempt: None
    stop: threading.Event = field(default_factory=threading.Event)
    attempts: list[Attempt] = field(default_factory=list)
    elapsed: float = 0.0
    fetcher: Callable[[Attempt, float], Attempt] | None = None
    began_at: float = 0.0
    connections: str = "new"  # one of CONNECTION_MODES
    pool_size: int = DEFAULT_POOL  # keep-alive: connections held open at most
    host: str | None = None  # the Host header to send instead of the URL's
    pool: Any = None  # ConnectionPool (keep-alive) or GrpcHealthLoad (grpc://)
    # The schedule as kept: attempts not sent because every worker was still busy, and
    # the most an attempt started after its time.
    not_sent: int = 0
    max_lag: float = 0.0
    watchdog: Watchdog = field(default_factory=Watchdog)
    resolver: Resolver = field(default_factory=Resolver)

    @property
    def rate_held(self) -> bool:
        return self.not_sent == 0 and self.max_lag < 1.0

    def abort(self) -> None:
        """Stop now: no new attempt, and the ones in flight end at once (timeout)."""
        self.stop.set()
        self.watchdog.expire_all()

    def run(self) -> list[Attempt]:
        if self.fetcher is not None:
            fetcher = self.fetcher
        elif self.url.startswith("grpc://"):
            from probe_demo.client.grpc_load import GrpcHealthLoad

            self.pool = GrpcHealthLoad(Target.parse(self.url, self.host))
            fetcher = self.pool.fetch
        elif self.connections == "keep-alive":
            self.pool = ConnectionPool(Target.parse(self.url, self.host), self.pool_size,
                                       self.watchdog, self.resolver)
            fetcher = self.pool.fetch
        else:
            fetcher = functools.partial(fetch, Target.parse(self.url, self.host),
                                        watchdog=self.watchdog, resolver=self.resolver)

        lock = threading.Lock()
        # Enough threads that attempts still start on time while each may take `timeout`.
        workers = max(4, min(MAX_WORKERS, int(self.rate * self.timeout) + 4))
        free = threading.Semaphore(workers)

        def one(attempt: Attempt) -> None:
            try:
                try:
                    fetcher(attempt, self.timeout)
                except Exception as err:  # counted as a failure, never an attempt lost
                    attempt.error = attempt.error or error_name(err)
                with lock:
                    self.attempts.append(attempt)
                    self.on_attempt(attempt)
            finally:
                free.release()

        start = time.monotonic()
        self.began_at = time.time()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            number = 0
            while not self.stop.is_set():
                offset = number / self.rate  # not `due - start`: that rounds below it
                if self.duration is not None and offset >= self.duration:
                    break
                due = start + offset
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    break
                number += 1
                self.max_lag = max(self.max_lag, time.monotonic() - due)
                if not free.acquire(blocking=False):
                    self.not_sent += 1  # every worker is busy: the rate is not held
                    continue
                pool.submit(one, Attempt(number, time.monotonic() - start,
                                         date_fields(datetime.now())))
        self.elapsed = time.monotonic() - start
        if self.pool is not None:
            self.pool.close()
        self.attempts.sort(key=lambda attempt: attempt.number)
        return self.attempts
