"""The chart README's parameter table is generated from values.yaml and must stay in sync."""

from support.chart import CHART, run, tool


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
