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
    for host in (cluster_ip, f"{release.service}.{release.namespace}.svc.cluster.local"):
        out = kubectl("run", "probe-client", "-n", release.namespace, "--rm", "-i",
                      "--restart=Never", f"--image={IMAGE}",
                      "--overrides", '{"spec": {"securityContext": {"runAsNonRoot": true}}}',
                      "--command", "--", "curl", "-sS", "--max-time", "10", f"http://{host}/",
                      timeout=120)
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
