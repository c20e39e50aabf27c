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


def evict(target: DisruptedDeployment, disruption: Disruption) -> None:
    """Evict each pod present at the start in turn. A refusal is retried while the
    Deployment is still replacing pods; once it has settled a refusal can never turn into
    a yes (nothing will change), so the eviction is reported as blocked, not waited on."""
    for pod in target.live_pods():
        name = pod.metadata.name
        refused_before = False
        while (why := target.cluster.evict(name)) is not None:
            if not refused_before:
                target.note(disruption, f"eviction of {name} refused: {why}")
                refused_before = True
            if target.unsettled() is None:
                disruption.blocked = (f"eviction of {name} can never be allowed while the "
                                      f"Deployment stays as it is: {why}")
                target.note(disruption, "blocked: " + disruption.blocked)
                target.settle(disruption)
                return
            time.sleep(EVICT_RETRY_SECONDS)
        target.note(disruption, f"evicted {name}")
    target.settle(disruption)


_FUNCTIONS: dict[str, Callable[[DisruptedDeployment, Disruption], None]] = {
    "rollout": rollout, "delete": delete, "scale-down": scale_down, "evict": evict,
}
# One function for every disruption of the registry, and none besides: a missing one fails
# here, at import, not on a cluster.
RUN = {name: _FUNCTIONS[name] for name in registry.NAMES}
if set(_FUNCTIONS) != set(RUN):
    raise ImportError(f"disruptions without a registry entry: {set(_FUNCTIONS) - set(RUN)}")
