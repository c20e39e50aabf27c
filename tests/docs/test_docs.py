"""The guides' commands still match what exists: presets, make targets, values, CLI flags."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
VALUES = yaml.safe_load((ROOT / "charts" / "probe-demo" / "values.yaml").read_text())
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def commands(path: Path) -> list[str]:
    """Lines typed at a `$ ` prompt inside ```console blocks (with `\\` continuations)."""
    found, blocks = [], re.findall(r"```console\n(.*?)```", path.read_text(), re.S)
    for block in blocks:
        joined = block.replace("\\\n", " ")
        found += [line[2:].strip() for line in joined.splitlines() if line.startswith("$ ")]
    return found


def has_value(dotted: str) -> bool:
    node = VALUES
    for part in dotted.split("."):
        part = re.sub(r"\[\d+\]$", "", part)  # helm's list index: hostnames[0]
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def cli_help(*subcommand: str) -> str:
    return subprocess.run([sys.executable, "-m", "probe_demo", *subcommand, "--help"],
                          capture_output=True, text=True, check=True).stdout


def test_there_is_a_guide_per_seed_scenario():
    names = {path.stem for path in DOCS}
    assert {"unhealthy", "start-failing", "hello-blue-green", "pod-design", "hpa",
            "zero-downtime", "sidecar"} <= names


@pytest.mark.parametrize("guide", DOCS, ids=lambda p: p.name)
def test_guide_commands_refer_to_things_that_exist(guide):
    typed = commands(guide)
    assert typed, f"{guide.name} shows no commands"
    serve_help, client_help = cli_help("serve"), cli_help("client")
    check_help = cli_help("check")
    for command in typed:
        words = shlex.split(command.split("|")[0])
        for index, word in enumerate(words):
            following = words[index + 1] if index + 1 < len(words) else ""
            if word == "-f" and following.endswith(".yaml"):
                assert (ROOT / following).exists(), f"{guide.name}: {following} is missing"
            if word == "--set":
                key = following.split("=", 1)[0]
                assert has_value(key), f"{guide.name}: --set {key} is not a chart value"
            if word == "make":
                assert following in MAKE_TARGETS, f"{guide.name}: no make target {following}"
        if "probe-demo client" in command or " -- client " in command:
            for flag in re.findall(r"\s(--[a-z-]+)", command.split("client", 1)[1]):
                assert flag in client_help, f"{guide.name}: client has no {flag}"
        if "probe-demo check" in command:
            for flag in re.findall(r"\s(--[a-z-]+)", command.split("check", 1)[1]):
                assert flag in check_help, f"{guide.name}: check has no {flag}"
        if "probe-demo serve" in command:
            for flag in re.findall(r"\s(--[a-z-]+)", command.split("serve", 1)[1]):
                assert flag in serve_help, f"{guide.name}: serve has no {flag}"


@pytest.mark.parametrize("guide", DOCS, ids=lambda p: p.name)
def test_guide_shows_real_output(guide):
    text = guide.read_text()
    assert re.search(r"```text\n.+?```", text, re.S), f"{guide.name} shows no captured output"


def test_readme_links_every_guide():
    readme = (ROOT / "README.md").read_text()
    for guide in DOCS:
        assert f"docs/{guide.name}" in readme, f"README.md does not link docs/{guide.name}"


def test_github_workflow_passes_actionlint():
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is not installed: run 'make tools'"
    result = subprocess.run([actionlint, str(ROOT / ".github" / "workflows" / "ci.yaml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_image_tag_in_the_docs_is_the_app_version():
    """Commands in the docs name the image by its tag; the tag is the app's version."""
    from probe_demo import __version__

    texts = {path.name: path.read_text() for path in [*DOCS, ROOT / "README.md"]}
    for name, text in texts.items():
        for tag in re.findall(r"probe-demo:(\d+\.\d+\.\d+)", text):
            assert tag == __version__, f"{name}: probe-demo:{tag}, but the app is {__version__}"
    for tag in re.findall(r"sidecar\.image\.tag=(\d+\.\d+\.\d+)", texts["sidecar.md"]):
        assert tag == __version__, f"sidecar.md: sidecar.image.tag={tag}"


def pictures(path: Path) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", path.read_text())


def test_every_picture_the_docs_show_exists_and_every_picture_is_shown():
    shown = set()
    for doc in [ROOT / "README.md", *DOCS]:
        for picture in pictures(doc):
            path = (doc.parent / picture).resolve()
            assert path.is_file(), f"{doc.name} shows {picture}, which does not exist"
            shown.add(path)
    images = {p.resolve() for p in (ROOT / "docs" / "images").iterdir() if p.name != "icon.svg"}
    assert images - shown == set(), "pictures no doc shows"


# The seed guides, each with a picture of /ui at its key moment (taken by tests/e2e/test_ui.py).
SEED_GUIDES = ["unhealthy", "start-failing", "hello-blue-green", "pod-design", "zero-downtime",
               "sidecar"]


@pytest.mark.parametrize("guide", SEED_GUIDES)
def test_each_seed_guide_shows_the_live_page(guide):
    path = ROOT / "docs" / f"{guide}.md"
    assert any(re.search(r"images/ui-[a-z0-9-]+\.png$", p) for p in pictures(path))
    assert "port-forward" in path.read_text()


def test_the_readme_names_the_clusters_kubernetes_version():
    version = (ROOT / "cluster" / "kubernetes-version").read_text().strip()
    readme = (ROOT / "README.md").read_text()
    assert f"kubernetes/{version}/bin" in readme
    assert f"Kubernetes {version.rsplit('.', 1)[0]} built" in readme
