"""The rollout proof: `helm test` with rolloutCheck and `probe-demo check` count every lost
request while the Deployment is disrupted, on the zero-downtime and the naive presets."""

import json
import os
import re
import shutil
import subprocess

from support.cluster import disruption_rows, kubectl, rollout_test_log, run, server_minor

from probe_demo.check.registry import ONE_NODE

# Every disruption one node can take; drain has its own tests (test_nodes.py).
ALL = ",".join(ONE_NODE)


def test_helm_test_rollout_check_passes_every_disruption_on_zero_downtime(install):
    # In a namespace that enforces Pod Security "restricted": the check pod must pass it.
    release = install("zero-downtime", "rolloutCheck.enabled=true",
                      f"rolloutCheck.disruptions={{{ALL}}}", "rolloutCheck.rate=100",
                      ns_labels={"pod-security.kubernetes.io/enforce": "restricted",
                                 "pod-security.kubernetes.io/enforce-version": "latest"})
    log, passed = rollout_test_log(release)
    assert passed, log
    rows = disruption_rows(log)
    assert set(rows) == set(ONE_NODE), log
    for name, (attempts, failures) in rows.items():
        assert attempts > 500 and failures == 0, f"{name}: {attempts} attempts, {failures} failed"
    assert re.search(r"^PASS: 0 of \d+ requests failed", log, re.M), log
    # The eviction honoured the PodDisruptionBudget (minAvailable 2 of 3): it was refused
    # at least once while a replacement pod was not ready yet, and the log says so.
    assert "eviction of demo-probe-demo-" in log and "refused: " in log, log
    # The per-second timeline is in the log: one line a second with its events.
    assert re.search(r"^\s+\d+s\s+\d+ ok .*terminating", log, re.M), log


def test_keep_alive_clients_lose_nothing_through_every_disruption_on_zero_downtime(install):
    """A pooled client's connections stay with their pod after it leaves the endpoints:
    the server's drain tells each to close, and the pool reconnects through the Service."""
    release = install("zero-downtime", "rolloutCheck.enabled=true",
                      f"rolloutCheck.disruptions={{{ALL}}}", "rolloutCheck.rate=100",
                      "rolloutCheck.connections=keep-alive", "rolloutCheck.pool=16")
    log, passed = rollout_test_log(release)
    assert passed, log
    rows = disruption_rows(log)
    assert set(rows) == set(ONE_NODE), log
    for name, (attempts, failures) in rows.items():
        assert attempts > 500 and failures == 0, f"{name}: {attempts} attempts, {failures} failed"
    # The draining servers closed the pooled connections, and said how many they told.
    closed = re.search(r"^keep-alive: (\d+) connections opened \(pool 16\), (\d+) closed by "
                       r"the server, 0 failed after reuse", log, re.M)
    assert closed and int(closed.group(2)) >= 3, log
    assert re.search(r"stopped listening \(told \d+ to close\)", log), log


def test_grpc_calls_on_one_connection_lose_nothing_through_a_rollout_and_a_delete(install):
    """A gRPC channel's one connection is told GOAWAY by the draining server and its next
    call goes, on a new connection, to a pod still listed."""
    release = install("zero-downtime", "rolloutCheck.enabled=true",
                      "rolloutCheck.disruptions={rollout,delete}", "rolloutCheck.rate=100",
                      "rolloutCheck.connections=grpc")
    log, passed = rollout_test_log(release)
    assert passed, log
    assert "gRPC health calls on one long-lived HTTP/2 connection" in log, log
    for name, (attempts, failures) in disruption_rows(log).items():
        assert attempts > 300 and failures == 0, f"{name}: {attempts} attempts, {failures} failed"
    assert re.search(r"GOAWAY to [1-9]\d* gRPC connections", log), log


def test_helm_test_rollout_check_fails_on_the_naive_preset(install):
    release = install("naive-rollout", "rolloutCheck.enabled=true", "rolloutCheck.rate=100")
    log, passed = rollout_test_log(release)
    assert not passed, log
    assert "Phase:          Failed" in log, log
    _attempts, failures = disruption_rows(log)["rollout"]
    assert failures > 0, log
    assert re.search(r"^FAIL: \d+ of \d+ requests failed", log, re.M), log
    # The explanation names the endpoint still listed after its server stopped listening.
    assert "why requests failed:" in log, log


