"""Current Kubernetes lifecycle features, each shown working on the cluster: native sidecar,
in-place resize, restart rules by exit code, per-probe grace period, CrashLoopBackOff."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import time
from datetime import datetime

import pytest
from support.cluster import (
    OFFLINE_CLUSTER,
    Release,
    disruption_rows,
    kubectl,
    needs_kubernetes,
    rollout_test_log,
    server_minor,
    wait_until,
)


def timestamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_native_sidecar_starts_first_is_answered_first_time_and_stops_after_the_server(
        install):
    needs_kubernetes(29, "a native sidecar")
    release = install("sidecar-client", "server.drainSeconds=5", "sidecar.intervalSeconds=1")
    pod = release.pod()
    name = pod["metadata"]["name"]
    client = pod["spec"]["initContainers"][0]
    assert (client["name"], client["restartPolicy"]) == ("client", "Always")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["server"]
    client_started = timestamp(pod["status"]["initContainerStatuses"][0]["state"]["running"][
        "startedAt"])
    server_started = timestamp(release.container_status(pod)["state"]["running"]["startedAt"])
    assert client_started <= server_started
    # The client waits for the server's readiness: its very first request is answered.
    first = wait_until("the client's first answer",
                       lambda: release.logs(name, container="client").splitlines(), timeout=30)[0]
    assert first.endswith(f"from {name}"), first
    # On delete, the server drains for 5 s; the native sidecar is stopped only after the
    # server has exited, so it is still answered during the drain (a regular container would
    # be stopped at once, with the server).
    follow = subprocess.Popen(["kubectl", "logs", "-f", "--timestamps", "-n", release.namespace,
                               name, "-c", "client"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    deleted = time.time()
    kubectl("delete", "pod", name, "-n", release.namespace, "--wait=false")
    try:
        lines = follow.communicate(timeout=60)[0].splitlines()
    finally:
        follow.kill()
    answered = [timestamp(line.split(" ", 1)[0]) for line in lines
                if line.endswith(f"from {name}")]
    assert answered and max(answered) >= deleted + 3.5, \
        f"last answer {max(answered) - deleted:.1f}s after the delete:\n" + "\n".join(lines[-8:])
    print(f"native sidecar: last answer {max(answered) - deleted:.1f}s after the delete")


def test_a_pod_with_a_native_sidecar_passes_helm_test_and_rolls_out_losing_nothing(install):
    needs_kubernetes(29, "a native sidecar")
    release = install("zero-downtime", "sidecar.enabled=true", "rolloutCheck.enabled=true",
                      "rolloutCheck.disruptions={rollout}", "rolloutCheck.rate=100")
    assert release.pod()["spec"]["initContainers"][0]["restartPolicy"] == "Always"
    log, passed = rollout_test_log(release)
    assert passed, log
    attempts, failures = disruption_rows(log)["rollout"]
    assert attempts > 500 and failures == 0, log


def throttled_share(release: Release, name: str, seconds: float = 6) -> float:
    """The share of CFS periods in which the container was throttled, over `seconds`, read
    inside it (cgroup v2: cpu.stat at the root; v1: in the cpu controller's folder)."""
    before = release.cpu_stat(name)
    time.sleep(seconds)
    after = release.cpu_stat(name)
    periods = after["nr_periods"] - before["nr_periods"]
    return (after["nr_throttled"] - before["nr_throttled"]) / max(periods, 1)


def resize(release: Release, name: str, limits: dict[str, str]) -> None:
    patch = {"spec": {"containers": [{"name": "server", "resources": {"limits": limits}}]}}
    kubectl("patch", "pod", name, "-n", release.namespace, "--subresource", "resize",
            "--patch", json.dumps(patch))


def test_in_place_resize_lifts_the_cpu_limit_without_a_restart_and_memory_restarts(install):
    needs_kubernetes(33, "in-place resize")
    release = install("in-place-resize")
    name = release.running_pod()["metadata"]["name"]
    wait_until("throttling at the 1-CPU limit",
               lambda: throttled_share(release, name, 2) > 0.3, timeout=60)
    before = throttled_share(release, name)
    resize(release, name, {"cpu": "2"})

    def resized():
        status = release.container_status(release.pod_named(name))
        return status.get("resources", {}).get("limits", {}).get("cpu") == "2" and status

    status = wait_until("the new CPU limit in the container status", resized, timeout=60)
    assert status["restartCount"] == 0
    after = throttled_share(release, name)
    print(f"in-place resize: throttled in {before:.0%} of periods at 1 CPU, {after:.0%} at 2")
    assert after < before / 2

    resize(release, name, {"memory": "320Mi"})
    status = wait_until(
        "the memory resize to restart the container",
        lambda: (s := release.container_status(release.pod_named(name)))["restartCount"] == 1
        and s.get("resources", {}).get("limits", {}).get("memory") == "320Mi" and s,
        timeout=90)
    assert status["resources"]["limits"]["cpu"] == "2"


def test_exit_code_42_fails_the_pod_while_other_codes_restart_the_container(install):
    if not OFFLINE_CLUSTER:  # ours turns the feature gate on where 1.34 needs it
        needs_kubernetes(35, "container restart rules (without a feature gate)")
    release = install("restart-rules")
    name = release.running_pod()["metadata"]["name"]
    release.exec(name, "curl", "-sS", "-X", "POST", "http://localhost:5000/fault/exit?code=3")
    status = wait_until("a restart after exit code 3",
                        lambda: (s := release.container_status(release.pod_named(name)))
                        .get("restartCount") == 1 and "running" in s["state"] and s,
                        timeout=60)
    assert status["lastState"]["terminated"]["exitCode"] == 3
    # Until the restarted server listens, curl fails: asked again, not an error.
    wait_until("the server to answer again", lambda: kubectl(
        "exec", "-n", release.namespace, name, "-c", "server", "--", "curl", "-s",
        "http://localhost:5000/livez", check=False).startswith("alive"), timeout=30)
    release.exec(name, "curl", "-sS", "-X", "POST", "http://localhost:5000/fault/exit?code=42")
    pod = wait_until("the pod to fail", lambda: (p := release.pod_named(name))["status"][
        "phase"] == "Failed" and p, timeout=60)
    status = release.container_status(pod)
    assert status["state"]["terminated"]["exitCode"] == 42
    time.sleep(15)  # longer than the first back-off: still not restarted
    status = release.container_status(release.pod_named(name))
    assert status["restartCount"] == 1 and "terminated" in status["state"]


def test_a_failed_liveness_probe_kills_after_its_own_grace_a_delete_waits_for_the_drain(
        install):
    needs_kubernetes(28, "a per-probe grace period")
    release = install("liveness-grace")
    name = release.running_pod()["metadata"]["name"]
    release.exec(name, "curl", "-sS", "-X", "POST", "http://localhost:8080/start-failing")
    status = wait_until("the liveness restart",
                        lambda: (s := release.container_status(release.pod_named(name)))
                        .get("restartCount") == 1 and s, timeout=60)
    terminated = status["lastState"]["terminated"]
    # SIGKILL after the probe's 3 s, in the middle of the server's 20 s drain.
    assert terminated["exitCode"] == 137, terminated
    events = json.loads(kubectl("get", "events", "-n", release.namespace, "-o", "json"))
    assert any(e["reason"] == "Killing" and "failed liveness probe" in e["message"]
               for e in events["items"]), events
    # From the SIGTERM, as the server logged it (milliseconds), to the kill: the event's own
    # time is when the kubelet recorded it, which under load can come after the kill.
    previous = release.logs(name, previous=True)
    drain = next(json.loads(line) for line in previous.splitlines()
                 if '"field": "draining", "value": true' in line)
    killed_after = timestamp(terminated["finishedAt"]) - timestamp(drain["time"])
    print(f"liveness grace: killed {killed_after:.1f}s after the server got SIGTERM")
    assert 1 <= killed_after <= 6, (terminated, drain)
    assert '"event": "stopped"' not in previous  # killed mid-drain, not stopped

    wait_until("the restarted server to be ready",
               lambda: release.container_status(release.pod_named(name)).get("ready"),
               timeout=60)
    began = time.monotonic()
    kubectl("delete", "pod", name, "-n", release.namespace, "--wait=true", "--timeout=90s")
    took = time.monotonic() - began
    print(f"liveness grace: a delete took {took:.0f}s (20 s drain, 60 s grace)")
    assert took >= 19


def test_crash_loop_back_off_grows_between_restarts(install):
    # Our cluster's kubelets cap the back-off at 20 s where they may (1.35+, the kubelet's
    # crashLoopBackOff.maxContainerRestartPeriod; cluster/lib.sh): one start more shows it.
    capped = OFFLINE_CLUSTER and server_minor() >= (1, 35)
    wanted = 5 if capped else 4
    release = install("crashloop", wait=False)
    name = wait_until("the pod", release.pods, timeout=60)[0]["metadata"]["name"]
    starts: list[float] = []
    waiting: set[str] = set()
    deadline = time.monotonic() + 180
    while len(starts) < wanted and time.monotonic() < deadline:
        status = release.container_status(release.pod_named(name))
        state = status.get("state", {})
        if "running" in state:
            started = timestamp(state["running"]["startedAt"])
            if not starts or started > starts[-1]:
                starts.append(started)
        waiting.add(state.get("waiting", {}).get("reason", ""))
        time.sleep(0.5)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    print(f"crash loop: {len(starts)} starts, {', '.join(f'{g:.0f}s' for g in gaps)} apart")
    assert len(starts) == wanted, starts
    assert "CrashLoopBackOff" in waiting
    # Each start comes 2 s (the crash) plus the kubelet's back-off after the last: none for
    # the first restart, then 10 s, 20 s, 40 s, ... (and the kubelet's next look at the pod).
    assert gaps[0] < gaps[1] < gaps[2] and gaps[2] > 1.5 * gaps[0], gaps
    if capped:
        # Capped at 20 s: the fourth wait is no longer than the third, where it would
        # otherwise be 40 s.
        assert gaps[3] < 20 + 2 + 14, gaps
    assert "Back-off restarting failed container server" in kubectl(
        "get", "events", "-n", release.namespace, "-o", "jsonpath={.items[*].message}")


def server_port(pod: dict) -> int:
    ports = pod["spec"]["containers"][0]["ports"]
    return next(port["containerPort"] for port in ports if port["name"] == "http")


def ui_live(release: Release, name: str, port: int) -> dict:
    """What /ui shows, read inside the pod."""
    return json.loads(release.exec(name, "curl", "-sS", f"http://localhost:{port}/ui/live"))


def test_the_kubelet_probes_the_http2_only_grpc_port_over_h2c(install):
    needs_kubernetes(37, "an HTTP/2 (h2c) probe, httpGet protocol HTTP2,")
    release = install("h2c-probes", "faults.enabled=true")
    pod = release.pod()
    name, port = pod["metadata"]["name"], server_port(pod)
    container = pod["spec"]["containers"][0]
    # The API server kept the field: the H2CContainerProbe gate is on.
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": container[probe]["httpGet"]["path"],
                                               "port": "grpc", "scheme": "HTTP",
                                               "protocol": "HTTP2"}
    # The pod turned ready, so its readiness probes were answered on a port that speaks
    # HTTP/2 only; /ui's probe history says each of the kubelet's hits came over h2c.
    hits = [hit for hit in ui_live(release, name, port)["probes"]["recent"] if hit["kubelet"]]
    assert hits and {hit["protocol"] for hit in hits} == {"h2c"}, hits
    assert {hit["path"] for hit in hits} <= {"/livez", "/readyz"}
    assert {hit["user_agent"] for hit in hits} == {"kube-probe/{}.{}".format(*server_minor())}
    # The kubelet reads the answer too: readiness switched off turns the pod unready.
    release.exec(name, "curl", "-sS", "-X", "POST",
                 f"http://localhost:{port}/fault/readiness?ready=false")
    wait_until("the pod to turn unready over h2c",
               lambda: release.container_status().get("ready") is False, timeout=30)
    failed = [hit for hit in ui_live(release, name, port)["probes"]["recent"]
              if hit["kubelet"] and hit["path"] == "/readyz" and hit["status"] == 500]
    assert failed and failed[0]["protocol"] == "h2c"


