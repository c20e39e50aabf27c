"""The load client: R requests a second at a URL, every attempt recorded (seed 002 client.py).

Each attempt opens its own connection, so a refused, reset or timed-out connection is one
counted failure and never a crash. Attempts start on a fixed schedule whatever the server's
latency, so a stalled server shows up as failures and a backlog of slow answers, not as a
quietly lower rate.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from probe_demo.date_fields import date_fields
from probe_demo.protocol import POD_HEADER

VERSION_TEXT_LIMIT = 40


@dataclass
class Attempt:
    number: int
    started: float  # seconds since the run began
    local_date: dict[str, int]
    ttlb: float = 0.0
    status: int | None = None
    error: str | None = None
    version: str | None = None
    remote_date: dict[str, int] | None = None
    pod: str | None = None  # the answering pod, from the server's POD_HEADER
    local_port: int | None = None  # the client's source port, also for failed connects

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    @property
    def outcome(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else (self.error or "unknown")


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"URL {url!r} must look like http://host[:port]/path")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"URL {url!r}: the port must be a number from 1 to 65535") from None
        if port == 0:
            raise ValueError(f"URL {url!r}: port 0 is no port to connect to")
        if port is None:
            port = 443 if parts.scheme == "https" else 80
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.scheme, parts.hostname, port, path)


def version_of(body: bytes) -> str | None:
    """What identifies the answering version: a JSON answer's tag (hello), a text answer's
    first line (/status: OK, OK!!). Other JSON (e.g. /work) names no version."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        first_line = text.splitlines()[0] if text else ""
        return first_line[:VERSION_TEXT_LIMIT] or None
    if isinstance(data, dict) and "tag" in data:
        return str(data["tag"])
    return None


def _error_name(err: BaseException) -> str:
    if isinstance(err, ssl.SSLError):
        # e.g. "tls: wrong version number": https:// to a server that speaks plain HTTP.
        return f"tls: {(err.reason or type(err).__name__).lower().replace('_', ' ')}"
    if isinstance(err, (TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, ConnectionResetError):
        return "connection reset"
    if isinstance(err, http.client.RemoteDisconnected):
        return "closed without response"
    if isinstance(err, socket.gaierror):
        return "name not resolved"
    if isinstance(err, OSError) and err.errno is not None:
        return os.strerror(err.errno).lower()  # e.g. "no route to host"
    return type(err).__name__


def _connector(attempt: Attempt):
    """socket.create_connection that also notes the source port, even of a connect that
    times out: a non-blocking connect has its port before the peer answers."""

    def create_connection(address, timeout, source_address=None, *_args):
        host, port = address
        errors: list[OSError] = []
        for family, kind, proto, _name, peer in socket.getaddrinfo(host, port, 0,
                                                                  socket.SOCK_STREAM):
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


def fetch(target: Target, attempt: Attempt, timeout: float) -> Attempt:
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    begin = time.perf_counter()
    connection = connection_class(target.host, target.port, timeout=timeout)
    connection._create_connection = _connector(attempt)
    try:
        connection.request("GET", target.path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read()
        attempt.status = response.status
        attempt.pod = response.getheader(POD_HEADER)
        attempt.version = version_of(body)
        try:
            remote = json.loads(body)
            if isinstance(remote, dict) and isinstance(remote.get("date"), dict):
                attempt.remote_date = remote["date"]
        except ValueError:
            pass
    except (OSError, http.client.HTTPException) as err:
        attempt.error = _error_name(err)
    finally:
        connection.close()
        attempt.ttlb = time.perf_counter() - begin
    return attempt


@dataclass
class LoadRun:
    """Schedules attempts; `stop` (set from a signal handler) ends the run early.

    `fetcher` replaces the plain HTTP fetch (e.g. through the Kubernetes API's service
    proxy); `began_at` is the wall-clock time of attempt 0, for lining attempts up with
    events that carry wall-clock times."""

    url: str
    rate: float
    duration: float | None = None
    timeout: float = 2.0
    on_attempt: Callable[[Attempt], None] = lambda attempt: None
    stop: threading.Event = field(default_factory=threading.Event)
    attempts: list[Attempt] = field(default_factory=list)
    elapsed: float = 0.0
    fetcher: Callable[[Attempt, float], Attempt] | None = None
    began_at: float = 0.0

    def run(self) -> list[Attempt]:
        if self.fetcher is None:
            target = Target.parse(self.url)
            fetcher = lambda attempt, timeout: fetch(target, attempt, timeout)  # noqa: E731
        else:
            fetcher = self.fetcher
        lock = threading.Lock()
        # Enough threads that attempts still start on time while each may take `timeout`.
        workers = max(4, min(512, int(self.rate * self.timeout) + 4))

        def one(attempt: Attempt) -> None:
            fetcher(attempt, self.timeout)
            with lock:
                self.attempts.append(attempt)
                self.on_attempt(attempt)

        start = time.monotonic()
        self.began_at = time.time()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            number = 0
            while not self.stop.is_set():
                due = start + number / self.rate
                if self.duration is not None and due - start >= self.duration:
                    break
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    break
                number += 1
                pool.submit(one, Attempt(number, time.monotonic() - start,
                                         date_fields(datetime.now())))
        self.elapsed = time.monotonic() - start
        self.attempts.sort(key=lambda attempt: attempt.number)
        return self.attempts
