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

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "probe-demo"
PRESETS = CHART / "presets"
CACHE = Path(os.environ.get("DEMO_CACHE_DIR", Path.home() / ".cache" / "probe-demo"))
# The app version is the chart's appVersion, the image's tag.
APP_VERSION = next(line.split(":", 1)[1].strip().strip('"')
                   for line in (CHART / "Chart.yaml").read_text().splitlines()
                   if line.startswith("appVersion:"))
OFFLINE_CLUSTER = "E2E_IMAGE" not in os.environ
IMAGE = os.environ.get("E2E_IMAGE", f"localhost:5000/probe-demo:{APP_VERSION}")
IMAGE_REPOSITORY, IMAGE_TAG = IMAGE.rsplit(":", 1)
# The image under test everywhere; the public curl image cannot be pulled offline, and the
# chart's image carries curl too.
IMAGE_SETS = [f"image.repository={IMAGE_REPOSITORY}", f"image.tag={IMAGE_TAG}",
              f"sidecar.image.repository={IMAGE_REPOSITORY}", f"sidecar.image.tag={IMAGE_TAG}"]


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "offline_cluster: needs the cluster `make cluster-up` "
                                       "runs (skipped when E2E_IMAGE is set)")
    config.addinivalue_line("markers", "metrics: needs the metrics API (metrics-server)")


def pytest_collection_modifyitems(config, items) -> None:
    if OFFLINE_CLUSTER:
        return  # our cluster has every part: nothing is skipped
    metrics = subprocess.run(["kubectl", "get", "--raw", "/apis/metrics.k8s.io/v1beta1"],
                             capture_output=True, check=False).returncode == 0
    for item in items:
        if "offline_cluster" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="looks at the offline cluster's own parts"))
        elif "metrics" in item.keywords and not metrics:
            item.add_marker(pytest.mark.skip(reason="this cluster has no metrics API"))


def _binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not on PATH: run the e2e tests through 'make test-e2e'")
    return found


def run(*command: str, timeout: float = 300, check: bool = True) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout,
                            check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result.stdout


def kubectl(*args: str, **kwargs: Any) -> str:
    return run(_binary("kubectl"), *args, **kwargs)


def helm(*args: str, **kwargs: Any) -> str:
    return run(_binary("helm"), *args, **kwargs)


def set_args(values: list[str]) -> list[str]:
    """helm's `--set KEY=VALUE` arguments for the image under test, then `values`."""
    return [arg for value in [*IMAGE_SETS, *values] for arg in ("--set", value)]


def wait_until(what: str, condition: Callable[[], Any], timeout: float, every: float = 1.0) -> Any:
    """Return condition()'s first truthy value; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


@dataclass
class Release:
    name: str
    namespace: str

    @property
    def selector(self) -> str:
        return f"app.kubernetes.io/instance={self.name}"

    @property
    def service(self) -> str:
        return f"{self.name}-probe-demo"

    def pods(self) -> list[dict]:
        out = kubectl("get", "pods", "-n", self.namespace, "-l", self.selector, "-o", "json")
        return [pod for pod in json.loads(out)["items"]
                if pod["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "test"]

    def pod(self) -> dict:
        pods = self.pods()
        assert pods, f"no pods for {self.name}"
        return pods[0]

    def container_status(self, pod: dict | None = None, name: str = "server") -> dict:
        pod = pod or self.pod()
        for status in pod.get("status", {}).get("containerStatuses", []):
            if status["name"] == name:
                return status
        return {}

    def exec(self, pod_name: str, *command: str) -> str:
        return kubectl("exec", "-n", self.namespace, pod_name, "-c", "server", "--", *command)

    def logs(self, pod_name: str, container: str = "server", previous: bool = False) -> str:
        args = ["logs", "-n", self.namespace, pod_name, "-c", container]
        return kubectl(*args, *(["--previous"] if previous else []))

    def helm_test(self) -> str:
        return helm("test", self.name, "-n", self.namespace, "--logs", "--timeout", "120s")


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
        kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def install(namespace) -> Callable[..., Release]:
    """install(preset, *sets, wait=True, ns_labels=None): helm install into a fresh namespace."""

    def do_install(preset: str | None, *sets: str, wait: bool = True,
                   ns_labels: dict[str, str] | None = None) -> Release:
        release = Release(name="demo", namespace=namespace(ns_labels))
        args = ["install", release.name, str(CHART), "-n", release.namespace]
        if preset:
            args += ["-f", str(PRESETS / f"{preset}.yaml")]
        args += set_args(list(sets))
        if wait:
            args += ["--wait", "--timeout", "180s"]
        helm(*args)
        return release

    return do_install
