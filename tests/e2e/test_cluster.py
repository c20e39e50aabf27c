"""The offline cluster itself: a Ready node, locally built images, Service IPs, DNS, metrics."""

import json

import pytest
from support.cluster import IMAGE, KUBE_VERSION, kubectl, wait_until


@pytest.mark.offline_cluster
def test_node_is_ready_and_reports_the_clusters_kubernetes_version():
    node = json.loads(kubectl("get", "nodes", "-o", "json"))["items"][0]
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{KUBE_VERSION}"


def test_service_ip_and_dns_name_reach_a_pod_from_another_pod(install):
    release = install(None, "server.variant=hello", "server.tag=dns-check")
    service = json.loads(kubectl("get", "service", release.service, "-n", release.namespace,
                                 "-o", "json"))
    cluster_ip = service["spec"]["clusterIP"]
    for number, host in enumerate(
            (cluster_ip, f"{release.service}.{release.namespace}.svc.cluster.local")):
        # Run, wait, read the log: `kubectl run -i` can miss the output of a pod this quick.
        name = f"probe-client-{number}"
        kubectl("run", name, "-n", release.namespace, "--restart=Never", f"--image={IMAGE}",
                "--overrides", '{"spec": {"securityContext": {"runAsNonRoot": true}}}',
                "--command", "--", "curl", "-sS", "--max-time", "10", f"http://{host}/")
        wait_until(f"{name} to finish", lambda name=name: json.loads(kubectl(
            "get", "pod", name, "-n", release.namespace, "-o", "json"))["status"]["phase"]
            in ("Succeeded", "Failed"), timeout=120)
        out = kubectl("logs", name, "-n", release.namespace)
        assert '"tag":"dns-check"' in out, out


@pytest.mark.metrics
def test_kubectl_top_reports_pod_figures(install):
    release = install(None)
    lines = wait_until(
        "kubectl top to report the pod",
        lambda: kubectl("top", "pod", "-n", release.namespace, "--no-headers",
                        check=False).strip(),
        timeout=120, every=5,
    )
    name, cpu, memory = lines.splitlines()[0].split()
    assert name.startswith("demo-probe-demo-")
    assert cpu.endswith("m") and memory.endswith("Mi")
