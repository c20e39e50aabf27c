"""Turn the Kubernetes OpenAPI v2 spec into standalone, strict JSON schemas for kubeconform.

Usage: python3 k8s_json_schemas.py SWAGGER_JSON OUT_DIR

One file per kind, named as kubeconform looks them up by default:
`{kind}-{group}-{version}.json` (core group: `{kind}-{version}.json`), lower case, group cut at
its first dot. Each file carries only the definitions it reaches, references stay local
(`#/definitions/...`), and every object that lists its properties refuses others (strict), so
a misspelt field in a rendered manifest fails validation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
SPECIAL = {
    INT_OR_STRING: {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    QUANTITY: {"oneOf": [{"type": "string"}, {"type": "number"}]},
}


def convert(node: Any) -> Any:
    """Copy a schema node: local refs, strict objects, special string formats."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref":
            out[key] = "#/definitions/" + value.rsplit("/", 1)[-1]
        elif key in ("description", "x-kubernetes-group-version-kind"):
            continue
        elif key == "properties":
            out[key] = {name: convert(prop) for name, prop in value.items()}
        else:
            out[key] = convert(value)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def reachable(name: str, definitions: dict[str, Any]) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(references(definitions[current]))
    return seen


def file_name(gvk: dict[str, str]) -> str:
    group = gvk["group"].split(".")[0]
    suffix = f"-{group}-{gvk['version']}" if group else f"-{gvk['version']}"
    return f"{gvk['kind'].lower()}{suffix}.json"


def main(swagger_path: str, out_dir: str) -> int:
    definitions = json.loads(Path(swagger_path).read_text())["definitions"]
    converted = {name: SPECIAL.get(name) or convert(schema) for name, schema in definitions.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, schema in definitions.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            needed = reachable(name, definitions) - {name}
            document = dict(converted[name])
            document["definitions"] = {dep: converted[dep] for dep in sorted(needed)}
            (out / file_name(gvk)).write_text(json.dumps(document))
            written += 1
    print(f"{written} schemas written to {out}")
    return 0 if written else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
