"""What a check is asked to do: each option declared once, with its default, its kind and
its help, as probe_demo.server.config.Settings declares the server's. The command line's flags,
their checks and the CheckOptions the check runs with are all made from these fields. No
Kubernetes import here, so `probe-demo check --help` stays quick."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from probe_demo.client.load import CONNECTIONS_HELP, POOL_HELP


def option(default: Any, help_text: str, kind: str = "text", bound: str | None = None,
           **argparse_extra: Any) -> Any:
    """A CheckOptions field. kind: text, number (finite), whole (int), disruptions
    (comma-separated names), connections, pool; bound: "above 0" or "not negative"."""
    metadata = {"help": help_text, "kind": kind, "bound": bound, "extra": argparse_extra}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


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
    rate: float = option(50.0, "requests a second", "number", "above 0")
    timeout: float = option(3.0, "seconds one request may take", "number", "above 0")
    connections: str = option("new", CONNECTIONS_HELP, "connections")
    pool: int = option(16, POOL_HELP, "pool")
    disruptions: list[str] = option(["rollout"], "comma-separated, run in turn",  # noqa: RUF009
                                    "disruptions")
    max_failures: int = option(0, "failed requests allowed for a PASS", "whole",
                               "not negative")
    settle_timeout: float = option(300.0, "seconds a disruption may take to settle",
                                   "number", "above 0")
    before: float = option(3.0, "seconds of load before the first disruption", "number",
                           "not negative")
    pause: float = option(3.0, "seconds of load between disruptions", "number",
                          "not negative")
    after: float = option(5.0, "seconds of load after the last disruption settled", "number",
                          "not negative")


def flag(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")