def test_the_pods_memory_budget_not_a_container_limit_oom_kills_the_server(install):
    needs_kubernetes(34, "pod-level resources")
    release = install("pod-budget")
    pod = release.pod()
    name, port = pod["metadata"]["name"], server_port(pod)
    assert pod["spec"]["resources"]["limits"] == {"memory": "160Mi"}
    assert "limits" not in pod["spec"]["containers"][0]["resources"]
    # The kubelet gives a container without a limit of its own the pod's: /ui reads 160Mi.
    memory = ui_live(release, name, port)["cgroup"]["memory"]
    assert memory["limit_bytes"] == 160 * 2**20, memory
    # The server may be killed before it answers, and the exec with it.
    kubectl("exec", "-n", release.namespace, name, "-c", "server", "--", "curl", "-sS", "-X",
            "POST", f"http://localhost:{port}/fault/memory?size=200Mi", check=False)

    def server_killed():
        status = release.container_status(release.pod_named(name))
        return status.get("lastState", {}).get("terminated")

    killed = wait_until("the server to be OOM-killed", server_killed, timeout=90)
    assert killed["exitCode"] == 137, killed
    print(f"server container: {killed}")
    # Only the server, the process over its share, was killed: the sidecar runs on.
    after = release.pod_named(name)
    client = next(s for s in after["status"]["initContainerStatuses"] if s["name"] == "client")
    assert client["restartCount"] == 0 and "running" in client["state"], client
    assert release.container_status(after)["restartCount"] >= 1
    if OFFLINE_CLUSTER:
        # The kernel says which budget ran out: the pod's cgroup (oom_memcg), whose biggest
        # process, in the server's cgroup (task_memcg), it killed.
        uid = pod["metadata"]["uid"]
        container = killed["containerID"].removeprefix("containerd://")
        kernel = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
        line = next((line for line in kernel.splitlines()
                     if "task_memcg=" in line and container in line), "")
        assert re.search(rf"oom_memcg=[^,]*/pod{uid},task_memcg=[^,]*/pod{uid}/{container},",
                         line), line or "no OOM line for the server in dmesg"


