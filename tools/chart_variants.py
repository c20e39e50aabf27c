"""Writes what the chart takes from the Python package, which stays the one place it is
written:
- charts/probe-demo/variants.json, from the server's variant modules: each variant's port
  and drain seconds, which the chart uses when server.port or server.drainSeconds is left
  unset;
- charts/probe-demo/disruptions.json, from the check's disruption registry: the rollout
  check Role's rules, each verb with the disruptions that need it;
- the enum of rolloutCheck.disruptions in values.schema.json.

    python tools/chart_variants.py          # write the file (make chart-docs does)
    python tools/chart_variants.py --check  # exit 1 when the file is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from probe_demo.check import registry
from probe_demo.server import variants

CHART = Path(__file__).resolve().parents[1] / "charts" / "probe-demo"
SCHEMA = CHART / "values.schema.json"


def render_variants() -> str:
    found = {name: {"port": module.PORT, "drainSeconds": module.DRAIN_SECONDS}
             for name in variants.names() for module in [variants.get(name)]}
    return json.dumps(found, indent=2) + "\n"


def render_disruptions() -> str:
    return json.dumps({"rules": registry.role_rules()}, indent=2) + "\n"


def render_schema() -> str:
    """values.schema.json with the disruptions' enum from the registry."""
    schema = json.loads(SCHEMA.read_text())
    disruptions = schema["properties"]["rolloutCheck"]["properties"]["disruptions"]
    disruptions["items"]["enum"] = list(registry.NAMES)
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    return {CHART / "variants.json": render_variants(),
            CHART / "disruptions.json": render_disruptions(), SCHEMA: render_schema()}


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        stale = [path for path, text in outputs().items()
                 if not path.exists() or path.read_text() != text]
        for path in stale:
            print(f"{path} is out of date: run 'make chart-docs'", file=sys.stderr)
        return 1 if stale else 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    for path, text in outputs().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
