"""Writes what the chart takes from the Python package, which stays the one place it is
written:
- charts/probe-demo/variants.json, from the server's variant modules: each variant's port
  and drain seconds, which the chart uses when server.port or server.drainSeconds is left
  unset;
- charts/probe-demo/disruptions.json, from the check's disruption registry: the rollout
  check Role's rules, each verb with the disruptions that need it;
- in values.schema.json, the feature gates the chart's table names (featureGates, from
  templates/_kubernetes.tpl), and what Python decides: the variants, the server settings' ranges
  (SERVER_VALUES), the size units of stress.memoryAtStart, the signals the server drains
  on (rollout.stopSignal), the paths it answers over h2c (probes.*.http.path with protocol
  HTTP2), the check's pool, rate and connection kinds, the disruptions;
- in values.yaml, the defaults of SERVER_VALUES, which are the server's own.

    python tools/chart_variants.py          # write the file (make chart-docs does)
    python tools/chart_variants.py --check  # exit 1 when the file is out of date
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

from probe_demo.check import registry
from probe_demo.client.load import CONNECTION_MODES, MAX_POOL, MAX_RATE
from probe_demo.parsing import WholeNumber
from probe_demo.server import variants
from probe_demo.server.config import SIZE_UNITS, STOP_SIGNALS, Settings
from probe_demo.server.health import PROBE_ROUTES

CHART = Path(__file__).resolve().parents[1] / "charts" / "probe-demo"
SCHEMA = CHART / "values.schema.json"
VALUES = CHART / "values.yaml"

# Chart values the server reads as its settings (templates/deployment.yaml passes each as
# its PROBE_DEMO_* variable): values key -> Settings field. Their default in values.yaml is
# the setting's default, their range in the schema the setting's range.
SERVER_VALUES = {
    "server.variant": "variant",
    "server.port": "port",
    "server.grpcPort": "grpc_port",
    "server.healthyChecks": "healthy_checks",
    "server.tag": "tag",
    "server.statusText": "status_text",
    "server.drainSeconds": "drain_seconds",
    "server.startupSeconds": "startup_seconds",
    "server.threads": "threads",
    "server.workConcurrency": "work_concurrency",
    "server.logRequests": "log_requests",
    "server.maxWorkMs": "max_work_ms",
    "stress.cpusAtStart": "cpus_at_start",
    "stress.exitAtStart": "exit_at_start",
    "stress.exitAfterSeconds": "exit_after",
}
# The check's connection kinds: the client's, and gRPC health calls (a grpc:// URL).
CHECK_CONNECTIONS = [*CONNECTION_MODES, "grpc"]


def render_variants() -> str:
    found = {name: {"port": module.PORT, "drainSeconds": module.DRAIN_SECONDS}
             for name in variants.names() for module in [variants.get(name)]}
    return json.dumps(found, indent=2) + "\n"


def render_disruptions() -> str:
    return json.dumps({"rules": registry.role_rules()}, indent=2) + "\n"


def _settings() -> dict[str, dataclasses.Field]:
    return {field.name: field for field in dataclasses.fields(Settings)}


def _node(schema: dict, key: str) -> dict:
    node = schema
    for part in key.split("."):
        node = node["properties"][part]
    return node


def _feature_gates() -> list[str]:
    """The gates of the chart's table of newer Kubernetes features, as it writes them."""
    table = (CHART / "templates" / "_kubernetes.tpl").read_text()
    return re.findall(r"(?m)^\w+: \{minor: \d+, .*gate: (\w+)", table)


def render_schema() -> str:
    """values.schema.json with every part Python owns written from Python."""
    schema = json.loads(SCHEMA.read_text())
    settings = _settings()
    for key, name in SERVER_VALUES.items():
        parse = settings[name].metadata["parse"]
        if isinstance(parse, WholeNumber):
            node = _node(schema, key)
            node["minimum"] = parse.low
            if parse.high is None:
                node.pop("maximum", None)
            else:
                node["maximum"] = parse.high
    _node(schema, "server.variant")["enum"] = list(variants.names())
    units = "|".join(unit for unit in SIZE_UNITS if unit)
    for choice in _node(schema, "stress.memoryAtStart")["oneOf"]:
        if "pattern" in choice:
            choice["pattern"] = rf"^[0-9]+(\.[0-9]+)?({units})?$"
    check = _node(schema, "rolloutCheck")
    check["properties"]["disruptions"]["items"]["enum"] = list(registry.NAMES)
    _node(schema, "rollout.stopSignal")["enum"] = [None, *(s.name for s in STOP_SIGNALS)]
    schema["properties"]["featureGates"]["properties"] = {
        gate: {"type": "boolean"} for gate in _feature_gates()}
    # Over h2c the server answers its probe paths only (probe_demo.server.h2c_probes).
    http = schema["definitions"]["probe"]["properties"]["http"]
    http["if"] = {"properties": {"protocol": {"const": "HTTP2"}}, "required": ["protocol"]}
    http["then"] = {"properties": {"path": {"enum": list(PROBE_ROUTES)}}}
    check["properties"]["connections"]["enum"] = CHECK_CONNECTIONS
    check["properties"]["pool"].update(minimum=1, maximum=MAX_POOL)
    check["properties"]["rate"]["maximum"] = MAX_RATE
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_values() -> str:
    """values.yaml with the server settings' defaults; its comments and layout kept."""
    text = VALUES.read_text()
    settings = _settings()
    for key, name in SERVER_VALUES.items():
        block, leaf = key.split(".")
        value = _yaml_scalar(settings[name].default)
        start = re.search(rf"(?m)^{block}:\n", text)
        end = re.search(r"(?m)^\S", text[start.end():])
        stop = start.end() + (end.start() if end else len(text))
        body, count = re.subn(rf"(?m)^(  {leaf}:) [^#\n]*?( +#.*)?$",
                              lambda m, v=value: f"{m.group(1)} {v}{m.group(2) or ''}",
                              text[start.end():stop], count=1)
        if count != 1:
            raise SystemExit(f"values.yaml has no {key}")
        text = text[:start.end()] + body + text[stop:]
    return text


def outputs() -> dict[Path, str]:
    return {CHART / "variants.json": render_variants(),
            CHART / "disruptions.json": render_disruptions(), SCHEMA: render_schema(),
            VALUES: render_values()}


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
