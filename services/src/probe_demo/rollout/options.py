"""What a check is asked to do, and its defaults: the one place the command line reads them
from. No Kubernetes import here, so `probe-demo check --help` stays quick."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CheckOptions:
    namespace: str | None = None
    context: str | None = None
    release: str | None = None
    deployment: str | None = None
    service: str | None = None
    url: str | None = None  # None: through the Kubernetes API's service proxy
    path: str = "/status"
    rate: float = 50.0
    timeout: float = 3.0
    connections: str = "new"  # probe_demo.client.load.CONNECTION_MODES
    pool: int = 16  # keep-alive: connections held open at most
    disruptions: list[str] = field(default_factory=lambda: ["rollout"])
    max_failures: int = 0
    settle_timeout: float = 300.0
    before: float = 3.0  # seconds of load before the first disruption
    pause: float = 3.0  # seconds between disruptions
    after: float = 5.0  # seconds of load after the last one settled
