"""The image the benchmarks run: the cluster registry's probe-demo at the chart's appVersion."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_VERSION = next(line.split(":", 1)[1].strip().strip('"')
                   for line in (ROOT / "charts/probe-demo/Chart.yaml").read_text().splitlines()
                   if line.startswith("appVersion:"))
IMAGE = f"localhost:5000/probe-demo:{APP_VERSION}"
