"""The chart's generated files stay in sync: the README's parameter table (from
values.yaml) and variants.json (from the server's variant modules)."""

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


def test_variants_json_matches_the_variant_modules():
    """The chart's per-variant defaults are generated from the server's variant modules."""
    checked = run(sys.executable, ROOT / "tools" / "chart_variants.py", "--check")
    assert checked.returncode == 0, checked.stderr


def test_the_schema_offers_exactly_the_server_variants():
    from probe_demo import variants

    schema = json.loads((CHART / "values.schema.json").read_text())
    offered = schema["properties"]["server"]["properties"]["variant"]["enum"]
    assert sorted(offered) == sorted(variants.names())
