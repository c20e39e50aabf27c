"""What the repository-level tests (chart, docs, e2e) share: paths and versions, each read
from the one place that defines it."""

from __future__ import annotations

import os
import re
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



# The chart's table of what it uses from newer Kubernetes (templates/_kubernetes.tpl): a
# feature, the first minor that has it and, behind a gate there, the gate.
_FEATURE = re.compile(r"^\w+: \{minor: (\d+), .*gate: (\w+)", re.M)


def feature_gates() -> dict[str, int]:
    """Every feature gate the chart uses, with the first minor that has its feature."""
    table = (CHART / "templates" / "_kubernetes.tpl").read_text()
    return {gate: int(minor) for minor, gate in _FEATURE.findall(table)}


def cluster_feature_gates(kube_version: str) -> tuple[str, ...]:
    """The feature gates our cluster turns on at a Kubernetes version (cluster/lib.sh):
    each the chart uses, from the first minor that has its feature."""
    minor = int(kube_version.removeprefix("v").split(".")[1])
    return tuple(gate for gate, first in feature_gates().items() if minor >= first)


__all__ = ["APP_VERSION", "CACHE", "CHART", "KUBE_VERSION", "PREVIOUS_KUBE_VERSIONS", "ROOT",
           "cluster_feature_gates",
           "feature_gates"]
