"""The chart's generated files stay in sync: the README's parameter table (from
values.yaml) and variants.json (from the server's variant modules)."""

import dataclasses
import json
import sys

from support.chart import CHART, ROOT, run, tool


def test_chart_readme_matches_values_yaml():
    generated = run(tool("helm-docs"), "--dry-run", "--chart-search-root", CHART.parent,
                    "--template-files", "README.md.gotmpl")
    assert generated.returncode == 0, generated.stderr
    committed = (CHART / "README.md").read_text()
    assert generated.stdout.strip() == committed.strip(), (
        "charts/probe-demo/README.md is out of date: run 'make chart-docs'"
    )


def test_every_value_is_documented():
    readme = (CHART / "README.md").read_text()
    for key in ("server.variant", "probes.liveness.type", "probes.liveness.http.httpHeaders",
                "autoscaling.behavior", "sidecar.enabled", "rollout.preStop.action",
                "podDisruptionBudget.enabled", "tests.image.repository"):
        assert f"| {key} |" in readme, key


def test_what_the_chart_takes_from_python_is_generated_and_current():
    """variants.json (the variants' defaults), disruptions.json (the check Role's rules),
    the schema's parts Python owns and the server settings' defaults in values.yaml are
    generated from the package."""
    checked = run(sys.executable, ROOT / "tools" / "chart_variants.py", "--check")
    assert checked.returncode == 0, checked.stderr


def test_the_schema_refuses_what_the_server_would_refuse():
    """The generated ranges bite: one past each server setting's bound, and a variant the
    server does not have, are refused by helm, naming the key."""
    from chart_variants import SERVER_VALUES
    from support.chart import helm_template

    from probe_demo.parsing import WholeNumber
    from probe_demo.server.config import Settings

    parses = {field.name: field.metadata["parse"] for field in dataclasses.fields(Settings)}
    outside = {"server.variant": "nope"}
    for key, name in SERVER_VALUES.items():
        if isinstance(parses[name], WholeNumber):
            bound = parses[name]
            outside[key] = bound.low - 1 if bound.high is None else bound.high + 1
    assert len(outside) >= 8
    for key, value in outside.items():
        rendered = helm_template("--set-json", f"{key}={json.dumps(value)}")
        assert rendered.returncode != 0, key
        assert "/" + key.replace(".", "/") in rendered.stderr, rendered.stderr


def test_the_rollout_check_role_grants_what_each_disruption_asks_for():
    """Rendered for each disruption alone, the Role (and the ClusterRole, for nodes) allows
    every permission the check asks for before it sends load (registry.needs), and no verb
    another disruption needs; no ClusterRole at all unless a disruption needs one."""
    import yaml
    from support.chart import helm_template

    from probe_demo.check import registry

    for name in registry.NAMES:
        rendered = helm_template("--set", "rolloutCheck.enabled=true",
                                 "--set", f"rolloutCheck.disruptions={{{name}}}",
                                 "--show-only", "templates/tests/rollout-check.yaml")
        assert rendered.returncode == 0, rendered.stderr
        roles = [doc for doc in yaml.safe_load_all(rendered.stdout)
                 if doc["kind"] in ("Role", "ClusterRole")]
        allowed = {(group, resource, verb, bool(rule.get("resourceNames")),
                    role["kind"] == "ClusterRole")
                   for role in roles for rule in role["rules"] for group in rule["apiGroups"]
                   for resource in rule["resources"] for verb in rule["verbs"]}
        wanted = {(p.group, f"{p.resource}/{p.subresource}" if p.subresource else p.resource,
                   p.verb, p.named, p.cluster_scoped) for p in registry.needs([name])}
        assert allowed == wanted, (name, allowed ^ wanted)
