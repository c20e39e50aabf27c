"""Several nodes (docs/several-nodes.md): a real node drain under load, the replicas spread
one per node, and traffic that enters on one node and is served on another.

They need 3 Ready nodes (`make cluster-up NODES=3`, or a kind cluster with 3) and skip
themselves, saying so, on fewer. They cordon nodes, so they run one after another (one
xdist group) while the other tests run beside them on node 1.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from collections import Counter

import pytest
from cluster_nodes import ready_nodes, toleration_sets, tolerations
from support.cluster import (
    IMAGE,
    ROOT,
    _binary,
    disruption_rows,
    kubectl,
    needs_kubernetes,
    rollout_test_log,
    run,
    wait_until,
)

from probe_demo.protocol import POD_HEADER

pytestmark = pytest.mark.xdist_group("nodes")
SPREAD = ["zero-downtime", "spread-over-nodes"]
# The answering pod's name, as the server sends it.
WHO_ANSWERED = f"curl -s -o /dev/null -w '%header{{{POD_HEADER.lower()}}}\\n' "


@pytest.fixture
def nodes() -> list[dict]:
    """The cluster's Ready, schedulable nodes, three or more, or the test is skipped; on
    the cluster `make test-e2e` brought up with E2E_NODES of them, it fails instead."""
    ready = ready_nodes(_binary("kubectl"))
    if len(ready) < 3:
        why = (f"needs 3 Ready, schedulable nodes and this cluster has {len(ready)} "
               "(make cluster-up NODES=3)")
        if int(os.environ.get("E2E_NODES") or 0) >= 3:
            pytest.fail(f"{why}, though it was brought up with E2E_NODES="
                        f"{os.environ['E2E_NODES']}: a node was left cordoned or broken")
        pytest.skip(why)
    return ready


def off_the_first(nodes: list[dict]) -> list[str]:
    """--set values that keep a release off the first node, where every other test runs
    meanwhile: a drain may cordon the node it empties."""
    return avoiding(nodes[0]["metadata"]["name"])


def placement(release) -> Counter:
    """How many of the release's running pods each node has."""
    return Counter(pod["spec"].get("nodeName") for pod in release.pods()
                   if not pod["metadata"].get("deletionTimestamp"))


def test_three_replicas_spread_one_per_node_and_a_rollout_keeps_the_spread(install, nodes):
    release = install(SPREAD, *toleration_sets(nodes))
    assert sorted(placement(release).values()) == [1, 1, 1], placement(release)
    assert len(placement(release)) == 3
    kubectl("rollout", "restart", f"deployment/{release.service}", "-n", release.namespace)
    kubectl("rollout", "status", f"deployment/{release.service}", "-n", release.namespace,
            "--timeout", "180s")
    wait_until("the old pods to go", lambda: sum(placement(release).values()) == 3, 60)
    assert sorted(placement(release).values()) == [1, 1, 1], placement(release)


def test_a_cordoned_node_is_left_out_of_the_spread_only_with_node_taints_policy_honor(
        install, nodes):
    """With nodeTaintsPolicy Honor (the preset) a rollout with one node cordoned places its
    3 pods on the other 2; with the default, Ignore, the cordoned node still counts as a
    place with 0 pods, and a pod that would make it 2-1-0 waits, Pending."""
    cordoned = nodes[-1]["metadata"]["name"]
    honor = install(SPREAD, *toleration_sets(nodes))
    ignore = install(SPREAD, *toleration_sets(nodes),
                     "topologySpreadConstraints[0].nodeTaintsPolicy=Ignore")
    kubectl("cordon", cordoned)
    try:
        for release in (honor, ignore):
            kubectl("rollout", "restart", f"deployment/{release.service}", "-n",
                    release.namespace)
        kubectl("rollout", "status", f"deployment/{honor.service}", "-n", honor.namespace,
                "--timeout", "180s")
        wait_until("the old pods to go", lambda: sum(placement(honor).values()) == 3, 60)
        assert cordoned not in placement(honor) and len(placement(honor)) == 2, placement(honor)

        def pending_for_the_spread() -> str:
            events = kubectl("get", "events", "-n", ignore.namespace,
                             "--field-selector", "reason=FailedScheduling", "-o",
                             "jsonpath={.items[*].message}")
            return "didn't match pod topology spread constraints" in events and events
        assert wait_until("a pod Pending on the spread", pending_for_the_spread, 90)
    finally:
        kubectl("uncordon", cordoned)


