import xml.etree.ElementTree as ET

from probe_demo.client import timeline
from probe_demo.client.load import Attempt

SVG = "{http://www.w3.org/2000/svg}"


def attempt(number, started, status=200, version="OK", error=None):
    return Attempt(number, started, {}, status=status, version=version, error=error)


def test_bars_stack_versions_and_failures_per_second(tmp_path):
    attempts = [attempt(1, 0.1), attempt(2, 0.5), attempt(3, 1.2, version="OK!!"),
                attempt(4, 1.4, status=None, error="connection refused"),
                attempt(5, 2.7, status=503)]
    path = tmp_path / "timeline.svg"
    timeline.write(str(path), attempts, "rollout")
    root = ET.parse(path).getroot()
    bars = {(r.get("data-second"), r.get("data-key")): int(r.get("data-count"))
            for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"}
    assert bars == {("0", "OK"): 2, ("1", "OK!!"): 1, ("1", "failed"): 1, ("2", "failed"): 1}
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend == ["OK: 2", "OK!!: 1", "failed: 2"]
    failed = [r for r in root.iter(f"{SVG}rect") if r.get("data-key") == "failed"]
    assert {r.get("fill") for r in failed} == {timeline.FAILURE_COLOUR}


def test_html_wraps_the_svg(tmp_path):
    path = tmp_path / "timeline.html"
    timeline.write(str(path), [attempt(1, 0.0)], "x")
    text = path.read_text()
    assert text.startswith("<!doctype html>")
    assert "<svg" in text
