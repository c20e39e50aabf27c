"""Turn CustomResourceDefinitions into standalone, strict JSON schemas for kubeconform, beside
the built-in kinds' (k8s_json_schemas.py).

Usage: python3 crd_json_schemas.py OUT_DIR CRD_YAML...

One file per served version of each CRD, named as kubeconform looks them up by default:
`{kind}-{group}-{version}.json`, lower case, group cut at its first dot (HTTPRoute of
gateway.networking.k8s.io v1 is `httproute-gateway-v1.json`). Every object that lists its
properties refuses others, unless it keeps unknown fields on purpose
(x-kubernetes-preserve-unknown-fields), so a misspelt field fails validation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items() if key != "description"}
    if ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def main(out_dir: str, *crd_files: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for path in crd_files:
        for crd in yaml.safe_load_all(Path(path).read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            kind, group = spec["names"]["kind"].lower(), spec["group"].split(".")[0]
            for version in spec["versions"]:
                if not version.get("served"):
                    continue
                schema = strict(version["schema"]["openAPIV3Schema"])
                name = out / f"{kind}-{group}-{version['name']}.json"
                name.write_text(json.dumps(schema, indent=1) + "\n")
                print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
