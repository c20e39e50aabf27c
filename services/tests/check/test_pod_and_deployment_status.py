"""What the check reads from newer Kubernetes: the pod condition PodReadyToStartContainers
(GA in 1.37) and the Deployment's status.terminatingReplicas (beta in 1.35), each where the
cluster has it and nothing where it does not."""

import datetime
import json
import time
from types import SimpleNamespace

from test_check_report import NEW, OLD, T0, naive_result, ok

from probe_demo.check import observe, report
from probe_demo.check.events import Event, EventKind
from probe_demo.timeline import LaneState


def pod(name: str, *conditions: str):
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, labels={"pod-template-hash": "bbbbb"},
                                 deletion_timestamp=None,
                                 creation_timestamp=datetime.datetime.now(datetime.UTC)),
        status=SimpleNamespace(conditions=[SimpleNamespace(type=c, status="True")
                                           for c in conditions],
                               container_statuses=[], pod_ip=None),
        spec=SimpleNamespace(node_name=None))


def observer(cluster=None, deployment=None):
    watcher = observe.Observer(cluster or SimpleNamespace(namespace="ns"), "app=x", "svc",
                               follow_logs=False, deployment=deployment)
    return watcher


def test_the_sandbox_ready_condition_is_one_event_before_ready():
    watcher = observer()
    watcher._on_pod("ADDED", pod(NEW, "PodScheduled"))
    watcher._on_pod("MODIFIED", pod(NEW, "PodScheduled", "PodReadyToStartContainers"))
    watcher._on_pod("MODIFIED", pod(NEW, "PodReadyToStartContainers", "Initialized"))
    watcher._on_pod("MODIFIED", pod(NEW, "PodReadyToStartContainers", "Ready"))
    kinds = [event.kind for event in watcher.sorted_events()]
    assert kinds == [EventKind.CREATED, EventKind.SANDBOX_READY, EventKind.READY]


def test_a_cluster_without_the_condition_gives_no_sandbox_event():
    watcher = observer()
    watcher._on_pod("ADDED", pod(NEW, "PodScheduled"))
    watcher._on_pod("MODIFIED", pod(NEW, "PodScheduled", "Ready"))
    assert EventKind.SANDBOX_READY not in [event.kind for event in watcher.sorted_events()]


def test_the_pods_lane_shows_its_sandbox_ready_before_its_containers_are():
    result = naive_result([ok(1, 0.5)], [Event(T0 + 3.8, NEW, EventKind.SANDBOX_READY)])
    lane = {lane.label: lane for lane in report.lanes(result)}["bbbbb-22222"]
    pod_row = [(round(start, 1), round(end, 1), state) for start, end, state in lane.segments
               if state.row == "pod"]
    assert pod_row == [(3.2, 3.8, LaneState.STARTING), (3.8, 4.5, LaneState.SANDBOX_READY),
                       (4.5, 10.0, LaneState.READY)]
    assert "sandbox and network ready" in report.svg(result, "t")


def test_a_sandbox_ready_seen_after_ready_takes_the_lane_back_nowhere():
    result = naive_result([ok(1, 0.5)], [Event(T0 + 5.5, NEW, EventKind.SANDBOX_READY)])
    lane = {lane.label: lane for lane in report.lanes(result)}["bbbbb-22222"]
    assert LaneState.SANDBOX_READY not in [state for _, _, state in lane.segments]


class Deployments:
    """read_namespaced_deployment answering the next status each time (the last stays)."""

    def __init__(self, *statuses):
        self.statuses = list(statuses)

    def read_namespaced_deployment(self, name, namespace, _preload_content=True,
                                   _request_timeout=None):
        assert (name, namespace, _preload_content) == ("demo", "ns", False)
        assert _request_timeout  # a hung read must not hold the poll, nor the check's stop
        status = self.statuses[0] if len(self.statuses) == 1 else self.statuses.pop(0)
        if isinstance(status, Exception):
            raise status
        return SimpleNamespace(data=json.dumps({"status": status}).encode())


def run_poll(monkeypatch, *statuses, errors=None):
    monkeypatch.setattr(observe, "DEPLOYMENT_POLL_SECONDS", 0.02)
    watcher = observer(SimpleNamespace(namespace="ns", apps=Deployments(*statuses)), "demo")
    watcher._spawn(watcher._poll_deployment)
    time.sleep(0.4)
    watcher.stop()
    if errors is not None:
        errors.extend(watcher.errors)
    return [event for event in watcher.sorted_events()
            if event.kind is EventKind.TERMINATING_REPLICAS]


def test_a_failed_read_is_one_error_and_the_poll_goes_on(monkeypatch):
    """Any error (urllib3's are not OSError): the thread lives, says so once, reads on."""
    errors = []
    seen = run_poll(monkeypatch, RuntimeError("Max retries exceeded\nwith url"),
                    RuntimeError("again"), {"terminatingReplicas": 2}, errors=errors)
    assert [event.count for event in seen] == [2]
    assert errors == ["read deployments/demo: Max retries exceeded"]


def test_terminating_replicas_are_an_event_each_time_they_change(monkeypatch):
    seen = run_poll(monkeypatch, {"terminatingReplicas": 0}, {"terminatingReplicas": 0},
                    {"terminatingReplicas": 1}, {"terminatingReplicas": 1},
                    {"terminatingReplicas": 0})
    assert [event.count for event in seen] == [0, 1, 0]


def test_a_cluster_without_terminating_replicas_gives_no_event(monkeypatch):
    assert run_poll(monkeypatch, {"replicas": 2, "readyReplicas": 2}) == []


def test_terminating_replicas_are_told_in_the_per_second_text_and_the_json():
    result = naive_result([ok(1, 0.5), ok(2, 5.5)],
                          [Event(T0 + 4.9, "", EventKind.TERMINATING_REPLICAS, count=1)])
    assert "deployment terminatingReplicas=1" in report.text_timeline(result)[4]
    listed = [e for e in report.as_json(result)["events"] if e["kind"] == "terminating replicas"]
    assert listed == [{"t": 4.9, "pod": "", "kind": "terminating replicas", "detail": "1"}]
    # The lanes are the pods': the Deployment's count draws none.
    assert sorted(lane.label for lane in report.lanes(result)) == [
        report.short(OLD), report.short(NEW)]
