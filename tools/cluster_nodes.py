"""The cluster's nodes as the multi-node tests and the rollout benchmark need them: which
are Ready, and the tolerations a release needs to run on all of them (our cluster keeps
every other test off its extra nodes with a taint, cluster/lib.sh; kind taints its
control plane). Read from the cluster, so it holds on any cluster."""

from __future__ import annotations

import json
import subprocess

# The taints the node controller puts on a node it found gone; they stay a moment after
# the node is back.
NOT_BACK = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def ready_nodes(kubectl: str = "kubectl") -> list[dict]:
    """The Ready, schedulable nodes of the current kubeconfig's cluster, by name: not
    cordoned, and not still tainted as gone."""
    out = subprocess.run([kubectl, "get", "nodes", "-o", "json"], capture_output=True,
                         text=True, check=True).stdout
    return [node for node in json.loads(out)["items"]
            if not node["spec"].get("unschedulable")
            and not any(t["key"] in NOT_BACK for t in node["spec"].get("taints", []))
            and any(c["type"] == "Ready" and c["status"] == "True"
                    for c in node["status"].get("conditions", []))]


def tolerations(nodes: list[dict]) -> list[dict]:
    """Tolerations of the nodes' own taints, none of Kubernetes' (node.kubernetes.io/:
    cordoned, not ready, unreachable), so a drain and a node failure still move the pods."""
    taints = sorted({(taint["key"], taint["effect"]) for node in nodes
                     for taint in node["spec"].get("taints", [])
                     if not taint["key"].startswith("node.kubernetes.io/")})
    return [{"key": key, "operator": "Exists", "effect": effect} for key, effect in taints]


def toleration_sets(nodes: list[dict]) -> list[str]:
    """The same as helm --set values (tolerations[0].key=...)."""
    return [f"tolerations[{i}].{field}={value}"
            for i, toleration in enumerate(tolerations(nodes))
            for field, value in toleration.items()]
