"""What each disruption of the registry (probe_demo.check.registry) does to the
Deployment, and how the check knows it has settled. An eviction a PodDisruptionBudget
refuses is retried, as `kubectl drain` does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from probe_demo.check import registry
from probe_demo.check.cluster import Cluster
from probe_demo.check.errors import CheckError
from probe_demo.check.events import EventKind
from probe_demo.check.observe import Observer, is_test_pod

EVICT_RETRY_SECONDS = 2


@dataclass
class Disruption:
    """One disruption as it ran: when, what it did, and whether it could run at all."""

    name: str
    started: float = 0.0
    settled: float = 0.0
    notes: list[str] = field(default_factory=list)
    blocked: str | None = None


@dataclass
class DisruptedDeployment:
    cluster: Cluster
    deployment: str
    selector: str
    observer: Observer
    settle_timeout: float
    say: Callable[[str], None]

    def note(self, disruption: Disruption, text: str) -> None:
        disruption.notes.append(text)
        self.observer.add("", EventKind.NOTE, text)
        self.say(f"  {disruption.name}: {text}")

    def live_pods(self) -> list[Any]:
        """The Deployment's pods that are not terminating, oldest first."""
        pods = [pod for pod in self.target_pods() if pod.metadata.deletion_timestamp is None]
        return sorted(pods, key=lambda pod: pod.metadata.creation_timestamp)

    def target_pods(self) -> list[Any]:
        return [pod for pod in self.cluster.pods(self.selector) if not is_test_pod(pod)]

    def unsettled(self) -> str | None:
        """Why the Deployment is still moving, or None once every replica is updated,
        available, and no old pod is left terminating."""
        deployment = self.cluster.deployment(self.deployment)
        spec, status = deployment.spec.replicas, deployment.status
        if (status.observed_generation or 0) < deployment.metadata.generation:
            return "the Deployment controller has not seen the change yet"
        counts = {"updated": status.updated_replicas or 0, "ready": status.ready_replicas or 0,
                  "available": status.available_replicas or 0, "total": status.replicas or 0}
        moving = {name: count for name, count in counts.items() if count != spec}
        if moving:
            return ", ".join(f"{name} {count}/{spec}" for name, count in moving.items())
        terminating = [pod.metadata.name for pod in self.target_pods()
                       if pod.metadata.deletion_timestamp is not None]
        if terminating:
            return f"pods still terminating: {', '.join(terminating)}"
        return None

    def settle(self, disruption: Disruption) -> None:
        deadline = time.monotonic() + self.settle_timeout
        while (why := self.unsettled()) is not None:
            if time.monotonic() > deadline:
                raise CheckError(f"{disruption.name}: the Deployment {self.deployment} did not "
                                 f"settle within {self.settle_timeout:g}s ({why})")
            time.sleep(1)


def rollout(target: DisruptedDeployment, disruption: Disruption) -> None:
    target.cluster.restart(target.deployment)
    target.note(disruption, f"patched the pod template of deployments/{target.deployment}")
    target.settle(disruption)


def delete(target: DisruptedDeployment, disruption: Disruption) -> None:
    pods = target.live_pods()
    if not pods:
        raise CheckError("delete: the Deployment has no running pod to delete")
    name = pods[0].metadata.name
    target.cluster.delete_pod(name)
    target.note(disruption, f"deleted pod {name} (graceful)")
    target.settle(disruption)


def scale_down(target: DisruptedDeployment, disruption: Disruption) -> None:
    replicas = target.cluster.deployment(target.deployment).spec.replicas
    floor = target.cluster.hpa_minimum(target.deployment)
    down_to = floor or 1
    if replicas <= down_to:
        disruption.blocked = (f"nothing to scale down: {replicas} replica(s), and the floor is "
                              f"{down_to}" + (" (the HPA's minReplicas)" if floor else ""))
        target.note(disruption, disruption.blocked)
        return
    target.cluster.set_replicas(target.deployment, down_to)
    target.note(disruption, f"scaled {replicas} -> {down_to}")
    target.settle(disruption)
    target.cluster.set_replicas(target.deployment, replicas)
    target.note(disruption, f"scaled {down_to} -> {replicas}")
    target.settle(disruption)


def _evict_each(target: DisruptedDeployment, disruption: Disruption, pods: list[Any],
                deadline: float) -> bool:
    """Evict `pods` in turn, False once one is blocked. A refusal is retried while the
    Deployment is still replacing pods (until `deadline`); once it has settled a refusal
    can never turn into a yes (nothing will change), so the eviction is reported as
    blocked, not waited on."""
    for pod in pods:
        name = pod.metadata.name
        refused_before = False
        while (why := target.cluster.evict(name)) is not None:
            if not refused_before:
                target.note(disruption, f"eviction of {name} refused: {why}")
                refused_before = True
            if time.monotonic() > deadline:
                raise CheckError(f"{disruption.name}: eviction of {name} still refused after "
                                 f"{target.settle_timeout:g}s (the Deployment: "
                                 f"{target.unsettled()}): {why}")
            if target.unsettled() is None:
                disruption.blocked = (f"eviction of {name} can never be allowed while the "
                                      f"Deployment stays as it is: {why}")
                target.note(disruption, "blocked: " + disruption.blocked)
                return False
            time.sleep(EVICT_RETRY_SECONDS)
        target.note(disruption, f"evicted {name}")
    return True


