"""The disruptions a check can run, and what each needs of the API: the one place both are
written. `probe-demo check` asks for these permissions before any load is sent, and the
chart's Role and its schema are generated from here (tools/chart_variants.py writes
charts/probe-demo/disruptions.json). No Kubernetes import, so `--help` stays quick.

A new disruption is one entry here, its function in disruptions.py, and a test.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    """One API verb on one resource; `named`: only on the checked Deployment's own name
    (which the chart gives its HPA too); `required`: the check refuses to start without it
    (without the others it runs and says what is missing); `cluster_scoped`: a resource of
    no namespace (nodes), which only a ClusterRole grants."""

    verb: str
    resource: str
    group: str = ""
    subresource: str | None = None
    named: bool = False
    required: bool = True
    cluster_scoped: bool = False

    def words(self, name: str) -> str:
        shown = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {shown}/{name}" if self.named else f"{self.verb} {shown}"


@dataclass(frozen=True)
class DisruptionKind:
    name: str
    what: str  # what the check does
    like: str  # the command a person would run
    needs: tuple[Permission, ...]
    nodes: int = 1  # the nodes a cluster needs for it (drain moves pods to another)


# What the check itself needs: the Deployment, its pods, their log, their endpoints.
WATCHING = (
    Permission("get", "deployments", "apps", named=True),
    Permission("get", "pods"), Permission("list", "pods"), Permission("watch", "pods"),
    # The server's events on the timeline; without it they are missing, with a warning.
    Permission("get", "pods", subresource="log", required=False),
    Permission("get", "endpointslices", "discovery.k8s.io"),
    Permission("list", "endpointslices", "discovery.k8s.io"),
    Permission("watch", "endpointslices", "discovery.k8s.io"),
)

DISRUPTIONS = (
    DisruptionKind("rollout", "a new pod template, so a new ReplicaSet replaces every pod",
                   "kubectl rollout restart",
                   (Permission("patch", "deployments", "apps", named=True),)),
    DisruptionKind("delete", "a graceful delete of one pod", "kubectl delete pod",
                   (Permission("delete", "pods"),)),
    DisruptionKind("scale-down", "replicas N -> 1 (or the HPA's minimum) -> N",
                   "kubectl scale",
                   (Permission("patch", "deployments", "apps", named=True),
                    Permission("get", "horizontalpodautoscalers", "autoscaling", named=True))),
    DisruptionKind("evict", "the eviction API on every pod in turn, honouring the "
                   "PodDisruptionBudget", "the eviction API, as kubectl drain calls it",
                   (Permission("create", "pods", subresource="eviction"),)),
    DisruptionKind("drain", "cordon the node of the oldest pod, evict the release's pods on "
                   "it honouring the PodDisruptionBudget, uncordon once they run elsewhere",
                   "kubectl drain NODE; kubectl uncordon NODE",
                   (Permission("get", "nodes", cluster_scoped=True),
                    Permission("list", "nodes", cluster_scoped=True),
                    Permission("patch", "nodes", cluster_scoped=True),
                    Permission("create", "pods", subresource="eviction")), nodes=2),
)
NAMES = tuple(kind.name for kind in DISRUPTIONS)
ONE_NODE = tuple(kind.name for kind in DISRUPTIONS if kind.nodes == 1)
BY_NAME = {kind.name: kind for kind in DISRUPTIONS}


def parse(text: str) -> list[str]:
    """The comma-separated disruptions of --disruptions, each named once or more."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("name at least one disruption")
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown disruption {', '.join(unknown)}; choose from "
                         f"{', '.join(NAMES)}")
    return names


def needs(names: list[str]) -> list[Permission]:
    """What the check needs to run these disruptions, each permission once, in order."""
    return list(dict.fromkeys([*WATCHING, *(p for n in names for p in BY_NAME[n].needs)]))


def role_rules() -> list[dict]:
    """The Role's rules (and the ClusterRole's, `clusterScoped`), one per resource, each
    verb with the disruptions that need it (an empty list: the check always does). The
    chart keeps the verbs the chosen disruptions need."""
    rules: dict[tuple[str, str, bool], dict] = {}

    def rule_of(permission: Permission) -> dict:
        resource = (f"{permission.resource}/{permission.subresource}"
                    if permission.subresource else permission.resource)
        return rules.setdefault((permission.group, resource, permission.named), {
            "apiGroups": [permission.group], "resources": [resource],
            "named": permission.named, "clusterScoped": permission.cluster_scoped,
            "verbs": {}})

    for permission in WATCHING:
        rule_of(permission)["verbs"][permission.verb] = []
    for kind in DISRUPTIONS:
        for permission in kind.needs:
            if permission not in WATCHING:
                rule_of(permission)["verbs"].setdefault(permission.verb, []).append(kind.name)
    return [{**rule, "verbs": [{"verb": verb, "for": users}
                               for verb, users in rule["verbs"].items()]}
            for rule in rules.values()]