def test_a_pod_stopped_with_its_stop_signal_drains_exactly_as_with_sigterm(install):
    needs_kubernetes(33, "a container stop signal (lifecycle.stopSignal)")
    node = json.loads(kubectl("get", "nodes", "-o", "json"))["items"][0]
    runtime = node["status"]["nodeInfo"]["containerRuntimeVersion"]
    honours = runtime.startswith("containerd://") and tuple(
        int(part) for part in runtime.removeprefix("containerd://").split("~")[0]
        .split("-")[0].split(".")[:2]) >= (2, 3)
    if not honours:
        pytest.skip(f"lifecycle.stopSignal needs a container runtime that honours it "
                    f"(containerd 2.3+); this cluster's is {runtime}")
    release = install("stop-signal")
    pod = release.pod()
    name = pod["metadata"]["name"]
    assert pod["spec"]["containers"][0]["lifecycle"]["stopSignal"] == "SIGQUIT"
    follow = subprocess.Popen(["kubectl", "logs", "-f", "-n", release.namespace, name,
                               "-c", "server"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    kubectl("delete", "pod", name, "-n", release.namespace, "--wait=false")
    try:
        lines = follow.communicate(timeout=90)[0].splitlines()
    finally:
        follow.kill()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    drain = next(e for e in entries if e.get("field") == "draining")
    assert drain["signal"] == "SIGQUIT", drain
    stopped = next(e for e in entries if e["event"] == "stopped")
    assert stopped.get("connections_cut_off") == 0, stopped
