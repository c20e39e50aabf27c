"""A rollout timeline picture: answers per second, stacked by version, failures in red.

Written as SVG (or HTML around the SVG) by hand, so the client needs no plotting library
and the picture can go straight into a README.
"""

from __future__ import annotations

import html
import math
from collections import Counter

from probe_demo.client.load import Attempt

PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
FAILURE_COLOUR = "#d62728"
WIDTH, HEIGHT = 900, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 160, 40, 40


def buckets(attempts: list[Attempt]) -> tuple[list[Counter[str]], list[str]]:
    """Per second of the run: count of successful answers by version, and of failures."""
    seconds = max((int(a.started) for a in attempts), default=-1) + 1
    per_second: list[Counter[str]] = [Counter() for _ in range(seconds)]
    versions: list[str] = []
    for attempt in attempts:
        key = (attempt.version or "?") if attempt.ok else "failed"
        per_second[int(attempt.started)][key] += 1
        if attempt.ok and key not in versions:
            versions.append(key)
    return per_second, versions


def render_svg(attempts: list[Attempt], title: str) -> str:
    per_second, versions = buckets(attempts)
    colours = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(versions)}
    colours["failed"] = FAILURE_COLOUR
    peak = max((sum(c.values()) for c in per_second), default=1) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = plot_w / max(1, len(per_second))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="22" font-size="15">{html.escape(title)}</text>',
    ]
    for second, counts in enumerate(per_second):
        y = TOP + plot_h
        for key in [*versions, "failed"]:
            if not counts[key]:
                continue
            h = plot_h * counts[key] / peak
            y -= h
            parts.append(
                f'<rect class="bar" data-second="{second}" data-key="{html.escape(key)}" '
                f'data-count="{counts[key]}" x="{LEFT + second * bar_w:.2f}" y="{y:.2f}" '
                f'width="{max(bar_w - 0.5, 0.5):.2f}" height="{h:.2f}" fill="{colours[key]}"/>'
            )
    axis_y = TOP + plot_h
    parts.append(f'<line x1="{LEFT}" y1="{axis_y}" x2="{LEFT + plot_w}" y2="{axis_y}" '
                 'stroke="black"/>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{axis_y}" stroke="black"/>')
    parts.append(f'<text x="{LEFT - 8}" y="{TOP + 4}" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{LEFT - 8}" y="{axis_y}" text-anchor="end">0</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
                 f'seconds since start (answers per second)</text>')
    step = max(1, math.ceil(len(per_second) / 10))
    for second in range(0, len(per_second), step):
        parts.append(f'<text x="{LEFT + second * bar_w:.2f}" y="{axis_y + 15}" '
                     f'text-anchor="middle">{second}</text>')
    totals = Counter()
    for counts in per_second:
        totals.update(counts)
    for row, key in enumerate([*versions, "failed"]):
        y = TOP + 10 + row * 20
        parts.append(f'<rect x="{WIDTH - RIGHT + 15}" y="{y - 9}" width="12" height="12" '
                     f'fill="{colours[key]}"/>')
        parts.append(f'<text class="legend" x="{WIDTH - RIGHT + 33}" y="{y + 2}">'
                     f'{html.escape(key)}: {totals[key]}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write(path: str, attempts: list[Attempt], title: str) -> None:
    """Write the timeline as .svg, or as .html with the SVG inside."""
    svg = render_svg(attempts, title)
    if path.endswith((".html", ".htm")):
        content = (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>"
                   f"{html.escape(title)}</title></head><body>\n{svg}\n</body></html>\n")
    elif path.endswith(".svg"):
        content = svg + "\n"
    else:
        raise ValueError(f"--timeline {path!r}: the file name must end in .svg or .html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)
