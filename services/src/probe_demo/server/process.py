"""`probe-demo serve`: one process that is the whole server, and the container's PID 1.

One process, because the pod's state (the health-check count, the failing and draining
flags) is then plain memory: every thread, the HTTP probes and gRPC health read the same
values, the count is exact under any concurrency, and no worker can die half-way through
writing it. The memory a fault holds is held here too, so a memory limit kills the
container's main process and Kubernetes reports OOMKilled.

HTTP is served by waitress: one I/O thread reads and writes every connection and hands
complete requests to `threads` request threads. gRPC health has a thread of its own. The
shutdown on SIGTERM, SIGINT or the --stop-signal is ours: probe_demo.server.drain. SIGTERM
is what the kubelet sends unless the container's lifecycle.stopSignal names another (the
chart passes rollout.stopSignal as --stop-signal).
"""

from __future__ import annotations

import errno
import logging
import resource
import signal
import socket
import time

from probe_demo.protocol import ServerEvent
from probe_demo.server import logs
from probe_demo.server.config import ConfigError, Settings, setting_names
from probe_demo.server.health_file import HealthFile

# How often the I/O loop looks at signals and the shutdown clock.
TICK_SECONDS = 0.1
# The most the server takes past its drain and graceful timeout to exit; the chart leaves
# a grace period at least this much longer (rollout.terminationGracePeriodSeconds).
STOP_SECONDS = 1.0


def listen(settings: Settings, field: str) -> socket.socket:
    """Bind the port of setting `field` now, so a port in use is one line naming the setting."""
    port = getattr(settings, field)
    try:
        return socket.create_server((settings.host, port), backlog=1024)
    except socket.gaierror as err:
        raise ConfigError(f"{setting_names('host')}={settings.host!r}: {err.strerror}") from None
    except OSError as err:
        reason = "already in use" if err.errno == errno.EADDRINUSE else err.strerror
        raise ConfigError(
            f"{setting_names(field)}={port}: cannot listen on {settings.host}:{port}: {reason}"
        ) from None


def raise_open_files_limit(needed: int) -> None:
    """Every connection is a file: let the process open as many as its hard limit allows
    (a container's soft limit may be 1024), and say so when that is fewer than needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if hard != resource.RLIM_INFINITY and hard < needed:
        logs.event("open_files_limit", level=logging.WARNING, hard_limit=hard, needed=needed)


class Server:
    """run() reads as what it does: bind the ports, build the parts, start them, loop until
    the drain is done, stop."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.pending_signals: list[int] = []

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.pending_signals.append(signum)

    def run(self) -> int:
        sockets = self.bind()
        self.build(*sockets)
        self.start()
        try:
            self.loop()
        finally:
            self.stop()
        self.drain.log_stopped()
        return 0

    def bind(self) -> tuple[socket.socket, socket.socket | None]:
        """The ports first, so a port in use is one line naming the setting."""
        settings = self.settings
        http_socket = listen(settings, "port")
        grpc_socket = listen(settings, "grpc_port") if settings.grpc_port else None
        return http_socket, grpc_socket

    def build(self, http_socket: socket.socket, grpc_socket: socket.socket | None) -> None:
        # Flask and waitress load only once the settings and ports are known to be good.
        from waitress.server import create_server

        from probe_demo.server import grpc_health, http_connections
        from probe_demo.server.app import create_app
        from probe_demo.server.context import EXTENSION_KEY
        from probe_demo.server.drain import Drain

        settings = self.settings
        # HTTP connections, gRPC connections, and room for the rest.
        raise_open_files_limit(http_connections.WAITRESS_LIMIT + grpc_health.MAX_CONNECTIONS
                               + 128)
        app = create_app(settings)
        self.shared = app.extensions[EXTENSION_KEY]
        self.health_file = HealthFile(settings, self.shared.state)
        self.health_file.check()
        self.connections: dict = {}  # waitress's socket map: listener, trigger, channels
        self.http = create_server(
            app, map=self.connections, sockets=[http_socket], threads=settings.threads,
            ident="probe-demo", clear_untrusted_proxy_headers=True,
            **http_connections.waitress_options(),
        )
        self.grpc = None
        if grpc_socket is not None:
            self.grpc = grpc_health.GrpcHealthServer(grpc_socket, self.shared.state, settings,
                                                     self.shared.probe_hits,
                                                     self.shared.hostname)
        self.counts = http_connections.ConnectionCounts()
        self.drain = Drain(self.http, self.shared.state, self.grpc, settings.drain_seconds,
                           settings.graceful_timeout, self.counts)
        self.http.channel_class = http_connections.channel_class(self.drain.draining,
                                                                 self.counts)

    def start(self) -> None:
        from probe_demo.server import faults

        settings, resources = self.settings, self.shared.resources
        for signum in {signal.SIGTERM, signal.SIGINT, signal.Signals[settings.stop_signal]}:
            signal.signal(signum, self._on_signal)
        if self.grpc is not None:
            self.grpc.start()
        self.health_file.start()
        if settings.memory_at_start:
            resources.hold_memory(settings.memory_at_start, cause="--memory-at-start")
        if settings.cpus_at_start:
            resources.burn_cpus(settings.cpus_at_start, cause="--cpus-at-start")
        if settings.exit_at_start is not None:
            faults.schedule_exit(settings.exit_at_start, settings.exit_after,
                                 cause="--exit-at-start")
        logs.event(ServerEvent.LISTENING, variant=settings.variant, port=settings.port,
                   grpc_port=settings.grpc_port, threads=settings.threads,
                   stop_signal=settings.stop_signal)

    def loop(self) -> None:
        """Serve until the drain says the server may stop."""
        from waitress import wasyncore

        from probe_demo.server import http_connections

        next_sweep = 0.0
        while True:
            wasyncore.loop(timeout=TICK_SECONDS, map=self.connections, count=1)
            while self.pending_signals:
                self.drain.on_signal(signal.Signals(self.pending_signals.pop(0)).name)
            now = time.monotonic()
            if now >= next_sweep:
                http_connections.sweep(self.http, self.counts, now)
                next_sweep = now + http_connections.SWEEP_SECONDS
            if self.drain.tick(now):
                return

    def stop(self) -> None:
        # Past the deadline already: the request threads get a moment, not a wait.
        self.http.task_dispatcher.shutdown(cancel_pending=True, timeout=STOP_SECONDS / 2)
        if self.grpc is not None:
            self.grpc.stop(timeout=STOP_SECONDS / 2)
        self.shared.resources.burn_cpus(0, cause="stopping")


def serve(settings: Settings) -> int:
    logs.configure()
    return Server(settings).run()
