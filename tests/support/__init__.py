"""What the repository-level tests (chart, docs, e2e) share: paths and versions, each read
from the one place that defines it."""

from __future__ import annotations

import os
from pathlib import Path

from probe_demo import __version__ as APP_VERSION  # the chart's appVersion (a chart test checks)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "probe-demo"
CACHE = Path(os.environ.get("DEMO_CACHE_DIR", Path.home() / ".cache" / "probe-demo"))
# The offline cluster's Kubernetes version, e.g. "1.34.2" (cluster/kubernetes-version).
KUBE_VERSION = (ROOT / "cluster" / "kubernetes-version").read_text().strip().removeprefix("v")
# The previous minors, newest first, which the chart tests check too
# (cluster/kubernetes-versions-previous, one a line).
PREVIOUS_KUBE_VERSIONS = tuple(
    line.strip().removeprefix("v")
    for line in (ROOT / "cluster" / "kubernetes-versions-previous").read_text().splitlines()
    if line.strip())



def cluster_feature_gates(kube_version: str) -> tuple[str, ...]:
    """The feature gates our cluster turns on at a Kubernetes version (cluster/feature-gates:
    a gate and the first minor that has it, one a line)."""
    minor = int(kube_version.removeprefix("v").split(".")[1])
    gates = []
    for line in (ROOT / "cluster" / "feature-gates").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            gate, first = line.split()
            if minor >= int(first):
                gates.append(gate)
    return tuple(gates)


__all__ = ["APP_VERSION", "CACHE", "CHART", "KUBE_VERSION", "PREVIOUS_KUBE_VERSIONS", "ROOT",
           "cluster_feature_gates"]
