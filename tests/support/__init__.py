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
# The previous minor, which the chart tests check too (cluster/kubernetes-version-previous).
PREVIOUS_KUBE_VERSION = (ROOT / "cluster" / "kubernetes-version-previous").read_text().strip(
).removeprefix("v")

__all__ = ["APP_VERSION", "CACHE", "CHART", "KUBE_VERSION", "PREVIOUS_KUBE_VERSION", "ROOT"]
