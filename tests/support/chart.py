"""Helpers of the chart tests: the chart's tools, its values files, `helm template`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from support import (
    CACHE,
    CHART,
    KUBE_VERSION,
    PREVIOUS_KUBE_VERSIONS,
    ROOT,
    cluster_feature_gates,
)

# Every Kubernetes the chart is checked against: the cluster's and the previous minors.
KUBE_VERSIONS = (KUBE_VERSION, *PREVIOUS_KUBE_VERSIONS)
PRESETS = sorted((CHART / "presets").glob("*.yaml"))
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# Values that render kinds the offline cluster has no CRD for: rendered and validated only.
RENDER_VALUES = sorted((ROOT / "tests" / "chart" / "render-values").glob("*.yaml"))
BAD_VALUES = sorted((ROOT / "tests" / "chart" / "bad-values").glob("*.yaml"))



def schemas(version: str = KUBE_VERSION) -> str:
    """kubeconform's -schema-location for a Kubernetes version (made by `make tools`)."""
    return f"{CACHE}/tools/kubeconform-schemas/v{version}/{{{{ .ResourceKind }}}}" \
           "{{ .KindSuffix }}.json"


def values_args(path: Path | None, kube_version: str = KUBE_VERSION) -> list[str]:
    """helm's arguments for a values file (none for the defaults), and the feature gates our
    cluster turns on at that Kubernetes version, as a user of that cluster says them."""
    if path is None:
        return []
    args = ["-f", str(path)]
    for gate in cluster_feature_gates(kube_version):
        args += ["--set", f"featureGates.{gate}=true"]
    return args


def expected_error(path: Path) -> str:
    """The regex a bad values file's first line (`# expect: <regex>`) says the error matches."""
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <regex>'"
    return first.removeprefix("# expect: ")


def bad_values_kube_versions(path: Path) -> tuple[str, ...]:
    """The Kubernetes versions a bad values file is refused on: every minor we test, or the
    one its second line names for a refusal only an older version makes: `# on: previous`
    (the oldest previous minor we test) or `# on: v1.28.0`."""
    lines = path.read_text().splitlines()
    if not (lines[1:2] and lines[1].startswith("# on: ")):
        return KUBE_VERSIONS
    named = lines[1].removeprefix("# on: ").strip()
    return (PREVIOUS_KUBE_VERSIONS[-1] if named == "previous" else named.removeprefix("v"),)


def bad_values_cases() -> list:
    """Each bad values file on each Kubernetes it is refused on, as pytest parameters."""
    return [pytest.param(path, version, id=f"{path.stem}-{version}")
            for path in BAD_VALUES for version in bad_values_kube_versions(path)]


def tool(name: str) -> str:
    path = shutil.which(name) or str(CACHE / "tools" / "bin" / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed: run 'make tools'")
    return path


def run(*command: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          input=stdin, timeout=120)


def helm_template(*args: str | Path, helm: str = "helm",
                  kube_version: str | None = KUBE_VERSION) -> subprocess.CompletedProcess:
    """`helm template` of the chart; kube_version None leaves helm's own default."""
    version_args = ["--kube-version", kube_version] if kube_version else []
    return run(tool(helm), "template", "probe-demo", CHART, *version_args, *args)
