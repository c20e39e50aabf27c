"""Each seed scenario, installed from its preset, does what the tutorial says it does."""

import json
import shutil
import time

import pytest
from support.cluster import (
    CHART,
    IMAGE,
    ROOT,
    Release,
    helm,
    kubectl,
    kubelet_agent,
    run,
    set_args,
    wait_until,
)


def restart_count(release: Release, pod_name: str) -> int:
    return release.container_status(release.pod_named(pod_name)).get("restartCount", 0)


def test_unhealthy_restarts_after_n_checks_and_sends_the_custom_header(install):
    release = install("unhealthy-restart", wait=False)
    pod = wait_until("the pod", lambda: release.pods(), timeout=60)[0]["metadata"]["name"]
    wait_until("a liveness restart", lambda: restart_count(release, pod) >= 1, timeout=120)
    previous = [json.loads(line) for line in release.logs(pod, previous=True).splitlines()
                if line.startswith("{")]
    checks = [e for e in previous if e.get("event") == "probe" and e["path"] == "/healthcheck"]
    assert [e["status"] for e in checks[:6]] == [200] * 5 + [503]
    assert all(e["headers"].get("Custom-Header") == "Awesome" for e in checks)
    assert all(e["user_agent"].startswith(kubelet_agent()) for e in checks)


def test_start_failing_restarts_within_period_times_threshold(install):
    release = install("start-failing")
    pod = release.pod()["metadata"]["name"]
    # start-failing preset: periodSeconds 3 x failureThreshold 2, plus one period.
    allowed = 3 * 2 + 3
    triggered = time.monotonic()
    release.exec(pod, "curl", "-sS", "http://localhost:5000/start-failing")
    wait_until("the restart", lambda: restart_count(release, pod) >= 1, timeout=60, every=0.2)
    delay = time.monotonic() - triggered
    print(f"start-failing: restarted {delay:.1f}s after /start-failing (allowed {allowed}s)")
    # The kubelet still has to stop the container and start a new one: 5 s of slack.
    assert delay <= allowed + 5
    events = kubectl("get", "events", "-n", release.namespace, "-o", "json")
    messages = [e["message"] for e in json.loads(events)["items"]]
    assert any("Liveness probe failed: HTTP probe failed with statuscode: 500" in m
               for m in messages)


def test_exec_liveness_restarts_once_the_health_file_is_gone(install):
    release = install("exec-liveness", "healthFile.ttlSeconds=8")
    pod = release.pod()["metadata"]["name"]
    release.exec(pod, "cat", "/tmp/healthy")
    wait_until("the exec-probe restart", lambda: restart_count(release, pod) >= 1, timeout=90)
    events = json.loads(kubectl("get", "events", "-n", release.namespace, "-o", "json"))
    assert any("cat: /tmp/healthy: No such file or directory" in e["message"]
               for e in events["items"])


def _endpoint_ready(release: Release, pod_name: str) -> bool | None:
    slices = json.loads(kubectl("get", "endpointslices", "-n", release.namespace, "-l",
                                f"kubernetes.io/service-name={release.service}", "-o", "json"))
    for endpoint_slice in slices["items"]:
        for endpoint in endpoint_slice.get("endpoints") or []:
            if endpoint.get("targetRef", {}).get("name") == pod_name:
                return endpoint["conditions"].get("ready")
    return None


def test_readiness_takes_a_pod_out_of_the_endpoints_and_back(install):
    release = install("readiness")
    pod = release.pods()[0]["metadata"]["name"]
    assert _endpoint_ready(release, pod) is True
    release.exec(pod, "curl", "-sS", "-X", "POST",
                 "http://localhost:8080/fault/readiness?ready=false")
    wait_until("the endpoint to turn not ready",
               lambda: _endpoint_ready(release, pod) is False, timeout=30)
    release.exec(pod, "curl", "-sS", "-X", "POST",
                 "http://localhost:8080/fault/readiness?ready=true")
    wait_until("the endpoint to be ready again",
               lambda: _endpoint_ready(release, pod) is True, timeout=30)
    assert restart_count(release, pod) == 0


