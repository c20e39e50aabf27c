"""What the load client prints and saves: per-attempt lines, a live line, the summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from probe_demo.client.attempt import Attempt

SEPARATOR = "-" * 120


def attempt_block(attempt: Attempt) -> str:
    """One attempt, laid out like seed 002's client.py."""
    lines = [SEPARATOR, f"attempt: {attempt.number} ({attempt.outcome}) (TAG {attempt.version})"]
    lines.append(f"  local date:  {attempt.local_date}")
    if attempt.remote_date is not None:
        lines.append(f"  remote date: {attempt.remote_date}")
    lines.append(f"  ttlb:        {attempt.ttlb}")
    return "\n".join(lines)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def summarize(attempts: list[Attempt], url: str, rate: float, elapsed: float,
              pool: Any = None, not_sent: int = 0,
              max_lag: float = 0.0) -> dict[str, Any]:
    successes = sum(1 for attempt in attempts if attempt.ok)
    failures = len(attempts) - successes
    latencies = sorted(attempt.ttlb for attempt in attempts if attempt.ok)
    failed = [attempt for attempt in attempts if not attempt.ok]
    total = len(attempts) or 1
    connections = ({"mode": "new", "opened": len(attempts)} if pool is None
                   else pool.summary(failed))
    return {
        "url": url,
        "rate": rate,
        "elapsed_s": round(elapsed, 3),
        "attempts": len(attempts),
        "successes": successes,
        "failures": failures,
        "success_pct": round(100 * successes / total, 2),
        "failure_pct": round(100 * failures / total, 2),
        "versions": dict(Counter(a.version for a in attempts if a.ok and a.version)),
        "failure_kinds": dict(Counter(attempt.outcome for attempt in failed)),
        "connections": connections,
        # Whether the client kept its schedule: attempts it could not send because every
        # worker was busy, and the most one started late.
        "rate_held": not_sent == 0 and max_lag < 1.0,
        "not_sent": not_sent,
        "max_start_lag_s": round(max_lag, 3),
        "first_failure_s": round(failed[0].started, 3) if failed else None,
        "last_failure_s": round(failed[-1].started, 3) if failed else None,
        "ttlb_ms": {
            "p50": round(1000 * _percentile(latencies, 0.50), 2),
            "p99": round(1000 * _percentile(latencies, 0.99), 2),
            "max": round(1000 * (latencies[-1] if latencies else 0.0), 2),
        },
    }


def summary_text(summary: dict[str, Any]) -> str:
    lines = [
        SEPARATOR,
        f"attempts:  {summary['attempts']}",
        f"successes: {summary['successes']} ({summary['success_pct']}%)",
        f"failures:  {summary['failures']} ({summary['failure_pct']}%)",
    ]
    if summary["versions"]:
        seen = ", ".join(f"{name}={count}" for name, count in summary["versions"].items())
        lines.append(f"versions:  {seen}")
    if summary["failure_kinds"]:
        kinds = ", ".join(f"{name}={count}" for name, count in summary["failure_kinds"].items())
        lines.append(f"failed as: {kinds}")
    if not summary["rate_held"]:
        lines.append(f"rate NOT held: {summary['not_sent']} attempts not sent (every worker "
                     f"busy), attempts started up to {summary['max_start_lag_s']}s late; "
                     "lower --rate or --timeout")
    connections = summary["connections"]
    if connections["mode"] == "keep-alive":
        lines.append(f"connections: {connections['opened']} opened (keep-alive, pool "
                     f"{connections['pool']}), {connections['closed_by_server']} closed by the "
                     f"server, {connections['failed_reused']} failed after reuse")
    elif connections["mode"] == "grpc":
        lines.append(f"connections: {connections['opened']} opened (gRPC, one at a time), "
                     f"{connections['failed_reused']} failed after reuse")
    latency = summary["ttlb_ms"]
    lines.append(f"ttlb ms:   p50={latency['p50']} p99={latency['p99']} max={latency['max']}")
    return "\n".join(lines)


class Progress:
    """A single status line, rewritten in place, for a terminal."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.failures = 0

    def line(self, attempt: Attempt) -> str:
        if attempt.ok:
            self.counts[attempt.version or "?"] += 1
        else:
            self.failures += 1
        seen = " ".join(f"{name}={count}" for name, count in self.counts.items())
        return f"\rattempts={attempt.number} failures={self.failures} {seen}"
