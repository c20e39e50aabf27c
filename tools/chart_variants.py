"""Writes charts/probe-demo/variants.json from the server's variant modules: each variant's
port and drain seconds, which the chart uses when server.port or server.drainSeconds is
left unset. The modules stay the one place these defaults are written.

    python tools/chart_variants.py          # write the file (make chart-docs does)
    python tools/chart_variants.py --check  # exit 1 when the file is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from probe_demo import variants

TARGET = Path(__file__).resolve().parents[1] / "charts" / "probe-demo" / "variants.json"


def render() -> str:
    found = {name: {"port": module.PORT, "drainSeconds": module.DRAIN_SECONDS}
             for name in variants.names() for module in [variants.get(name)]}
    return json.dumps(found, indent=2) + "\n"


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if not TARGET.exists() or TARGET.read_text() != render():
            print(f"{TARGET} is out of date: run 'make chart-docs'", file=sys.stderr)
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    TARGET.write_text(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
