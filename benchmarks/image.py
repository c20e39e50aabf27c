"""The image the benchmarks run: the cluster registry's probe-demo at the app's version
(probe_demo.__version__, which a chart test keeps equal to the chart's appVersion)."""

from pathlib import Path

from probe_demo import __version__ as APP_VERSION

ROOT = Path(__file__).resolve().parents[1]
IMAGE = f"localhost:5000/probe-demo:{APP_VERSION}"
