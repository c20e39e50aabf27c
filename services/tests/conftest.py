from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from probe_demo import logs
from probe_demo.app import create_app
from probe_demo.config import Settings


@pytest.fixture
def make_app(tmp_path):
    def make(**overrides):
        settings = Settings.load(env={}, grpc_port=0, **overrides)
        return create_app(settings)

    return make


@pytest.fixture
def client(make_app):
    return make_app().test_client()


class EventRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append({"event": record.getMessage(), **getattr(record, "fields", {})})


@pytest.fixture
def events() -> Iterator[list[dict]]:
    recorder = EventRecorder()
    logs.logger.addHandler(recorder)
    yield recorder.events
    logs.logger.removeHandler(recorder)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers); HTTP errors are answers too, connection errors raise."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


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


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """Start `probe-demo serve` as a real process and wait for /livez."""
    started: list[RunningServer] = []

    def start(*args: str, wait: bool = True) -> RunningServer:
        port, grpc_port = free_port(), free_port()
        log_path = tmp_path / f"server-{port}.log"
        command = [sys.executable, "-m", "probe_demo", "serve", "--host", "127.0.0.1",
                   "--port", str(port), "--grpc-port", str(grpc_port), *args]
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       env=server_env())
        server = RunningServer(process, port, grpc_port, log_path)
        started.append(server)
        if wait:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if http_get(server.url("/livez"), timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start:\n{server.log()}")
                time.sleep(0.05)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
