import itertools
import xml.etree.ElementTree as ET

from probe_demo import timeline
from probe_demo.client.attempt import Attempt

SVG = "{http://www.w3.org/2000/svg}"


def attempt(number, started, status=200, version="OK", error=None):
    return Attempt(number, started, {}, status=status, version=version, error=error)


def test_bars_stack_versions_and_failures_per_second(tmp_path):
    attempts = [attempt(1, 0.1), attempt(2, 0.5), attempt(3, 1.2, version="OK!!"),
                attempt(4, 1.4, status=None, error="connection refused"),
                attempt(5, 2.7, status=503)]
    path = tmp_path / "timeline.svg"
    timeline.write(str(path), timeline.render_svg(attempts, "rollout"), "rollout")
    root = ET.parse(path).getroot()
    bars = {(r.get("data-second"), r.get("data-key")): int(r.get("data-count"))
            for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"}
    assert bars == {("0", "OK"): 2, ("1", "OK!!"): 1, ("1", "failed: connection refused"): 1,
                    ("2", "failed: HTTP 503"): 1}
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend == ["OK: 2", "OK!!: 1", "failed: connection refused: 1", "failed: HTTP 503: 1"]
    fills = {r.get("data-key"): r.get("fill") for r in root.iter(f"{SVG}rect")
             if r.get("class") == "bar"}
    assert fills["failed: connection refused"] in timeline.FAILURE_PALETTE
    assert fills["failed: HTTP 503"] in timeline.FAILURE_PALETTE
    assert fills["failed: connection refused"] != fills["failed: HTTP 503"]
    assert not set(timeline.FAILURE_PALETTE) & {fills["OK"], fills["OK!!"]}


def test_lanes_draw_segments_and_marks_on_the_same_axis(tmp_path):
    states = timeline.LaneState
    lane = timeline.Lane("pod-a", [(0.0, 5.0, states.READY), (5.0, 8.0, states.TERMINATING),
                                   (0.0, 6.0, states.ENDPOINT_READY)],
                         [timeline.Mark(6.5, "stopped listening", labelled=True)])
    svg = timeline.render_svg([attempt(1, 0.1), attempt(2, 9.5)], "t", lanes=[lane],
                              marks=[(5.0, "rollout begins")])
    root = ET.fromstring(svg)
    segments = [(r.get("data-state"), float(r.get("x")), float(r.get("width")))
                for r in root.iter(f"{SVG}rect") if r.get("class") == "segment"]
    assert [s[0] for s in segments] == ["ready", "terminating", "endpoint ready"]
    plot_w = timeline.WIDTH - timeline.LEFT - timeline.RIGHT
    # 10 seconds on the axis: the terminating segment starts half way.
    assert segments[1][1] == timeline.LEFT + plot_w * 0.5
    marks = [m for m in root.iter(f"{SVG}line") if m.get("class") == "mark"]
    assert float(marks[0].get("x1")) == timeline.LEFT + plot_w * 0.65
    assert [d.get("class") for d in root.iter(f"{SVG}line")].count("disruption") == 1


def test_html_wraps_the_svg(tmp_path):
    path = tmp_path / "timeline.html"
    timeline.write(str(path), timeline.render_svg([attempt(1, 0.0)], "x"), "x", "report")
    text = path.read_text()
    assert text.startswith("<!doctype html>")
    assert "<svg" in text and "<pre>report</pre>" in text


def test_long_mark_labels_on_one_lane_never_overlap():
    states = timeline.LaneState
    labels = ["front door stopped routing here", "stopped listening (told 5 to close)",
              "draining"]
    lane = timeline.Lane("pod-a", [(0.0, 10.0, states.READY)],
                         [timeline.Mark(at, label, labelled=True)
                          for at, label in zip((4.0, 5.3, 6.6), labels, strict=True)])
    root = ET.fromstring(timeline.render_svg([attempt(1, 0.1), attempt(2, 9.5)], "t",
                                             lanes=[lane]))
    texts = [(float(t.get("x")), float(t.get("y")), t.text) for t in root.iter(f"{SVG}text")
             if t.get("class") == "mark-label"]
    by_row: dict[float, list] = {}
    for x, y, text in texts:
        by_row.setdefault(y, []).append((x, text))
    for row in by_row.values():
        row.sort()
        for (x1, text1), (x2, _) in itertools.pairwise(row):
            assert x1 + timeline.LABEL_CHAR_PX * len(text1) <= x2, row
