"""End-to-end tests against a real cluster: by default the one `make cluster-up` runs, with
the image `make image` pushed; or any cluster, given by KUBECONFIG, with E2E_IMAGE naming
an image its nodes can pull (e.g. one `kind load docker-image` put there):

    KUBECONFIG=~/.kube/config E2E_IMAGE=probe-demo:dev pytest tests/e2e

Each test installs its scenario into a namespace of its own and removes it afterwards.
Tests marked `offline_cluster` look at our cluster's own parts (its registry, its
containerd, its Kubernetes version) and are skipped on any other; tests marked `metrics`
need a metrics API (metrics-server), which our cluster always has.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest
from support.browser import browser  # noqa: F401 - a fixture of the /ui tests
from support.chart import values_args
from support.cluster import CHART, OFFLINE_CLUSTER, PRESETS, Release, helm, kubectl, set_args


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "offline_cluster: needs the cluster `make cluster-up` "
                                       "runs (skipped when E2E_IMAGE is set)")
    config.addinivalue_line("markers", "metrics: needs the metrics API (metrics-server)")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    # A worker of `--dist loadgroup` names each grouped test NODEID@GROUP, which is how the
    # multi-node tests (one group) run one after another; without it they would not.
    if getattr(config.option, "loadgroup", False):
        ungrouped = [item.nodeid for item in items
                     if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if ungrouped:
            raise pytest.UsageError(f"--dist loadgroup left {ungrouped[0]} out of its xdist "
                                    "group (a pytest that pytest-xdist cannot rename tests "
                                    "in: see requirements-dev.txt)")
    if OFFLINE_CLUSTER:
        return  # our cluster has every part: nothing is skipped
    metrics = subprocess.run(["kubectl", "get", "--raw", "/apis/metrics.k8s.io/v1beta1"],
                             capture_output=True, check=False).returncode == 0
    for item in items:
        if "offline_cluster" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="looks at the offline cluster's own parts"))
        elif "metrics" in item.keywords and not metrics:
            item.add_marker(pytest.mark.skip(reason="this cluster has no metrics API"))


@pytest.fixture
def namespace(request) -> Iterator[Callable[..., str]]:
    created: list[str] = []

    def make(labels: dict[str, str] | None = None) -> str:
        name = f"e2e-{request.node.name.removeprefix('test_')[:30].replace('_', '-')}-" \
               f"{uuid.uuid4().hex[:5]}"
        kubectl("create", "namespace", name)
        for key, value in (labels or {}).items():
            kubectl("label", "namespace", name, f"{key}={value}")
        created.append(name)
        return name

    yield make
    for name in created:
        # The release first: what it made outside the namespace (the rollout check's
        # ClusterRole for drain) goes with it.
        helm("uninstall", "demo", "-n", name, "--ignore-not-found", check=False)
        kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def install(namespace) -> Callable[..., Release]:
    """install(preset or [presets], *sets, wait=True, ns_labels=None): helm install into a
    fresh namespace, the presets layered in order."""

    def do_install(preset: str | list[str] | None, *sets: str, wait: bool = True,
                   ns_labels: dict[str, str] | None = None) -> Release:
        release = Release(name="demo", namespace=namespace(ns_labels))
        args = ["install", release.name, str(CHART), "-n", release.namespace]
        for name in [preset] if isinstance(preset, str) else preset or []:
            args += values_args(PRESETS / f"{name}.yaml")
        args += set_args(list(sets))
        if wait:
            args += ["--wait", "--timeout", "180s"]
        helm(*args)
        return release

    return do_install
