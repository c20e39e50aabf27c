"""The image `make image` pushed: one tag, two architectures, both runnable here."""

import json
import os

import pytest
from support.cluster import APP_VERSION, IMAGE, run

REFERENCE = IMAGE
SOCKET = "/var/lib/probe-demo-cluster/containerd/containerd.sock"
CTR = "/var/lib/probe-demo-cluster/bin/ctr"  # the cluster's own (cluster/up.sh)
NAMESPACE = "probe-demo-image-test"


def ctr(*args: str) -> str:
    return run(CTR, "--address", SOCKET, "-n", NAMESPACE, *args, timeout=300)


@pytest.mark.offline_cluster
def test_the_tag_is_a_manifest_list_for_amd64_and_arm64():
    raw = json.loads(run("skopeo", "inspect", "--raw", "--tls-verify=false",
                         f"docker://{REFERENCE}"))
    platforms = {(m["platform"]["os"], m["platform"]["architecture"]) for m in raw["manifests"]}
    assert platforms == {("linux", "amd64"), ("linux", "arm64")}


@pytest.mark.offline_cluster
def test_the_arm64_image_runs_under_qemu():
    ctr("images", "pull", "--plain-http", "--platform", "linux/arm64", REFERENCE)
    name = f"arm64-{os.getpid()}"
    assert ctr("run", "--rm", "--platform", "linux/arm64", REFERENCE, name,
               "uname", "-m").strip() == "aarch64"
    assert ctr("run", "--rm", "--platform", "linux/arm64", REFERENCE, name,
               "probe-demo", "--version").strip() == f"probe-demo {APP_VERSION}"


def test_the_image_runs_as_non_root_with_a_read_only_root(install):
    release = install(None)
    pod = release.pod()
    security = pod["spec"]["containers"][0]["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    uid = release.exec(pod["metadata"]["name"], "id", "-u").strip()
    assert uid == "10001"
    # PID 1 is the server itself, so the kubelet's SIGTERM reaches it.
    assert "probe-demo serve" in release.exec(pod["metadata"]["name"], "cat",
                                              "/proc/1/cmdline").replace("\0", " ")
