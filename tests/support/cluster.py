"""Helpers of the e2e tests: kubectl, helm, the image under test, a release."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from support import APP_VERSION, CHART, KUBE_VERSION, ROOT  # noqa: F401 - re-exported

PRESETS = CHART / "presets"
OFFLINE_CLUSTER = "E2E_IMAGE" not in os.environ
IMAGE = os.environ.get("E2E_IMAGE", f"localhost:5000/probe-demo:{APP_VERSION}")
IMAGE_REPOSITORY, IMAGE_TAG = IMAGE.rsplit(":", 1)
# The image under test everywhere; the public curl image cannot be pulled offline, and the
# chart's image carries curl too.
IMAGE_SETS = [f"image.repository={IMAGE_REPOSITORY}", f"image.tag={IMAGE_TAG}",
              f"sidecar.image.repository={IMAGE_REPOSITORY}", f"sidecar.image.tag={IMAGE_TAG}"]


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


@functools.cache
def server_minor() -> tuple[int, int]:
    """The cluster's Kubernetes (major, minor): what its kubelets and API server do."""
    info = json.loads(kubectl("version", "-o", "json"))["serverVersion"]
    return int(info["major"]), int(info["minor"].rstrip("+"))


def kubelet_agent() -> str:
    """The User-Agent of this cluster's kubelet probes, e.g. kube-probe/1.34."""
    return "kube-probe/{}.{}".format(*server_minor())


def needs_kubernetes(minor: int, what: str) -> None:
    """Skip the test on a cluster older than 1.`minor`."""
    if server_minor() < (1, minor):
        pytest.skip(f"{what} needs Kubernetes 1.{minor}; this cluster is "
                    "{}.{}".format(*server_minor()))


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

    def pod_named(self, name: str) -> dict:
        """The pod as it is now."""
        return json.loads(kubectl("get", "pod", name, "-n", self.namespace, "-o", "json"))

    def running_pod(self) -> dict:
        return wait_until("a running pod", lambda: [
            p for p in self.pods() if p["status"].get("phase") == "Running"], timeout=90)[0]

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

    def cpu_stat(self, pod_name: str) -> dict[str, int]:
        """The server container's own cpu.stat, read inside it: cgroup v2 has it at the root
        of its cgroup mount, v1 in the cpu controller's folder."""
        text = self.exec(pod_name, "sh", "-c", "cat /sys/fs/cgroup/cpu.stat 2>/dev/null "
                                               "|| cat /sys/fs/cgroup/cpu/cpu.stat")
        return {key: int(value) for key, value in (line.split() for line in text.splitlines())}

    def logs(self, pod_name: str, container: str = "server", previous: bool = False) -> str:
        args = ["logs", "-n", self.namespace, pod_name, "-c", container]
        return kubectl(*args, *(["--previous"] if previous else []))

    @contextmanager
    def port_forward(self, pod_name: str, port: int, local_port: int | None = None
                     ) -> Iterator[str]:
        """`kubectl port-forward` to the pod, as a reader does, from `local_port` (or any
        free one); yields http://127.0.0.1:PORT."""
        process = subprocess.Popen(
            [_binary("kubectl"), "port-forward", "-n", self.namespace, f"pod/{pod_name}",
             f"{local_port or ''}:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            line = process.stdout.readline()  # Forwarding from 127.0.0.1:NNNNN -> PORT
            if "Forwarding from 127.0.0.1:" not in line:
                raise AssertionError(f"kubectl port-forward: {line}{process.stderr.read()}")
            # It prints a line per connection: keep reading, so it never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            yield "http://127.0.0.1:" + line.split("127.0.0.1:")[1].split()[0]
        finally:
            process.terminate()
            process.wait(timeout=10)

    def helm_test(self) -> str:
        return helm("test", self.name, "-n", self.namespace, "--logs", "--timeout", "120s")




def rollout_test_log(release: Release) -> tuple[str, bool]:
    """helm test's output with the rollout check's log, and whether it passed."""
    result = subprocess.run([_binary("helm"), "test", release.name, "-n",
                             release.namespace, "--logs", "--timeout", "900s"],
                            capture_output=True, text=True, timeout=960, check=False)
    log = result.stdout + result.stderr
    return log, result.returncode == 0 and "Phase:          Succeeded" in log


def disruption_rows(log: str) -> dict[str, tuple[int, int]]:
    """The summary table of the check's log: disruption -> (attempts, failures)."""
    from probe_demo.check.registry import NAMES

    names = "|".join(re.escape(name) for name in NAMES)
    rows = re.findall(rf"^({names})\s+(\d+)\s+(\d+)\s", log, re.M)
    return {name: (int(attempts), int(failures)) for name, attempts, failures in rows}

