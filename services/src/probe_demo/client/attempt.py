"""One attempt of the load client and what it was aimed at: the records every kind of
client (new connections, a keep-alive pool, gRPC calls) fills in, and the words for how
an attempt failed."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

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
    # keep-alive: whether the connection had served an answer before this attempt, and
    # the pod that gave that answer (a failed attempt has no answer of its own).
    reused: bool = False
    connection_pod: str | None = None
    told_to_close: bool = False  # the answer said `Connection: close`

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    @property
    def outcome(self) -> str:
        if self.status is not None:
            return f"HTTP {self.status}"
        error = self.error or "unknown"
        return f"{error} (reused connection)" if self.reused else error


@dataclass
class Target:
    scheme: str
    host: str
    port: int
    path: str
    # The Host header (HTTP/1.1) or :authority (HTTP/2) to send instead of the URL's: a
    # virtual host of an Ingress or a Gateway, reached at the URL's address.
    authority: str | None = None

    @property
    def host_header(self) -> str:
        return self.authority or f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, url: str, host: str | None = None) -> Target:
        bad = next((c for c in url if c.isspace() or not c.isprintable()), None)
        if bad is not None:
            raise ValueError(f"URL {url!r} contains {_character_name(bad)}; percent-encode "
                             "it (a space is %20)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "grpc") or not parts.hostname:
            raise ValueError(f"URL {url!r} must look like http://host[:port]/path (or "
                             "grpc://host:port/service for gRPC health calls)")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"URL {url!r}: the port must be a number from 1 to 65535") from None
        if port == 0:
            raise ValueError(f"URL {url!r}: port 0 is no port to connect to")
        try:
            parts.hostname.encode("idna")
        except UnicodeError:
            raise ValueError(f"URL {url!r}: {parts.hostname!r} is no host name (a label is "
                             "empty or over 63 characters)") from None
        if port is None:
            port = {"https": 443, "grpc": 9090}.get(parts.scheme, 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.scheme, parts.hostname, port, path,
                   None if host is None else authority(host))


# A host name (or address) with an optional port, as a Host header carries it.
_AUTHORITY = re.compile(r"^(?=.{1,253}(:|$))[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                        r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?$")


def authority(text: str) -> str:
    """A Host header's value: a host name or address with an optional port."""
    if not _AUTHORITY.match(text):
        raise ValueError("not a host name with an optional port, e.g. "
                         "demo.example.com or demo.example.com:8080")
    return text


def _character_name(char: str) -> str:
    names = {" ": "a space", "\r": "a carriage return (CR)", "\n": "a line feed (LF)",
             "\t": "a tab"}
    return names.get(char, f"the character U+{ord(char):04X}")


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


def error_name(err: BaseException) -> str:
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
