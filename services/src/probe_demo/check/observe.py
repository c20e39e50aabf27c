"""What happened to each pod while the load ran: its lifecycle, its endpoint's conditions and
the server's own log events, each with a wall-clock time.

Three kinds of watcher run in threads: one on the Deployment's pods, one on the Service's
EndpointSlices, and one log follower per pod; and the Deployment itself is read twice a
second (the check may get it, not watch it) for its status.terminatingReplicas. Times are
when the watch saw a change (the API's own timestamps have whole seconds only), except the
server's events, which carry their own millisecond times.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from probe_demo.check.cluster import Cluster
from probe_demo.check.events import EndpointConditions, Event, EventKind, server_event

SERVER_CONTAINER = "server"
WATCH_SECONDS = 5  # a watch ends this often so that stop() is seen
FRONT_DOOR_POLL_SECONDS = 0.25
DEPLOYMENT_POLL_SECONDS = 0.5
MAX_FRONT_DOOR_ANSWER = 16 << 20  # bytes of the front door's API answer read at most


def is_test_pod(pod: Any) -> bool:
    """The chart's `helm test` pods carry the release's labels too; they are not its pods."""
    return (pod.metadata.labels or {}).get("app.kubernetes.io/component") == "test"


def _condition(pod: Any, kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in (pod.status.conditions or []))


def _pod_state(pod: Any) -> dict[str, Any]:
    ready = _condition(pod, "Ready")
    exited = None
    for status in pod.status.container_statuses or []:
        if status.name == SERVER_CONTAINER and status.state and status.state.terminated:
            done = status.state.terminated
            exited = f"exit {done.exit_code} {done.reason or ''}".strip()
    return {"sandbox_ready": _condition(pod, "PodReadyToStartContainers"), "ready": ready,
            "terminating": pod.metadata.deletion_timestamp is not None, "exited": exited}


class _Listed:
    """A plain-JSON list answer, shaped like the client's models where _watch reads it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.items = data.get("items") or []
        self.metadata = SimpleNamespace(
            resource_version=(data.get("metadata") or {}).get("resourceVersion"))


def _resource_version(item: Any) -> str:
    if isinstance(item, dict):
        return item["metadata"]["resourceVersion"]
    return item.metadata.resource_version


def _log_time(text: str) -> float | None:
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except (AttributeError, ValueError):
        return None


