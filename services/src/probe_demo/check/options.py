"""What a check is asked to do: each option declared once, with its default, how a flag's
text is read, its bound and its help (probe_demo.parsing.option), as
probe_demo.server.config.Settings declares the server's. The command line's flags, their
checks and the CheckOptions the check runs with are all made from these fields. No
Kubernetes import here, so `probe-demo check --help` stays quick."""

from __future__ import annotations

from dataclasses import dataclass

from probe_demo.check import registry
from probe_demo.client.attempt import Target
from probe_demo.client.options import CONNECTIONS, HOST, POOL, check_rate
from probe_demo.parsing import ConfigError, check_bounds, finite_number, option, whole_number


@dataclass
class CheckOptions:
    release: str | None = option(None, "Helm release: its probe-demo Deployment is checked",
                                 group="which")
    deployment: str | None = option(None, "name of the Deployment to check", group="which")
    service: str | None = option(None, "Service in front of it (default: the Deployment's "
                                       "name, as the chart names both)")
    namespace: str | None = option(None, "namespace (default: the context's)", short="-n")
    context: str | None = option(None, "kubeconfig context (default: the current one)")
    # None: through the Kubernetes API's service proxy.
    url: str | None = option(None, "send the load here instead of through the Kubernetes "
                                   "API's service proxy: an Ingress, a LoadBalancer, a node "
                                   "port, or the Service's own name in a cluster")
    path: str = option("/status", "path for the service proxy's load")
    front_door_api: str | None = option(
        None, "the front door's own API, e.g. http://traefik.traefik:9000 (Traefik's): the "
              "timeline shows when it began and stopped routing to each pod", metavar="URL")
    rate: float = option(50.0, "requests a second", finite_number, "above 0")
    timeout: float = option(3.0, "seconds one request may take", finite_number, "above 0")
    host: str | None = option(**HOST)
    connections: str = option(**CONNECTIONS)
    pool: int = option(**POOL)
    disruptions: list[str] = option(  # noqa: RUF009 - a list default, copied per instance
        ["rollout"], f"comma-separated, run in turn: {', '.join(registry.NAMES)}",
        registry.parse)
    max_failures: int = option(0, "failed requests allowed for a PASS", whole_number,
                               "not negative")
    settle_timeout: float = option(300.0, "seconds a disruption may take to settle",
                                   finite_number, "above 0")
    before: float = option(3.0, "seconds of load before the first disruption", finite_number,
                           "not negative")
    pause: float = option(3.0, "seconds of load between disruptions", finite_number,
                          "not negative")
    after: float = option(5.0, "seconds of load after the last disruption settled",
                          finite_number, "not negative")

    def check(self) -> None:
        """Every option the check can use, or one ConfigError naming the first that is not;
        nothing here touches a cluster."""
        check_bounds(self)
        check_rate(self.rate)
        if not (self.release or self.deployment):
            raise ConfigError("name what to check: --release NAME or --deployment NAME")
        if self.host and not self.url:
            raise ConfigError(f"--host={self.host} needs --url: through the Kubernetes API's "
                              "service proxy the API server picks the Host header")
        if self.connections != "new" and not self.url:
            raise ConfigError(f"--connections={self.connections} needs --url: through the "
                              "Kubernetes API's service proxy, the API server holds the "
                              "connections to the pods, not this client")
        for name, url in (("--url", self.url), ("--front-door-api", self.front_door_api)):
            if url:
                try:
                    Target.parse(url)
                except ValueError as err:
                    raise ConfigError(f"{name}: {err}") from None
