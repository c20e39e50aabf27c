"""Helpers for tests that run the server as a real process: ports, HTTP, children."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _fetch(request: urllib.request.Request, timeout: float) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers); HTTP errors are answers too, connection errors raise."""
    return _fetch(urllib.request.Request(url), timeout)


def http_post(url: str, timeout: float = 5.0,
              headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    """POST with an empty body, as the switches take it; answers as http_get."""
    return _fetch(urllib.request.Request(url, data=b"", method="POST", headers=headers or {}),
                  timeout)


def server_env(**extra: str) -> dict[str, str]:
    """This environment without PROBE_DEMO_* variables (the server refuses unknown ones)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROBE_DEMO_")}
    return dict(env, PYTHONUNBUFFERED="1", **extra)


def serve_once(*args: str, env: dict[str, str] | None = None,
               timeout: float = 30) -> subprocess.CompletedProcess:
    """Run `probe-demo serve ARGS` expecting it to stop by itself (a refused setting)."""
    return subprocess.run([sys.executable, "-m", "probe_demo", "serve", *args],
                          capture_output=True, text=True, timeout=timeout,
                          env=server_env() if env is None else env)


@dataclasses.dataclass
class RunningServer:
    process: subprocess.Popen
    port: int
    grpc_port: int
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text()

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)