def test_tcp_readiness_and_grpc_liveness_work(install):
    release = install("probe-types", "faults.enabled=true")
    pod = release.pod()
    container = pod["spec"]["containers"][0]
    assert "tcpSocket" in container["readinessProbe"]
    assert container["livenessProbe"]["grpc"] == {"port": 9090, "service": "liveness"}
    name = pod["metadata"]["name"]
    assert release.container_status(pod)["ready"] is True
    release.exec(name, "curl", "-sS", "http://localhost:8080/start-failing")
    wait_until("the gRPC liveness restart", lambda: restart_count(release, name) >= 1,
               timeout=90)
    events = json.loads(kubectl("get", "events", "-n", release.namespace, "-o", "json"))
    assert any("Liveness probe failed" in e["message"] and "NOT_SERVING" in e["message"]
               for e in events["items"])


def test_oomkill_ends_in_oomkilled_exit_137(install):
    release = install("oomkill", wait=False)

    def terminated():
        pods = release.pods()
        status = release.container_status(pods[0]) if pods else {}
        return (status.get("lastState", {}).get("terminated")
                or status.get("state", {}).get("terminated"))

    last = wait_until("an OOM kill", terminated, timeout=120)
    assert last["reason"] == "OOMKilled"
    assert last["exitCode"] == 137


def test_memory_request_too_big_stays_pending_as_unschedulable(install):
    release = install("memory-request-too-big", wait=False)

    def unschedulable():
        pods = release.pods()
        conditions = pods[0].get("status", {}).get("conditions", []) if pods else []
        return next((c for c in conditions if c["type"] == "PodScheduled"
                     and c["status"] == "False" and c.get("reason") == "Unschedulable"), None)

    condition = wait_until("the scheduler to give up on the pod", unschedulable, timeout=60)
    assert "Insufficient memory" in condition["message"]
    pod = release.pod()
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")
    events = json.loads(kubectl("get", "events", "-n", release.namespace, "-o", "json"))
    assert any(e["reason"] == "FailedScheduling" and "Insufficient memory" in e["message"]
               for e in events["items"])


@pytest.mark.metrics
def test_cpu_throttle_is_visible_in_cgroup_and_top(install):
    release = install("cpu-throttle")
    pod_name = release.pod()["metadata"]["name"]

    def throttled():
        stats = release.cpu_stat(pod_name)
        return stats["nr_throttled"] > 0 and stats

    stats = wait_until("throttled periods in cpu.stat", throttled, timeout=60)
    print(f"cpu-throttle: cpu.stat {stats}")

    def top_cpu_millicores():
        line = kubectl("top", "pod", "-n", release.namespace, "--no-headers", check=False)
        return int(line.split()[1].rstrip("m")) if line.strip() else 0

    cpu = wait_until("kubectl top near the 1 CPU limit", lambda: top_cpu_millicores() >= 800,
                     timeout=150, every=5)
    assert cpu
    assert top_cpu_millicores() <= 1100


def test_sidecar_client_gets_dates_over_localhost(install):
    release = install("sidecar-client")
    pod = release.pod()
    # A native sidecar (an init container that keeps running) where the cluster has them.
    assert [c["name"] for c in pod["spec"]["containers"]] == ["server"]
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["client"]
    hostname = pod["metadata"]["name"]
    # The client may start before the server listens; its later lines carry the answers.
    wait_until("the server's answers in the client's log",
               lambda: f"from {hostname}" in release.logs(hostname, container="client"),
               timeout=30)