def pod_ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod["status"].get("conditions", []))


def ready_pods_through(release, stop: threading.Event,
                       samples: list[tuple[str, list[dict]]]) -> None:
    """Append, every half second until `stop`, the time and the release's pods."""
    while not stop.wait(0.5):
        samples.append((time.strftime("%H:%M:%S"), release.pods()))


def described(sample: tuple[str, list[dict]]) -> str:
    """One sample as a line: each pod's name, node, and whether it is Ready, terminating."""
    at, pods = sample
    return at + " " + ", ".join(
        f"{pod['metadata']['name'][-5:]}@{pod['spec'].get('nodeName', '-')[-1:]}"
        f"{'' if pod_ready(pod) else ' NOT READY'}"
        f"{' terminating' if pod['metadata'].get('deletionTimestamp') else ''}"
        for pod in pods)


def probe_failures(release) -> str:
    return kubectl("get", "events", "-n", release.namespace, "--field-selector",
                   "reason=Unhealthy", "-o",
                   "custom-columns=LAST:.lastTimestamp,POD:.involvedObject.name,"
                   "COUNT:.count,MESSAGE:.message")


def test_a_node_drain_under_load_loses_nothing_on_zero_downtime(install, nodes):
    """`helm test` drains the node of the oldest pod under load through the Service (the 3
    replicas on nodes 2 and 3): the PodDisruptionBudget (minAvailable 2) lets one pod go
    at a time, its replacement starts on the other node, and not one request is lost.
    100 requests/s, as the other rollout tests, beside them on this machine's two cores;
    500 requests/s is the benchmark's (make bench-rollout), on a machine left to it."""
    release = install(SPREAD, *toleration_sets(nodes), *off_the_first(nodes),
                      "rolloutCheck.enabled=true", "rolloutCheck.disruptions={drain}",
                      "rolloutCheck.rate=100")
    before = placement(release)
    stop, samples = threading.Event(), []
    watcher = threading.Thread(target=ready_pods_through, args=(release, stop, samples))
    watcher.start()
    try:
        log, passed = rollout_test_log(release)
    finally:
        stop.set()
        watcher.join()
    assert passed, log
    attempts, failures = disruption_rows(log)["drain"]
    assert attempts > 1000 and failures == 0, log
    drained = re.search(r"  drain: cordoned nodes/(\S+)", log).group(1)
    assert drained in before and f"uncordoned nodes/{drained}" in log, log
    assert drained not in placement(release), placement(release)
    assert not any(node["spec"].get("unschedulable") for node in json.loads(
        kubectl("get", "nodes", "-o", "json"))["items"]), "a node was left cordoned"
    counts = [sum(1 for pod in pods if pod_ready(pod)) for _, pods in samples]
    assert counts and min(counts) >= 2, (
        "ready pods fell below the budget's 2:\n" + "\n".join(map(described, samples))
        + "\n" + probe_failures(release))


def test_a_node_drain_loses_requests_on_the_naive_preset(install, nodes):
    """Each evicted naive pod stops listening at SIGTERM, racing the removal of its
    endpoint: the requests sent in between are refused. 4 replicas spread 2/2 over nodes 2
    and 3, so the drain evicts two pods, two races; with one, the endpoint was once removed
    first on this loaded machine, and nothing was lost."""
    release = install(["naive-rollout", "spread-over-nodes"], *toleration_sets(nodes),
                      *off_the_first(nodes), "replicaCount=4", "rolloutCheck.enabled=true",
                      "rolloutCheck.disruptions={drain}", "rolloutCheck.rate=100")
    log, passed = rollout_test_log(release)
    assert not passed, log
    assert len(re.findall(r"^  drain: evicted ", log, re.M)) == 2, log
    _attempts, failures = disruption_rows(log)["drain"]
    assert failures > 0, log
    assert "uncordoned nodes/" in log, log


