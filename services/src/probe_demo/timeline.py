"""A timeline picture: answers per second stacked by version, failures by kind; below it,
optionally, one lane per pod (its lifecycle, its endpoint's conditions, the server's own
events) on the same time axis, and vertical marks for what the check did.

Written as SVG (or HTML around the SVG) by hand, so the client needs no plotting library
and the picture can go straight into a README.
"""

from __future__ import annotations

import enum
import html
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol


class Attempt(Protocol):
    """What the picture needs of one request (probe_demo.client.attempt.Attempt has it):
    when it started, whether it was answered, by which version, or how it failed."""

    started: float
    ok: bool
    version: str | None
    outcome: str


PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#17becf", "#8c564b", "#bcbd22", "#7f7f7f"]
FAILURE_PALETTE = ["#d62728", "#ff7f0e", "#8c0d0d", "#e377c2", "#f7b6d2", "#ffbb78"]


class LaneState(enum.Enum):
    """What a lane shows: the pod's lifecycle on its upper row, its endpoint's conditions on
    the lower; each with its colour and its words for the legend."""

    STARTING = ("starting", "#c7c7c7", "pod")
    # PodReadyToStartContainers: sandbox and network ready, the containers starting.
    SANDBOX_READY = ("sandbox and network ready", "#9ecae1", "pod")
    READY = ("ready", "#2ca02c", "pod")
    UNREADY = ("unready", "#ffbb78", "pod")
    TERMINATING = ("terminating", "#ff7f0e", "pod")
    ENDPOINT_READY = ("endpoint ready", "#98df8a", "endpoint")
    ENDPOINT_SERVING = ("endpoint serving (terminating)", "#fdd835", "endpoint")
    ENDPOINT_NOT_SERVING = ("endpoint not serving", "#e0e0e0", "endpoint")
    LISTED_SERVER_GONE = ("endpoint listed, server gone", "#d62728", "endpoint")

    def __init__(self, label: str, colour: str, row: str) -> None:
        self.label, self.colour, self.row = label, colour, row


WIDTH = 1000
LEFT, RIGHT, TOP = 150, 230, 40
PLOT_H, LANE_H, AXIS_H = 200, 46, 40
LABEL_GAP = 75  # px a label needs at least before the next one may share its row
LABEL_CHAR_PX = 5.2  # px a character of a mark's label takes at its font size (9)
LEGEND_CHARS = 30  # characters a legend line holds in the RIGHT margin


class Mark(NamedTuple):
    """A point event on a lane, such as the server's own: a tick whose label shows on
    hover, and is also written beside it when `labelled` (and there is room)."""

    at: float  # seconds
    label: str
    labelled: bool = False