@pytest.mark.metrics
def test_hpa_scales_up_under_load_and_back_down(install):
    release = install("hpa")
    url = f"http://{release.service}/work?ms=100"
    load = kubectl("run", "load", "-n", release.namespace, "--restart=Never",
                   f"--image={IMAGE}", "--", "client", url, "--rate", "5",
                   "--duration", "240", "--output", "quiet")
    assert "created" in load

    def replicas():
        hpa = json.loads(kubectl("get", "hpa", release.service, "-n", release.namespace,
                                 "-o", "json"))
        return hpa["status"].get("desiredReplicas", 0)

    wait_until("the HPA to want 2+ pods", lambda: replicas() >= 2, timeout=180, every=5)
    kubectl("delete", "pod", "load", "-n", release.namespace, "--wait=false")
    wait_until("the HPA to scale back to 1", lambda: replicas() == 1, timeout=240, every=5)


@pytest.mark.metrics
def test_the_hpa_still_reads_cpu_after_helm_test(install):
    """helm test's pods stay Completed until the next run: they must not be pods the HPA
    reads CPU from (the selector), or the HPA goes blind (<unknown>)."""
    release = install("hpa")
    assert "Phase:          Succeeded" in release.helm_test()

    def hpa_status() -> dict:
        return json.loads(kubectl("get", "hpa", release.service, "-n", release.namespace,
                                  "-o", "json"))["status"]

    def cpu_figure() -> bool:
        status = hpa_status()
        active = [c for c in status.get("conditions", []) if c["type"] == "ScalingActive"]
        return bool(active) and active[0]["status"] == "True" and any(
            m.get("resource", {}).get("current", {}).get("averageUtilization") is not None
            for m in status.get("currentMetrics") or [])

    wait_until("the HPA to report a CPU figure", cpu_figure, timeout=180, every=5)
    time.sleep(35)  # two more HPA syncs with the finished test pods in the namespace
    assert cpu_figure(), hpa_status()
    test_pods = kubectl("get", "pods", "-n", release.namespace, "-l",
                        "app.kubernetes.io/component=test", "-o", "name")
    assert test_pods.strip(), "the finished test pods are still there, as helm leaves them"


def test_restricted_pod_security_namespace_accepts_the_chart(install):
    release = install("sidecar-client", ns_labels={
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    })
    assert release.pods()
    assert "Phase:          Succeeded" in release.helm_test()


def test_helm_test_passes_for_the_default_install(install):
    release = install(None)
    out = release.helm_test()
    assert "Phase:          Succeeded" in out
    assert "ok   /status answers OK" in out


def test_helm_test_checks_the_hello_tag(install):
    release = install("hello-green")
    out = release.helm_test()
    assert "ok   hello answers the date and tag green" in out


def test_helm4_installs_upgrades_and_tests_the_chart(namespace):
    ns = namespace()
    helm4 = shutil.which("helm4")
    assert helm4, "helm4 is not on PATH: run the e2e tests through 'make test-e2e'"
    run(helm4, "install", "demo", str(CHART), "-n", ns, *set_args([]), "--wait", "--timeout",
        "180s")
    run(helm4, "upgrade", "demo", str(CHART), "-n", ns, "--reuse-values",
        "--set", "server.statusText=OK!!", "--wait", "--timeout", "180s")
    # The old pod keeps answering `OK` while it drains; test once it is gone.
    release = Release(name="demo", namespace=ns)
    wait_until("the old pod to go", lambda: not any(
        pod["metadata"].get("deletionTimestamp") for pod in release.pods()), timeout=60)
    out = run(helm4, "test", "demo", "-n", ns, "--logs", "--timeout", "120s")
    assert "ok   /status answers OK!!" in out
    assert "Phase:          Succeeded" in out


def test_ct_install_passes_for_every_ci_values_file():
    out = run("ct", "install", "--config", str(ROOT / "ct.yaml"),
              "--helm-extra-set-args", " ".join(set_args([])), timeout=1500)
    assert "All charts installed successfully" in out
    assert helm("list", "-A", "-q").count("probe-demo") == 0