def test_a_drain_with_nowhere_to_go_is_refused_in_one_line_before_any_load(install):
    """Pods held to one node (by a nodeSelector here; on one node, or with the other nodes
    tainted against them, the same) could only come back where they were: the check says
    so in one line, sends nothing, and cordons nothing."""
    only = ready_nodes(_binary("kubectl"))[0]["metadata"]["name"]
    release = install("zero-downtime", f"nodeSelector.kubernetes\\.io/hostname={only}")
    result = subprocess.run(
        [_binary("probe-demo"), "check", "--release", release.name, "-n", release.namespace,
         "--disruptions", "drain"], capture_output=True, text=True, timeout=120, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stdout + result.stderr
    assert result.stdout == "", result.stdout
    assert lines[0].startswith(f"probe-demo: error: drain: refused: no node other than "
                               f"nodes/{only} could take its pods ("), lines
    assert not any(node["spec"].get("unschedulable") for node in json.loads(
        kubectl("get", "nodes", "-o", "json"))["items"])


def client_pod(release, node: str, nodes: list[dict], name: str = "client",
               command: str = "sleep 3600") -> str:
    """A pod of the image on `node` (tolerating its taints) running `command`, once it
    runs."""
    overrides = {"spec": {"nodeName": node, "tolerations": tolerations(nodes)}}
    kubectl("run", name, "-n", release.namespace, "--restart=Never", f"--image={IMAGE}",
            "--labels=app.kubernetes.io/component=e2e-client",
            f"--overrides={json.dumps(overrides)}", "--command", "--", "sh", "-c", command)
    kubectl("wait", "-n", release.namespace, "--for=condition=Ready", f"pod/{name}",
            "--timeout=90s")
    return name


def answers_from(release, client: str, url: str, count: int = 60) -> Counter:
    """Which node's pod answered each of `count` requests from the client pod."""
    node_of = {pod["metadata"]["name"]: pod["spec"]["nodeName"] for pod in release.pods()}
    names = kubectl("exec", "-n", release.namespace, client, "--", "sh", "-c",
                    f"for i in $(seq {count}); do {WHO_ANSWERED}{url}; done").split()
    return Counter(node_of.get(name, name) for name in names)


def test_a_client_on_one_node_reaches_pods_on_every_node_and_prefer_same_node_keeps_it_home(
        install, nodes):
    needs_kubernetes(34, "trafficDistribution: PreferSameNode")
    release = install(SPREAD, *toleration_sets(nodes))
    home = nodes[1]["metadata"]["name"]
    client = client_pod(release, home, nodes)
    url = f"http://{release.service}/status"
    spread = answers_from(release, client, url)
    assert set(spread) == set(placement(release)) and len(spread) == 3, spread
    kubectl("patch", "service", release.service, "-n", release.namespace, "--type=merge",
            "-p", '{"spec": {"trafficDistribution": "PreferSameNode"}}')

    def only_home() -> Counter | None:
        answers = answers_from(release, client, url, 30)
        return answers if set(answers) == {home} else None
    assert wait_until("kube-proxy to prefer the client's node", only_home, 30, every=2)


def from_outside(release, url: str, count: int) -> Counter:
    """Which node's pod answered each of `count` requests sent from this machine (not a
    pod: kube-proxy sends a pod's NodePort traffic cluster-wide whatever the policy)."""
    node_of = {pod["metadata"]["name"]: pod["spec"]["nodeName"] for pod in release.pods()}
    answers: Counter = Counter()
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no http_proxy
    for _ in range(count):
        try:
            with direct.open(url, timeout=2) as answer:
                answers[node_of.get(answer.headers.get(POD_HEADER), "?")] += 1
        except OSError:
            answers["no answer"] += 1
    return answers


def test_external_traffic_policy_local_answers_only_on_nodes_with_a_pod(install, nodes):
    """A NodePort entered on a node from outside: Cluster forwards to a pod on any node;
    Local only to the node's own, and a node without one answers nothing."""
    names = [node["metadata"]["name"] for node in nodes]
    home, empty = names[1], names[2]  # two nodes this machine reaches from outside
    release = install(SPREAD, *toleration_sets(nodes), "service.type=NodePort", "replicaCount=2",
                      "podDisruptionBudget.minAvailable=1", *avoiding(empty))
    assert set(placement(release)) == {names[0], home}, placement(release)
    port = kubectl("get", "service", release.service, "-n", release.namespace, "-o",
                   "jsonpath={.spec.ports[0].nodePort}")
    address = {node["metadata"]["name"]: next(
        a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        for node in nodes}
    cross = from_outside(release, f"http://{address[empty]}:{port}/status", 20)
    assert "no answer" not in cross and set(cross) <= {names[0], home}, cross
    kubectl("patch", "service", release.service, "-n", release.namespace, "--type=merge",
            "-p", '{"spec": {"externalTrafficPolicy": "Local"}}')

    # Each node's kube-proxy applies the change on its own schedule: wait for both.
    def only_local() -> Counter | None:
        answers = from_outside(release, f"http://{address[home]}:{port}/status", 10)
        return answers if set(answers) == {home} else None
    assert wait_until("the NodePort to keep to its node", only_local, 30, every=2)

    def nothing() -> Counter | None:
        answers = from_outside(release, f"http://{address[empty]}:{port}/status", 2)
        return answers if answers == Counter({"no answer": 2}) else None
    assert wait_until("a node without a pod to answer nothing", nothing, 30, every=2)


def avoiding(node: str) -> list[str]:
    """--set values that keep the pods off `node` (a required node affinity)."""
    term = "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution" \
           ".nodeSelectorTerms[0].matchExpressions[0]"
    return [f"{term}.key=kubernetes.io/hostname", f"{term}.operator=NotIn",
            f"{term}.values[0]={node}"]


def node_sh(command: str, node: str) -> None:
    run("bash", str(ROOT / "cluster" / "node.sh"), command, node)


def client_summary(release, name: str) -> dict:
    """The load client's JSON summary, at the end of its pod's log, once it is done."""
    wait_until(f"{name} to finish", lambda: kubectl(
        "get", "pod", name, "-n", release.namespace, "-o", "jsonpath={.status.phase}")
        in ("Succeeded", "Failed"), 120)
    return json.loads(kubectl("logs", name, "-n", release.namespace).split(SUMMARY)[-1])


SUMMARY = "--- summary"
LAG = 15  # seconds node 3's kube-proxy is paused once the rollout begins


@pytest.mark.offline_cluster
@pytest.mark.parametrize(("pre_stop", "drain", "loses"), [(1, 0, True), (20, 5, False)],
                         ids=["pre-stop-shorter-than-the-lag", "pre-stop-longer"])
def test_one_lagging_kube_proxy_loses_requests_unless_the_pre_stop_outlasts_it(
        install, nodes, pre_stop, drain, loses):
    """Node 3's kube-proxy is paused for 15 s as a rollout begins: its Service rules still
    send node 3's clients to the old pods. With a preStop pause (and drain) shorter than
    that, they have stopped listening and node 3's client loses requests; with a longer
    one, nothing is lost. Node 2's kube-proxy keeps up: its client never loses one."""
    steady, lagging = nodes[1]["metadata"]["name"], nodes[2]["metadata"]["name"]
    release = install(SPREAD, *toleration_sets(nodes), f"rollout.preStop.sleepSeconds={pre_stop}",
                      f"server.drainSeconds={drain}", "rollout.terminationGracePeriodSeconds=45")
    load = (f"probe-demo client http://{release.service}/status --rate 50 --duration 45 "
            f"--output quiet --json /tmp/summary.json; echo {SUMMARY}; cat /tmp/summary.json")
    for node in (steady, lagging):
        client_pod(release, node, nodes, f"client-{node}", load)
    node_sh("pause-proxy", lagging)
    try:
        kubectl("rollout", "restart", f"deployment/{release.service}", "-n", release.namespace)
        time.sleep(LAG)
    finally:
        node_sh("resume-proxy", lagging)
    kubectl("rollout", "status", f"deployment/{release.service}", "-n", release.namespace,
            "--timeout", "180s")
    on_steady = client_summary(release, f"client-{steady}")
    on_lagging = client_summary(release, f"client-{lagging}")
    assert on_steady["attempts"] > 1000 and on_steady["failures"] == 0, on_steady
    assert on_lagging["attempts"] > 1000, on_lagging
    if loses:
        assert on_lagging["failures"] > 0, on_lagging
    else:
        assert on_lagging["failures"] == 0, on_lagging


def endpoint_ready(release, pod: str) -> bool | None:
    """Whether the Service's EndpointSlices list `pod` as ready (None: not listed)."""
    slices = json.loads(kubectl("get", "endpointslices", "-n", release.namespace, "-l",
                                f"kubernetes.io/service-name={release.service}", "-o", "json"))
    for endpoint_slice in slices["items"]:
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("targetRef") or {}).get("name") == pod:
                return bool(endpoint.get("conditions", {}).get("ready"))
    return None


@pytest.mark.offline_cluster
def test_a_frozen_node_fails_requests_only_until_it_is_found_not_ready(install, nodes):
    """Node 3 freezes (a hung machine: pods, kubelet, kube-proxy). Its pod still accepts
    connections in the kernel and answers nothing, so requests sent there time out, until
    the node controller, missing the node's heartbeat for node-monitor-grace-period, marks
    it NotReady and its pod's endpoint not ready; then none fail. After tolerationSeconds
    the pod is evicted, stays Terminating (no kubelet to confirm), and is replaced."""
    steady, frozen = nodes[1]["metadata"]["name"], nodes[2]["metadata"]["name"]
    fast_eviction = [f"tolerations[{i}].{field}={value}"
                     for i, key in enumerate(("node.kubernetes.io/unreachable",
                                              "node.kubernetes.io/not-ready"),
                                             start=len(tolerations(nodes)))
                     for field, value in (("key", key), ("operator", "Exists"),
                                          ("effect", "NoExecute"), ("tolerationSeconds", 10))]
    release = install(SPREAD, *toleration_sets(nodes), *fast_eviction)
    victim = next(pod["metadata"]["name"] for pod in release.pods()
                  if pod["spec"]["nodeName"] == frozen)
    load = (f"probe-demo client http://{release.service}/status --rate 20 --duration 100 "
            f"--timeout 2 --output quiet --json /tmp/summary.json; echo {SUMMARY}; "
            "cat /tmp/summary.json")
    client_pod(release, steady, nodes, "client", load)
    client_started = time.time()
    time.sleep(5)
    node_sh("freeze", frozen)
    frozen_at = time.time()
    try:
        wait_until(f"{frozen} to go NotReady", lambda: kubectl(
            "get", "node", frozen, "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}') == "Unknown", 120)
        wait_until("its pod's endpoint to turn not ready",
                   lambda: endpoint_ready(release, victim) is False, 30, every=0.5)
        unlisted_at = time.time()
        wait_until("the pod to be evicted", lambda: release.pod_named(victim)[
            "metadata"].get("deletionTimestamp"), 60)
        wait_until("a replacement on another node", lambda: len([
            pod for pod in release.pods() if not pod["metadata"].get("deletionTimestamp")
            and pod_ready(pod)]) == 3, 90)
        assert release.pod_named(victim)["metadata"].get("deletionTimestamp"), \
            "the frozen node's pod should stay Terminating while its kubelet is frozen"
        summary = client_summary(release, "client")
    finally:
        node_sh("thaw", frozen)
        wait_until(f"{frozen} to be Ready and untainted again", lambda: frozen in {
            node["metadata"]["name"] for node in ready_nodes(_binary("kubectl"))}, 120)
    assert summary["failures"] > 0, summary
    assert set(summary["failure_kinds"]) <= {"timeout"}, summary
    # Every failure was sent between the freeze and the endpoint's turn to not ready (the
    # client's clock began within a second of its pod turning Ready).
    assert client_started + summary["first_failure_s"] >= frozen_at - 1, summary
    assert client_started + summary["last_failure_s"] <= unlisted_at + 5, summary


@pytest.mark.offline_cluster
def test_a_kubelet_restarted_mid_rollout_loses_no_request(install, nodes):
    """Node 3's kubelet stops and starts again while a rollout replaces its pod: the pods
    keep running without it, and the kubelet takes them up again where it left them."""
    steady, restarted = nodes[1]["metadata"]["name"], nodes[2]["metadata"]["name"]
    release = install(SPREAD, *toleration_sets(nodes))
    load = (f"probe-demo client http://{release.service}/status --rate 50 --duration 40 "
            f"--output quiet --json /tmp/summary.json; echo {SUMMARY}; cat /tmp/summary.json")
    client_pod(release, steady, nodes, "client", load)
    kubectl("rollout", "restart", f"deployment/{release.service}", "-n", release.namespace)
    time.sleep(3)
    node_sh("restart-kubelet", restarted)
    kubectl("rollout", "status", f"deployment/{release.service}", "-n", release.namespace,
            "--timeout", "180s")
    summary = client_summary(release, "client")
    assert summary["attempts"] > 1000 and summary["failures"] == 0, summary
    assert sorted(placement(release).values()) == [1, 1, 1], placement(release)
