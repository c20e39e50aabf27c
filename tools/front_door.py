"""The cluster's front door (Traefik as Gateway API and Ingress controller) as
cluster/front-door.yaml sets it up, the one place its names and ports are written; the e2e
tests and the rollout benchmark read them from here."""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[1] / "cluster" / "front-door.yaml"


@dataclass(frozen=True)
class FrontDoor:
    gateway: str
    namespace: str
    url: str  # as pods reach it
    api_url: str  # Traefik's API (the servers it routes to), as pods reach it
    ingress_class: str
    node_port: int  # its HTTP port on the node, as the host reaches it
    api_node_port: int  # Traefik's API on the node

    def exists(self, kubectl: str = "kubectl") -> bool:
        """Whether the cluster of the current kubeconfig has this Gateway."""
        return subprocess.run([kubectl, "-n", self.namespace, "get", "gateway", self.gateway],
                              capture_output=True, check=False).returncode == 0


@functools.cache
def front_door() -> FrontDoor:
    import yaml

    docs = list(yaml.safe_load_all(MANIFEST.read_text()))
    gateway = next(d for d in docs if d["kind"] == "Gateway")
    service = next(d for d in docs if d["kind"] == "Service")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    ingress_class = next(d for d in docs if d["kind"] == "IngressClass")
    host = f"http://{service['metadata']['name']}.{service['metadata']['namespace']}"
    return FrontDoor(gateway["metadata"]["name"], gateway["metadata"]["namespace"],
                     f"{host}:{ports['web']['port']}", f"{host}:{ports['traefik']['port']}",
                     ingress_class["metadata"]["name"], ports["web"]["nodePort"],
                     ports["traefik"]["nodePort"])
