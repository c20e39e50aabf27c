from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from processes import RunningServer, free_port, http_get, server_env
from support.browser import browser  # noqa: F401 - a fixture of the /ui browser tests

from probe_demo.server import logs
from probe_demo.server.app import create_app
from probe_demo.server.config import Settings


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


@pytest.fixture
def start_server(tmp_path) -> Iterator:
    """Start `probe-demo serve` as a real process and wait for /livez."""
    started: list[RunningServer] = []

    def start(*args: str, wait: bool = True, port: int | None = None) -> RunningServer:
        port, grpc_port = port or free_port(), free_port()
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
