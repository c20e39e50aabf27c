"""Helm 4 takes the chart as Helm 3 does: same objects from every preset, same refusals."""

from __future__ import annotations

import re

import pytest
import yaml
from support import KUBE_VERSION
from support.chart import (
    CHART,
    PRESETS,
    bad_values_cases,
    expected_error,
    helm_template,
    run,
    tool,
    values_args,
)


@pytest.mark.parametrize("values", [None, *PRESETS],
                         ids=lambda p: "defaults" if p is None else p.stem)
def test_helm4_lints_and_renders_the_same_objects_as_helm3(values):
    args = values_args(values)
    lint = run(tool("helm4"), "lint", "--strict", "--kube-version", KUBE_VERSION, CHART, *args)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rendered = {}
    for helm in ("helm", "helm4"):
        result = helm_template(*args, helm=helm)
        assert result.returncode == 0, f"{helm}: {result.stderr}"
        assert "warning" not in result.stderr.lower(), f"{helm}: {result.stderr}"
        rendered[helm] = list(yaml.safe_load_all(result.stdout))
    assert rendered["helm4"] == rendered["helm"]


@pytest.mark.parametrize(("values", "kube_version"), bad_values_cases())
def test_helm4_refuses_bad_values_naming_the_key(values, kube_version):
    rendered = helm_template("-f", str(values), helm="helm4", kube_version=kube_version)
    assert rendered.returncode != 0, f"{values.name} rendered without error"
    assert re.search(expected_error(values), rendered.stderr), rendered.stderr