def test_probe_demo_check_from_outside_reports_what_the_test_pod_reports(install, tmp_path):
    release = install("zero-downtime", "rolloutCheck.enabled=true", "rolloutCheck.rate=50")
    log, passed = rollout_test_log(release)
    assert passed, log
    picture = tmp_path / "check.html"
    result = run(shutil.which("probe-demo"), "check", "--release", release.name,
                 "-n", release.namespace, "--rate", "50", "--disruptions", "rollout",
                 "--json", str(tmp_path / "check.json"), "--timeline", str(picture),
                 timeout=600, check=False)
    assert re.search(r"^PASS: 0 of \d+ requests failed", result, re.M), result
    found = json.loads((tmp_path / "check.json").read_text())
    assert found["passed"] and found["failures"] == 0 and found["attempts"] > 300
    kinds = {event["kind"] for event in found["events"]}
    assert {"created", "ready", "terminating", "endpoint", "server"} <= kinds, kinds
    # What newer clusters tell too: a new pod's sandbox ready before its containers are
    # (PodReadyToStartContainers, on by default from 1.29, GA in 1.37), and the old pod
    # counted in the Deployment's status.terminatingReplicas (on by default from 1.35).
    if server_minor() >= (1, 29):
        made = {e["pod"] for e in found["events"] if e["kind"] == "created" and e["t"] > 0}
        sandboxes = {e["pod"] for e in found["events"]
                     if e["kind"] == "sandbox ready" and e["t"] > 0}
        assert made and made <= sandboxes, (made, sandboxes)
    if server_minor() >= (1, 35):
        counts = [int(e["detail"]) for e in found["events"] if e["kind"] == "terminating replicas"]
        assert counts and max(counts) >= 1, counts
    assert "<svg" in picture.read_text()


def test_probe_demo_check_keep_alive_from_outside_reports_what_the_test_pod_reports(
        install, tmp_path):
    release = install("zero-downtime", "rolloutCheck.enabled=true", "rolloutCheck.rate=50",
                      "rolloutCheck.connections=keep-alive", "service.type=NodePort")
    log, passed = rollout_test_log(release)
    assert passed, log
    assert re.search(r"^PASS: 0 of \d+ requests failed", log, re.M), log
    # From this machine, through the node's port as a load balancer would send it:
    # keep-alive needs a URL whose connections this client holds (the API's service proxy
    # holds its own), and a cluster IP is routed nowhere outside the cluster.
    node_port = kubectl("get", "service", release.service, "-n", release.namespace, "-o",
                        "jsonpath={.spec.ports[0].nodePort}").strip()
    node_ip = kubectl("get", "nodes", "-o", "jsonpath={.items[0].status.addresses"
                      "[?(@.type=='InternalIP')].address}").strip()
    result = run(shutil.which("probe-demo"), "check", "--release", release.name,
                 "-n", release.namespace, "--rate", "50", "--disruptions", "rollout",
                 "--connections", "keep-alive", "--url", f"http://{node_ip}:{node_port}/status",
                 "--json", str(tmp_path / "check.json"), timeout=600, check=False)
    assert re.search(r"^PASS: 0 of \d+ requests failed", result, re.M), result
    found = json.loads((tmp_path / "check.json").read_text())
    assert found["passed"] and found["failures"] == 0
    assert found["connections"]["mode"] == "keep-alive"
    assert found["connections"]["closed_by_server"] >= 1, found["connections"]
    marks = [e["detail"] for e in found["events"] if e["kind"] == "server"]
    assert any(mark.startswith("stopped listening (told ") for mark in marks), marks


def test_probe_demo_check_names_a_refused_permission(install, tmp_path):
    """A user who may watch but not evict is told so before any load is sent."""
    release = install(None)
    ns = release.namespace
    kubectl("create", "serviceaccount", "watcher", "-n", ns)
    kubectl("create", "role", "watcher", "-n", ns, "--verb=get,list,watch",
            "--resource=deployments,pods,endpointslices")
    kubectl("create", "rolebinding", "watcher", "-n", ns, "--role=watcher",
            f"--serviceaccount={ns}:watcher")
    config = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    token = kubectl("create", "token", "watcher", "-n", ns).strip()
    config["users"] = [{"name": "watcher", "user": {"token": token}}]
    config["contexts"][0]["context"]["user"] = "watcher"
    (tmp_path / "kubeconfig").write_text(json.dumps(config))
    result = subprocess.run(
        [shutil.which("probe-demo"), "check", "--deployment", release.service, "-n", ns,
         "--disruptions", "evict"], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "kubeconfig")})
    assert result.returncode == 2, result
    assert result.stderr.strip() == (
        f"probe-demo: error: no permission to create pods/eviction in namespace {ns}, "
        "which evict needs"), result.stderr


def test_an_eviction_a_budget_never_allows_is_reported_blocked_not_waited_on(install):
    """One replica and a PodDisruptionBudget of the user's own that wants it always up."""
    release = install(None)
    ns = release.namespace
    kubectl("create", "poddisruptionbudget", "keep-one", "-n", ns, "--min-available=1",
            f"--selector={release.selector}")
    result = subprocess.run(
        [shutil.which("probe-demo"), "check", "--release", release.name, "-n", ns,
         "--disruptions", "evict", "--rate", "20", "--after", "1"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result
    assert "evict: eviction of demo-probe-demo-" in result.stdout, result.stdout
    assert "can never be allowed while the Deployment stays as it is" in result.stdout
    assert re.search(r"^FAIL: 0 of \d+ requests failed \(--max-failures 0\); blocked: evict: ",
                     result.stdout, re.M), result.stdout
