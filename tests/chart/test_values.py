"""Every scenario renders valid Kubernetes objects; every bad values file is refused by name."""

from __future__ import annotations

import re

import pytest
from support.chart import (
    CHART,
    CI_VALUES,
    KUBE_VERSION,
    KUBE_VERSIONS,
    PRESETS,
    RENDER_VALUES,
    ROOT,
    bad_values_cases,
    expected_error,
    helm_template,
    run,
    schemas,
    tool,
    values_args,
)


def test_there_is_a_preset_for_every_seed_scenario():
    names = {path.stem for path in PRESETS}
    assert {"unhealthy-restart", "start-failing", "hello-blue", "hello-green", "zero-downtime",
            "naive-rollout", "oomkill", "cpu-throttle", "exec-liveness", "readiness",
            "sidecar-client", "hpa", "probe-types", "memory-request-too-big"} <= names


def test_ci_values_are_presets_or_defaults():
    for path in CI_VALUES:
        if path.is_symlink():
            assert path.resolve().parent == (CHART / "presets").resolve(), path.name
    assert len(CI_VALUES) >= 5


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values", [None, *PRESETS, *CI_VALUES, *RENDER_VALUES],
                         ids=lambda p: "defaults" if p is None else f"{p.parent.name}/{p.name}")
def test_lints_strictly_and_renders_schema_valid_objects(values, kube_version):
    """On the cluster's Kubernetes and on the previous minors, each against its own schemas.
    A preset for a feature newer than a previous minor is refused there, in one line naming
    the version it needs."""
    args = values_args(values, kube_version)
    lint = run(tool("helm"), "lint", "--strict", "--kube-version", kube_version, CHART, *args)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = helm_template(*args, kube_version=kube_version)
    newer = re.search(r"needs Kubernetes 1\.(\d+) or later", rendered.stderr)
    if rendered.returncode and newer and kube_version != KUBE_VERSION:
        assert int(newer.group(1)) > int(kube_version.split(".")[1]), rendered.stderr
        lines = [line for line in rendered.stderr.splitlines() if line.strip()]
        assert len(lines) <= 2, rendered.stderr  # the refusal, and helm's "--debug" hint
        return
    assert rendered.returncode == 0, rendered.stderr
    # A shipped preset renders without a word from Helm (e.g. coalesce.go's "cannot
    # overwrite table with non table", printed on every install and upgrade).
    assert "warning" not in (lint.stderr + rendered.stderr).lower(), lint.stderr + rendered.stderr
    checked = run(tool("kubeconform"), "-strict", "-summary", "-schema-location",
                  schemas(kube_version), stdin=rendered.stdout)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in checked.stdout


def test_kubeconform_catches_a_misspelt_field():
    rendered = helm_template().stdout.replace("containerPort:", "containerPortt:")
    checked = run(tool("kubeconform"), "-strict", "-schema-location", schemas(),
                  stdin=rendered)
    assert checked.returncode != 0
    assert "containerPortt" in checked.stdout


@pytest.mark.parametrize(("values", "kube_version"), bad_values_cases())
def test_bad_values_are_refused_naming_the_key(values, kube_version):
    pattern = expected_error(values)
    rendered = helm_template("-f", str(values), kube_version=kube_version)
    assert rendered.returncode != 0, f"{values.name} rendered without error"
    assert re.search(pattern, rendered.stderr), rendered.stderr
    if pattern.startswith(("at '", "additional properties")) and kube_version == KUBE_VERSION:
        # Schema errors stop `helm lint` too (template `fail`s are only INFO there); the
        # schema is the same on every Kubernetes, so one version shows it.
        lint = run(tool("helm"), "lint", "--strict", "--kube-version", kube_version, CHART,
                   "-f", str(values))
        assert lint.returncode != 0
        assert re.search(pattern, lint.stdout + lint.stderr)


def test_renders_for_the_kubernetes_version_helm_assumes_without_a_cluster():
    # `helm template` with no --kube-version, as users run it: helm's built-in version must
    # satisfy Chart.yaml's kubeVersion (a helm built without its release ldflags says v1.20).
    rendered = helm_template(kube_version=None)
    assert rendered.returncode == 0, rendered.stderr
    assert "kind: Deployment" in rendered.stdout


def test_refuses_a_kubernetes_older_than_chart_kube_version():
    rendered = helm_template(kube_version="1.22.0")
    assert rendered.returncode != 0
    assert "chart requires kubeVersion: >=1.23.0-0" in rendered.stderr


def test_app_version_is_the_packages_version():
    """The image tag defaults to appVersion, and the image carries probe_demo.__version__."""
    init = (ROOT / "services" / "src" / "probe_demo" / "__init__.py").read_text()
    package_version = init.split('__version__ = "', 1)[1].split('"', 1)[0]
    chart = (CHART / "Chart.yaml").read_text()
    assert f'appVersion: "{package_version}"' in chart
