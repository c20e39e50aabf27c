"""The container's PID 1: runs gunicorn, drains on SIGTERM, owns the deliberate resource use.

Why a supervisor in front of gunicorn: on SIGTERM gunicorn's arbiter closes its listening
sockets at once and tells the workers to finish what they hold (Arbiter.stop). A connection
that arrives after that is refused. In Kubernetes, the kubelet's SIGTERM and the removal of
the pod from the Service's endpoints race each other, so a server that stops listening on
SIGTERM loses requests while kube-proxy still routes to it.

So the order is:
1. SIGTERM (or SIGINT) reaches this process. It marks the pod `draining`: /ready and the gRPC
   readiness check now fail, every other endpoint still answers.
2. For drain_seconds, gunicorn keeps serving while endpoints drop the pod.
3. Then this process sends gunicorn its own SIGTERM, which gunicorn handles as it always does:
   close listeners, finish in-flight requests within graceful_timeout, exit.
4. This process exits with gunicorn's exit code.

gunicorn's signal handlers are left as they are, and the Flask app installs none.
A second SIGTERM during the drain skips the rest of it. SIGQUIT and SIGHUP are passed on.
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from probe_demo import logs
from probe_demo.config import ConfigError, Settings
from probe_demo.resources import CpuBurners, MemoryBallast
from probe_demo.state import PodState

TICK_SECONDS = 0.1
PR_SET_PDEATHSIG = 1


class HealthFile:
    """Seed 003's exec probe: a file created at start and removed after ttl seconds."""

    def __init__(self, path: str, ttl: float, state: PodState):
        self.path = Path(path) if path else None
        self.ttl = ttl
        self.state = state
        self.created_at = 0.0

    def create(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        self.created_at = time.monotonic()
        self.state.set(health_file_present=True)
        logs.event("health_file", path=str(self.path), present=True, remove_after_s=self.ttl)

    def tick(self) -> None:
        if self.path is None or self.ttl <= 0 or not self.created_at:
            return
        if time.monotonic() - self.created_at >= self.ttl:
            self.path.unlink(missing_ok=True)
            self.created_at = 0.0
            self.state.set(health_file_present=False)
            logs.event("health_file", path=str(self.path), present=False)


class Supervisor:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.stop_requested_at: float | None = None
        self.term_forwarded = False
        self.gunicorn: subprocess.Popen | None = None
        self.pending_signals: list[int] = []

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.pending_signals.append(signum)

    def _handle_signals(self) -> None:
        while self.pending_signals:
            signum = self.pending_signals.pop(0)
            if signum in (signal.SIGTERM, signal.SIGINT):
                if self.stop_requested_at is None:
                    self.stop_requested_at = time.monotonic()
                    self.state.set(draining=True)
                    logs.event("state_change", field="draining", value=True,
                               signal=signal.Signals(signum).name,
                               drain_seconds=self.settings.drain_seconds)
                else:
                    self._forward(signal.SIGTERM, "second stop signal: drain cut short")
            else:
                self._forward(signum, "passed on")

    def _forward(self, signum: int, why: str) -> None:
        if self.gunicorn and self.gunicorn.poll() is None:
            logs.event("signal_gunicorn", signal=signal.Signals(signum).name, why=why)
            self.gunicorn.send_signal(signum)
            if signum == signal.SIGTERM:
                self.term_forwarded = True

    def run(self) -> int:
        settings = self.settings
        os.makedirs(settings.state_dir, exist_ok=True)
        work_dir = tempfile.mkdtemp(prefix="probe-demo-", dir=settings.state_dir)
        try:
            return self._run(work_dir)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _run(self, work_dir: str) -> int:
        settings = self.settings
        self.state = PodState.create(os.path.join(work_dir, "state.json"))
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(signum, self._on_signal)
        logs.event("starting", variant=settings.variant, port=settings.port,
                   grpc_port=settings.grpc_port)

        ballast, burners = MemoryBallast(), CpuBurners()
        if settings.memory_at_start:
            self.state.set(memory_target=settings.memory_at_start)
        if settings.cpus_at_start:
            self.state.set(cpu_target=settings.cpus_at_start)
        health_file = HealthFile(settings.health_file, settings.health_file_ttl, self.state)
        health_file.create()

        metrics_dir = os.path.join(work_dir, "metrics")
        os.mkdir(metrics_dir)
        env = dict(os.environ, **settings.to_env(), PROMETHEUS_MULTIPROC_DIR=metrics_dir)
        env["PROBE_DEMO_STATE_FILE"] = self.state.path
        # A session of its own: a terminal's Ctrl-C reaches this process, not gunicorn directly
        # (gunicorn treats SIGINT as a quick, non-graceful stop).
        self.gunicorn = subprocess.Popen(
            gunicorn_command(settings, work_dir), env=env, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        # Threads start only now: forking above is safe while this process has one thread.
        grpc_server = None
        if settings.grpc_port:
            from probe_demo.grpc_health import start_server

            try:
                grpc_server = start_server(self.state, settings)
            except RuntimeError as err:
                self.gunicorn.kill()
                raise ConfigError(
                    f"PROBE_DEMO_GRPC_PORT (--grpc-port)={settings.grpc_port}: cannot listen "
                    f"({err}); pick a free port or 0 to turn gRPC health off"
                ) from None

        try:
            while self.gunicorn.poll() is None:
                self._handle_signals()
                current = self.state.read()
                ballast.resize(current["memory_target"])
                burners.resize(current["cpu_target"])
                health_file.tick()
                if (self.stop_requested_at is not None and not self.term_forwarded
                        and time.monotonic() - self.stop_requested_at >= settings.drain_seconds):
                    self._forward(signal.SIGTERM, "drain finished")
                time.sleep(TICK_SECONDS)
        finally:
            burners.resize(0)
            if self.gunicorn.poll() is None:
                self.gunicorn.kill()
            if grpc_server is not None:
                grpc_server.stop(grace=None)
        code = self.gunicorn.wait()
        logs.event("stopped", gunicorn_exit_code=code)
        return code


def _die_with_parent() -> None:
    """In the forked child: get SIGTERM if the supervisor dies, so gunicorn never outlives it."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def gunicorn_command(settings: Settings, work_dir: str) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{settings.host}:{settings.port}",
        "--workers", str(settings.workers),
        "--worker-class", "gthread",
        "--threads", str(settings.threads),
        "--graceful-timeout", str(math.ceil(settings.graceful_timeout)),
        "--worker-tmp-dir", work_dir,
        # The control socket defaults to ~/.gunicorn, which a read-only root filesystem refuses.
        "--no-control-socket",
        "--log-level", "info",
        "probe_demo.app:create_app()",
    ]


def serve(settings: Settings) -> int:
    logs.configure()
    return Supervisor(settings).run()
