"""Seed 003's exec probe target: a file the server creates at start and removes after a
time-to-live, so `cat /tmp/healthy` starts failing while the server still answers."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from probe_demo.server import logs
from probe_demo.server.config import ConfigError, Settings, setting_names


class HealthFile:
    """Seed 003's exec probe: a file created at start and removed after ttl seconds."""

    def __init__(self, settings: Settings, state: Any):
        self.path = Path(settings.health_file) if settings.health_file else None
        self.ttl = settings.health_file_ttl
        self.state = state

    def check(self) -> None:
        """Refuse a path the server could not create, before anything starts."""
        if self.path is None:
            return
        name = setting_names("health_file")
        if self.path.is_dir():
            raise ConfigError(f"{name}={str(self.path)!r}: is a directory; name a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
        except OSError as err:
            raise ConfigError(f"{name}={str(self.path)!r}: cannot create it: "
                              f"{err.strerror}") from None

    def start(self) -> None:
        if self.path is None:
            return
        self.state.set(health_file_present=True)
        logs.event("health_file", path=str(self.path), present=True, remove_after_s=self.ttl)
        if self.ttl > 0:
            timer = threading.Timer(self.ttl, self.remove)
            timer.daemon = True
            timer.start()

    def remove(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as err:
            logs.event("health_file", path=str(self.path), error=f"cannot remove: {err}")
            return
        self.state.set(health_file_present=False)
        logs.event("health_file", path=str(self.path), present=False)