@dataclass
class Lane:
    """One pod: `segments` (start s, end s, LaneState) for the lifecycle row and the
    endpoint row; `marks` for point events; `where`, under the label: the pod's node."""

    label: str
    segments: list[tuple[float, float, LaneState]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    where: str = ""


def failure_key(attempt: Attempt) -> str:
    return f"failed: {attempt.outcome}"


def buckets(attempts: list[Attempt], version: Callable[[Attempt], str] | None = None
            ) -> tuple[list[Counter[str]], list[str], list[str]]:
    """Per second of the run: answers by version and failures by kind; the versions and
    the failure kinds in order of first appearance."""
    version = version or (lambda attempt: attempt.version or "?")
    seconds = max((int(a.started) for a in attempts), default=-1) + 1
    per_second: list[Counter[str]] = [Counter() for _ in range(seconds)]
    versions: list[str] = []
    kinds: list[str] = []
    for attempt in attempts:
        key = version(attempt) if attempt.ok else failure_key(attempt)
        per_second[int(attempt.started)][key] += 1
        order = versions if attempt.ok else kinds
        if key not in order:
            order.append(key)
    return per_second, versions, kinds


def render_svg(attempts: list[Attempt], title: str, lanes: list[Lane] | None = None,
               marks: list[tuple[float, str]] | None = None,
               version: Callable[[Attempt], str] | None = None, span: float = 0.0) -> str:
    lanes, marks = lanes or [], marks or []
    per_second, versions, kinds = buckets(attempts, version)
    seconds = max(len(per_second), math.ceil(span), 1)
    colours = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(versions)}
    colours.update({k: FAILURE_PALETTE[i % len(FAILURE_PALETTE)] for i, k in enumerate(kinds)})
    keys = [*versions, *kinds]
    peak = max((sum(c.values()) for c in per_second), default=1) or 1
    plot_w = WIDTH - LEFT - RIGHT
    lanes_h = len(lanes) * LANE_H + (20 if lanes else 0)
    height = TOP + PLOT_H + lanes_h + AXIS_H
    totals: Counter[str] = Counter()
    for counts in per_second:
        totals.update(counts)
    legend = [entry for key in keys
              for entry in _wrapped(f"{key}: {totals[key]}", colours[key])]
    if lanes:
        legend.append(("", "pod lanes:"))
        legend += [(state.colour, state.label) for state in LaneState]
    legend_h = TOP + 20 * len(legend) + 10
    height = max(height, legend_h)

    def x(second: float) -> float:
        return LEFT + plot_w * min(max(second, 0.0), seconds) / seconds

    bar_w = plot_w / seconds
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15">{html.escape(title)}</text>',
    ]
    for second, counts in enumerate(per_second):
        y = TOP + PLOT_H
        for key in keys:
            if not counts[key]:
                continue
            h = PLOT_H * counts[key] / peak
            y -= h
            parts.append(
                f'<rect class="bar" data-second="{second}" data-key="{html.escape(key)}" '
                f'data-count="{counts[key]}" x="{x(second):.2f}" y="{y:.2f}" '
                f'width="{max(bar_w - 0.5, 0.5):.2f}" height="{h:.2f}" fill="{colours[key]}"/>'
            )
    axis_y = TOP + PLOT_H
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{LEFT + plot_w}" y2="{axis_y}" '
                 'stroke="black"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{axis_y}" stroke="black"/>')
    parts.append(f'<text x="{LEFT - 8}" y="{TOP + 4}" text-anchor="end">{peak}/s</text>')
    parts.append(f'<text x="{LEFT - 8}" y="{axis_y}" text-anchor="end">0</text>')

    for row, lane in enumerate(lanes):
        top = axis_y + 20 + row * LANE_H
        parts.append(f'<text class="lane" x="{LEFT - 8}" y="{top + 14}" text-anchor="end">'
                     f'{html.escape(lane.label)}</text>')
        if lane.where:
            parts.append(f'<text class="lane-where" x="{LEFT - 8}" y="{top + 27}" '
                         f'text-anchor="end" font-size="10" fill="#555">'
                         f'{html.escape(lane.where)}</text>')
        for begin, end, state in lane.segments:
            y, h = (top + 14, 7) if state.row == "endpoint" else (top + 2, 11)
            parts.append(
                f'<rect class="segment" data-state="{html.escape(state.label)}" '
                f'x="{x(begin):.2f}" y="{y}" width="{max(x(end) - x(begin), 1):.2f}" '
                f'height="{h}" fill="{state.colour}"><title>{html.escape(lane.label)}: '
                f'{html.escape(state.label)} {begin:.1f}-{end:.1f}s</title></rect>')
        row_ends = [-1000.0, -1000.0]  # where each label row is free again
        for at, label, labelled in sorted(lane.marks):
            parts.append(
                f'<line class="mark" x1="{x(at):.2f}" y1="{top}" x2="{x(at):.2f}" '
                f'y2="{top + 22}" stroke="black" stroke-width="1.5"><title>'
                f'{html.escape(label)} at {at:.2f}s</title></line>')
            if not labelled:
                continue
            # Labels close together go on the next free row; with none free, the tick
            # keeps its label as a tooltip only.
            row = next((r for r, end in enumerate(row_ends) if end <= x(at)), None)
            if row is None:
                continue
            row_ends[row] = x(at) + max(LABEL_GAP, LABEL_CHAR_PX * len(label) + 6)
            parts.append(f'<text class="mark-label" x="{x(at) + 2:.2f}" '
                         f'y="{top + 29 + 9 * row}" font-size="9">{html.escape(label)}</text>')
    bottom = axis_y + lanes_h
    for at, label in marks:
        parts.append(f'<line class="disruption" x1="{x(at):.2f}" y1="{TOP}" x2="{x(at):.2f}" '
                     f'y2="{bottom}" stroke="#555" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x(at) + 3:.2f}" y="{TOP + 12}" font-size="11" '
                     f'fill="#333">{html.escape(label)}</text>')
    step = next((n for n in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300) if seconds / n <= 12),
                600)
    for second in range(0, seconds + 1, step):
        parts.append(f'<text x="{x(second):.2f}" y="{bottom + 15}" '
                     f'text-anchor="middle">{second}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{bottom + 32}" text-anchor="middle">'
                 'seconds since the load began (answers per second)</text>')

    for row, (colour, text) in enumerate(legend):
        y = TOP + 10 + row * 20
        if colour:
            parts.append(f'<rect x="{WIDTH - RIGHT + 15}" y="{y - 9}" width="12" height="12" '
                         f'fill="{colour}"/>')
        parts.append(f'<text class="legend" x="{WIDTH - RIGHT + 33}" y="{y + 2}">'
                     f'{html.escape(text)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _wrapped(text: str, colour: str) -> list[tuple[str, str]]:
    """A legend entry in lines that fit the legend's width; only the first has the swatch."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= LEGEND_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return [(colour if i == 0 else "", line) for i, line in enumerate(lines)]


def html_page(title: str, svg: str, text: str = "") -> str:
    """A self-contained page: the picture, then (for a check) the report as text."""
    report = f"<pre>{html.escape(text)}</pre>\n" if text else ""
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head><body>\n{svg}\n{report}</body></html>\n")


def write(path: str, svg: str, title: str, text: str = "") -> None:
    """Write the timeline as .svg, or as .html with the SVG (and the text report) inside."""
    if path.endswith((".html", ".htm")):
        content = html_page(title, svg, text)
    elif path.endswith(".svg"):
        content = svg + "\n"
    else:
        raise ValueError(f"{path!r}: the file name must end in .svg or .html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)