def evict(target: DisruptedDeployment, disruption: Disruption) -> None:
    """Evict each pod present at the start in turn: its replacement may land anywhere,
    the same node too."""
    _evict_each(target, disruption, target.live_pods(),
                time.monotonic() + target.settle_timeout)
    target.settle(disruption)


@dataclass(frozen=True)
class Taint:
    """A taint, shaped as the API's V1Taint (for _tolerates)."""

    key: str
    effect: str
    value: str | None = None


def _tolerates(pod: Any, taint: Any) -> bool:
    """Whether one of the pod's tolerations matches the taint (the scheduler's rule)."""
    for toleration in pod.spec.tolerations or []:
        if toleration.effect and toleration.effect != taint.effect:
            continue
        if toleration.operator == "Exists":
            if not toleration.key or toleration.key == taint.key:
                return True
        elif (toleration.operator in (None, "", "Equal") and toleration.key == taint.key
              and (toleration.value or "") == (taint.value or "")):
            return True
    return False


def _why_not_for(pod: Any, node: Any) -> str | None:
    """Why the pod could not be scheduled on the node, in words, or None when it could
    (Ready, not cordoned, every hard taint tolerated, its nodeSelector matched)."""
    ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
    if not ready:
        return "not Ready"
    if node.spec.unschedulable:
        return "cordoned"
    for taint in node.spec.taints or []:
        if taint.effect in ("NoSchedule", "NoExecute") and not _tolerates(pod, taint):
            return f"taint {taint.key}:{taint.effect} not tolerated"
    labels = node.metadata.labels or {}
    for key, value in (pod.spec.node_selector or {}).items():
        if labels.get(key) != value:
            return f"nodeSelector {key}={value} not matched"
    return None


UNSCHEDULABLE = "node.kubernetes.io/unschedulable"  # the taint of a cordoned node


def drain_node(target: DisruptedDeployment) -> str:
    """The node `drain` empties: the oldest pod's. Refused, before any load, when no other
    node could take its pods (by readiness, cordon, taints and nodeSelector; the scheduler
    weighs more, and a drain that still cannot place them fails after --settle-timeout),
    or when the pods would be put back on the cordoned node."""
    pods = [pod for pod in target.live_pods() if pod.spec.node_name]
    if not pods:
        raise CheckError("drain: the Deployment has no running pod, so no node to drain")
    node = pods[0].spec.node_name
    if _tolerates(pods[0], Taint(UNSCHEDULABLE, "NoSchedule")):
        raise CheckError(f"drain: refused: the pods tolerate {UNSCHEDULABLE}, so the "
                         f"scheduler would put them back on nodes/{node} once cordoned")
    reasons: dict[str, list[str]] = {}
    for other in target.cluster.nodes():
        if other.metadata.name != node:
            why = _why_not_for(pods[0], other)
            if why is None:
                return node
            reasons.setdefault(why, []).append(other.metadata.name)
    told = "; ".join(f"{', '.join(sorted(names))}: {why}" for why, names in reasons.items())
    raise CheckError(f"drain: refused: no node other than nodes/{node} could take its pods "
                     f"({told or 'the cluster has no other node'})")


def drain(target: DisruptedDeployment, disruption: Disruption) -> None:
    """What `kubectl drain` does to the release: cordon the node, evict its pods (the
    PodDisruptionBudget decides when), and once their replacements run elsewhere,
    uncordon it. A node that was cordoned before is left cordoned; one the check cordoned
    is uncordoned however the drain ends (an error, the check's own SIGTERM)."""
    node = drain_node(target)
    cordoned_before = bool(target.cluster.node(node).spec.unschedulable)
    deadline = time.monotonic() + target.settle_timeout
    failed = True
    try:
        if cordoned_before:
            target.note(disruption, f"nodes/{node} was cordoned already (and stays so)")
        else:
            target.cluster.cordon(node)
            target.note(disruption, f"cordoned nodes/{node}")
        rounds = 0
        while on_node := [pod for pod in target.live_pods() if pod.spec.node_name == node]:
            rounds += 1
            if rounds > 1 and time.monotonic() > deadline:
                raise CheckError(f"drain: pods still on nodes/{node} after "
                                 f"{target.settle_timeout:g}s: "
                                 f"{', '.join(pod.metadata.name for pod in on_node)}")
            if not _evict_each(target, disruption, on_node, deadline):
                break
        target.settle(disruption)
        failed = False
    finally:
        if not cordoned_before:
            try:
                target.cluster.cordon(node, unschedulable=False)
                target.note(disruption, f"uncordoned nodes/{node}")
            except CheckError as err:
                if not failed:
                    raise
                # The drain's own error goes on; this one is said, not lost.
                target.say(f"  drain: could not uncordon nodes/{node} ({err}): run "
                           f"kubectl uncordon {node}")


# What a disruption needs of the cluster, asked before any load is sent.
PRECONDITIONS: dict[str, Callable[[DisruptedDeployment], Any]] = {"drain": drain_node}


_FUNCTIONS: dict[str, Callable[[DisruptedDeployment, Disruption], None]] = {
    "rollout": rollout, "delete": delete, "scale-down": scale_down, "evict": evict,
    "drain": drain,
}
# One function for every disruption of the registry, and none besides: a missing one fails
# here, at import, not on a cluster.
RUN = {name: _FUNCTIONS[name] for name in registry.NAMES}
if set(_FUNCTIONS) != set(RUN):
    raise ImportError(f"disruptions without a registry entry: {set(_FUNCTIONS) - set(RUN)}")