class Observer:
    def __init__(self, cluster: Cluster, selector: str, service: str,
                 follow_logs: bool = True, front_door_api: str | None = None,
                 deployment: str | None = None) -> None:
        self.cluster = cluster
        self.deployment = deployment
        self.selector = selector
        self.service = service
        self.follow_logs = follow_logs
        self.events: list[Event] = []
        self.template_of: dict[str, str] = {}  # pod -> pod-template-hash
        self._pods: dict[str, dict[str, Any]] = {}
        self._endpoints: dict[str, EndpointConditions] = {}
        self._slice_of: dict[str, str] = {}  # pod -> the EndpointSlice that lists it
        self._followed: set[str] = set()
        self.front_door_api = front_door_api
        self._ip_of: dict[str, str] = {}  # pod -> its IP
        self.node_of: dict[str, str] = {}  # pod -> the node it was scheduled to
        self._routed: set[str] = set()  # pods the front door routes to
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def add(self, pod: str, kind: EventKind, detail: str = "") -> None:
        with self._lock:
            self.events.append(Event(time.time(), pod, kind, detail))

    def start(self) -> None:
        self._spawn(self._watch, "pods", self.cluster.core.list_namespaced_pod,
                    self.selector, self._on_pod)
        self._spawn(self._watch, "endpointslices", self._list_slices,
                    f"kubernetes.io/service-name={self.service}", self._on_slice)
        if self.front_door_api:
            self._spawn(self._poll_front_door)
        if self.deployment:
            self._spawn(self._poll_deployment)

    def _list_slices(self, namespace: str, **options: Any) -> Any:
        # EndpointSlices are read as plain JSON, not as the client's models: the model
        # refuses a slice with no endpoints (every pod gone), which the API does send.
        # Having no docstring, this function makes the watch hand over plain dicts too.
        options.setdefault("_preload_content", False)
        response = self.cluster.discovery.list_namespaced_endpoint_slice(namespace, **options)
        if options.get("watch"):
            return response
        return _Listed(json.loads(response.data))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=WATCH_SECONDS + 2)

    def sorted_events(self) -> list[Event]:
        with self._lock:
            return sorted(self.events, key=lambda event: event.at)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _watch(self, what: str, list_call: Callable[..., Any], selector: str,
               handle: Callable[[str, Any], None]) -> None:
        version = None
        while not self._stop.is_set():
            try:
                if version is None:
                    listed = list_call(self.cluster.namespace, label_selector=selector)
                    for item in listed.items:
                        handle("ADDED", item)
                    if what == "endpointslices":  # slices gone while no watch was open
                        self._forget_slices_except(
                            {item["metadata"]["name"] for item in listed.items})
                    version = listed.metadata.resource_version
                for change in watch.Watch().stream(
                        list_call, self.cluster.namespace, label_selector=selector,
                        resource_version=version, timeout_seconds=WATCH_SECONDS):
                    if change["type"] in ("ERROR", "BOOKMARK"):
                        continue
                    handle(change["type"], change["object"])
                    version = _resource_version(change["object"])
                    if self._stop.is_set():
                        return
            except ApiException as err:
                if err.status == 410:  # the version is too old: list again
                    version = None
                    continue
                self.errors.append(f"watch {what}: HTTP {err.status} {err.reason}")
                return
            except Exception as err:
                self.errors.append(f"watch {what}: {err}")
                time.sleep(1)

    def _on_pod(self, change: str, pod: Any) -> None:
        name = pod.metadata.name
        if is_test_pod(pod):
            return
        now = time.time()
        with self._lock:
            before = self._pods.get(name)
            if before is None:
                self.template_of[name] = (pod.metadata.labels or {}).get("pod-template-hash", "")
                # creationTimestamp has whole seconds only: for a pod created just now, the
                # moment the watch saw it is closer to the truth.
                created = pod.metadata.creation_timestamp.timestamp()
                if now - created < 2:
                    created = now
                self.events.append(Event(created, name, EventKind.CREATED))
                before = {"sandbox_ready": False, "ready": False, "terminating": False,
                          "exited": None}
            state = _pod_state(pod)
            if change == "DELETED":
                self.events.append(Event(now, name, EventKind.DELETED))
            if state["sandbox_ready"] and not before["sandbox_ready"]:
                self.events.append(Event(now, name, EventKind.SANDBOX_READY))
            if state["ready"] != before["ready"]:
                self.events.append(Event(now, name, EventKind.READY if state["ready"]
                                         else EventKind.UNREADY))
            if state["terminating"] and not before["terminating"]:
                self.events.append(Event(now, name, EventKind.TERMINATING))
            if state["exited"] and not before["exited"]:
                self.events.append(Event(now, name, EventKind.EXITED, state["exited"]))
            self._pods[name] = state
            if pod.status.pod_ip:
                self._ip_of[name] = pod.status.pod_ip
            if pod.spec.node_name:
                self.node_of[name] = pod.spec.node_name
            start_logs = self.follow_logs and name not in self._followed and pod.spec.node_name
            if start_logs:
                self._followed.add(name)
        if start_logs:
            self._spawn(self._follow, name)

    def _on_slice(self, change: str, endpoint_slice: dict[str, Any]) -> None:
        now = time.time()
        seen: dict[str, EndpointConditions] = {}
        if change != "DELETED":
            for endpoint in endpoint_slice.get("endpoints") or []:
                ref = endpoint.get("targetRef") or {}
                if ref.get("kind") == "Pod":
                    seen[ref["name"]] = EndpointConditions.of(endpoint.get("conditions") or {})
        owner = endpoint_slice["metadata"]["name"]
        with self._lock:
            for pod, state in seen.items():
                if self._endpoints.get(pod) != state:
                    self.events.append(Event(now, pod, EventKind.ENDPOINT, endpoint=state))
                    self._endpoints[pod] = state
            for key in [p for p in self._endpoints if p not in seen]:
                # Only this slice's endpoints can have left it (a Service may have several).
                if self._slice_of.get(key) == owner:
                    self.events.append(Event(now, key, EventKind.ENDPOINT))
                    del self._endpoints[key]
            for pod in seen:
                self._slice_of[pod] = owner

    def _poll_deployment(self) -> None:
        """status.terminatingReplicas as it changes; nothing where the cluster has no such
        field (before 1.33, or with DeploymentReplicaSetTerminatingReplicas off)."""
        seen: int | None = None
        failed = False
        while not self._stop.wait(DEPLOYMENT_POLL_SECONDS):
            try:
                response = self.cluster.apps.read_namespaced_deployment(
                    self.deployment, self.cluster.namespace, _preload_content=False,
                    _request_timeout=DEPLOYMENT_POLL_SECONDS * 4)
                status = json.loads(response.data).get("status") or {}
            except Exception as err:  # the next read may succeed; the pods tell the rest
                if not failed:
                    failed = True
                    self.errors.append(f"read deployments/{self.deployment}: "
                                       f"{str(err).splitlines()[0][:200]}")
                continue
            count = status.get("terminatingReplicas")
            if isinstance(count, int) and count != seen:
                seen = count
                with self._lock:
                    self.events.append(Event(time.time(), "", EventKind.TERMINATING_REPLICAS,
                                             count=count))

    def _poll_front_door(self) -> None:
        """Which pods the front door routes to, from its own API (Traefik's lists each
        service's servers), every FRONT_DOOR_POLL_SECONDS: it watches the EndpointSlices
        itself and applies changes on its own schedule."""
        url = self.front_door_api.rstrip("/") + "/api/http/services"
        failed_before = False  # an API that cannot be read is said once
        while not self._stop.wait(FRONT_DOOR_POLL_SECONDS):
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    services = json.loads(answer.read(MAX_FRONT_DOOR_ANSWER))
            except (OSError, ValueError) as err:
                if not failed_before:
                    self.errors.append(f"front door API {url}: {err}")
                    failed_before = True
                continue
            addresses = {urllib.parse.urlsplit(server.get("url", "")).hostname
                         for service in services if isinstance(service, dict)
                         for server in (service.get("loadBalancer") or {}).get("servers") or []
                         if isinstance(server, dict)}
            now = time.time()
            with self._lock:
                routed = {pod for pod, ip in self._ip_of.items() if ip in addresses}
                for pod in sorted(routed ^ self._routed):
                    self.events.append(Event(now, pod, EventKind.FRONT_DOOR,
                                             routed=pod in routed))
                self._routed = routed

    def _forget_slices_except(self, names: set[str]) -> None:
        now = time.time()
        with self._lock:
            for pod in [p for p, owner in self._slice_of.items() if owner not in names]:
                if pod in self._endpoints:
                    self.events.append(Event(now, pod, EventKind.ENDPOINT))
                    del self._endpoints[pod]
                del self._slice_of[pod]

    def _follow(self, pod: str) -> None:
        """The server's own events (draining, stopped listening...) from the pod's log."""
        for _attempt in range(30):
            try:
                stream = self.cluster.core.read_namespaced_pod_log(
                    pod, self.cluster.namespace, container=SERVER_CONTAINER, follow=True,
                    _preload_content=False)
                break
            except ApiException as err:
                if err.status in (401, 403):
                    self.errors.append(f"no permission to get pods/log in namespace "
                                       f"{self.cluster.namespace}: the server's events are "
                                       "missing from the timeline")
                    return
                if self._stop.wait(1):  # 400: the container is not running yet
                    return
        else:
            return
        try:
            for raw in stream:
                if self._stop.is_set():
                    break
                self._server_event(pod, raw)
        except Exception:
            pass
        finally:
            stream.release_conn()

    def _server_event(self, pod: str, raw: bytes) -> None:
        try:
            entry = json.loads(raw)
        except ValueError:
            return
        if not isinstance(entry, dict) or (seen := server_event(entry)) is None:
            return
        at = _log_time(entry.get("time"))
        if at is not None:
            with self._lock:
                self.events.append(Event(at, pod, EventKind.SERVER, server=seen[0],
                                         count=seen[1]))
