"""What a check prints and draws: the summary per disruption, a per-second text timeline,
why the lost requests were lost, and the lanes of the timeline picture."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from probe_demo import timeline
from probe_demo.check.events import Event, EventKind
from probe_demo.check.run import CheckResult
from probe_demo.client.attempt import Attempt
from probe_demo.protocol import ServerEvent
from probe_demo.timeline import LaneState

# Linux conntrack keeps an unanswered connection (SYN_SENT) 120 s by default
# (net.netfilter.nf_conntrack_tcp_timeout_syn_sent); a new try from the same port renews it.
SYN_SENT_SECONDS = 120
STALE_PORT_SECONDS = SYN_SENT_SECONDS + 30
# What a SYN sent to a gone pod ends in; a stale entry can explain only these.
STALE_PORT_ERRORS = ("timeout", "no route to host")
# Failures where nothing reached the network: the address is wrong from where the load runs.
NOT_SENT_ERRORS = ("invalid argument", "network is unreachable", "name not resolved")


def short(pod: str) -> str:
    """demo-probe-demo-7c9f8d6b5-x2kq9 -> 7c9f8d6b5-x2kq9: the ReplicaSet hash and the pod's
    own suffix say everything the lanes need."""
    parts = pod.rsplit("-", 2)
    return "-".join(parts[-2:]) if len(parts) == 3 else pod


def answer_version(result: CheckResult):
    """An answer's version: its body's (OK, OK!!) and the answering pod's ReplicaSet."""

    def version(attempt: Attempt) -> str:
        template = result.template_of.get(attempt.pod or "", "")
        text = attempt.version or "?"
        return f"{text} (rs {template})" if template else text

    return version


def at(result: CheckResult, event: Event) -> float:
    return event.at - result.began_at


# The pod's lifecycle as each event leaves it (None: no lifecycle change).
_LIFECYCLE = {EventKind.SANDBOX_READY: LaneState.SANDBOX_READY,
              EventKind.READY: LaneState.READY, EventKind.UNREADY: LaneState.UNREADY,
              EventKind.TERMINATING: LaneState.TERMINATING}
# Server events whose label is written on the lane; the others are ticks told on hover.
LABELLED_SERVER_EVENTS = (ServerEvent.STATE_CHANGE, ServerEvent.STOP_LISTENING)
LISTED_FOR_TRAFFIC = (LaneState.ENDPOINT_READY, LaneState.ENDPOINT_SERVING)


def lanes(result: CheckResult) -> list[timeline.Lane]:
    by_pod: dict[str, list[Event]] = defaultdict(list)
    for event in result.events:
        if event.pod in result.template_of:  # the Deployment's pods, not the test pod
            by_pod[event.pod].append(event)
    end = result.elapsed
    out = []
    # Across several nodes, each lane says where its pod ran (a drain moves them).
    several_nodes = len({result.node_of.get(pod) for pod in by_pod} - {None}) > 1
    for pod, events in sorted(by_pod.items(), key=lambda item: item[1][0].at):
        lane = timeline.Lane(short(pod), where=result.node_of.get(pod, "") if several_nodes
                             else "")
        state: LaneState | None = LaneState.STARTING
        since = 0.0
        endpoint: LaneState | None = None
        endpoint_since = 0.0
        for event in events:
            t = max(0.0, at(result, event))
            new_state = state
            if event.kind is EventKind.CREATED:
                since = t
            elif event.kind is EventKind.UNREADY and state is LaneState.TERMINATING:
                pass  # a terminating pod stays terminating
            elif event.kind is EventKind.SANDBOX_READY and state is not LaneState.STARTING:
                pass  # seen late (the pod was listed ready already): no step back
            elif event.kind in _LIFECYCLE:
                new_state = _LIFECYCLE[event.kind]
            elif event.kind in (EventKind.EXITED, EventKind.DELETED):
                new_state = None
                if at(result, event) >= 0:
                    lane.marks.append(timeline.Mark(t, _exit_label(event), labelled=True))
            elif event.kind is EventKind.SERVER:
                if at(result, event) >= 0:  # not what happened before the load began
                    lane.marks.append(timeline.Mark(t, event.words(),
                                                    event.server in LABELLED_SERVER_EVENTS))
            elif event.kind is EventKind.FRONT_DOOR:
                if at(result, event) >= 0:  # its stop is labelled, its start a tick
                    lane.marks.append(timeline.Mark(t, event.words(), not event.routed))
            elif event.kind is EventKind.ENDPOINT:
                new_endpoint = _endpoint_lane(event)
                if new_endpoint != endpoint:
                    if endpoint:
                        lane.segments.append((endpoint_since, t, endpoint))
                    endpoint, endpoint_since = new_endpoint, t
            if new_state != state:
                if state:
                    lane.segments.append((since, t, state))
                state, since = new_state, t
        if state:
            lane.segments.append((since, end, state))
        if endpoint:
            lane.segments.append((endpoint_since, end, endpoint))
        gone = _server_gone(result, events)
        if gone is not None:
            lane.segments = _mark_listed_after(lane.segments, gone)
        lane.segments = [seg for seg in lane.segments if seg[1] > seg[0]]
        out.append(lane)
    return out


def _exit_label(event: Event) -> str:
    """exit 0 (a clean stop), exit 137 OOMKilled, deleted."""
    if event.kind is not EventKind.EXITED:
        return event.kind.value
    return event.detail.removesuffix(" Completed")


def _takes_no_connections(event: Event) -> bool:
    """Whether, from this event on, the pod's server takes no connections: it stopped
    listening, stopped, or its container exited or was deleted."""
    if event.kind is EventKind.SERVER:
        return event.server in (ServerEvent.STOP_LISTENING, ServerEvent.STOPPED)
    return event.kind in (EventKind.EXITED, EventKind.DELETED)


def _server_gone(result: CheckResult, events: list[Event]) -> float | None:
    """When the pod's server stopped taking connections (the first such event)."""
    times = [max(0.0, at(result, e)) for e in events if _takes_no_connections(e)]
    return min(times) if times else None


def _mark_listed_after(segments: list[tuple[float, float, LaneState]], gone: float
                       ) -> list[tuple[float, float, LaneState]]:
    """The part of an endpoint's ready or serving time after its server was gone: the time
    the Service still sent it connections that nobody would answer."""
    out = []
    for begin, end, state in segments:
        if state in LISTED_FOR_TRAFFIC and end > gone:
            if begin < gone:
                out.append((begin, gone, state))
            out.append((max(begin, gone), end, LaneState.LISTED_SERVER_GONE))
        else:
            out.append((begin, end, state))
    return out


def _endpoint_lane(event: Event) -> LaneState | None:
    """The endpoint row's state after an ENDPOINT event (None: removed)."""
    conditions = event.endpoint
    if conditions is None:
        return None
    if conditions.ready:
        return LaneState.ENDPOINT_READY
    if conditions.serving:
        return LaneState.ENDPOINT_SERVING
    return LaneState.ENDPOINT_NOT_SERVING


def marks(result: CheckResult) -> list[tuple[float, str]]:
    return [(max(0.0, at(result, event)), f"{event.detail} begins") for event in result.events
            if event.kind is EventKind.DISRUPTION_BEGINS]


def svg(result: CheckResult, title: str) -> str:
    return timeline.render_svg(result.attempts, title, lanes(result), marks(result),
                               answer_version(result), span=result.elapsed)


def explain(result: CheckResult) -> list[str]:
    """Why the failed requests failed. A failure from a source port that had failed before
    is a stale connection-tracking entry's doing, whenever it happens; the others come in
    bursts (no gap over 2 s), each with what the pods and endpoints did at that moment."""
    failed = [attempt for attempt in result.attempts if not attempt.ok]
    if not failed:
        return []
    fresh: list[Attempt] = []
    stale: list[Attempt] = []
    # Through a front door the load's connections end at the front door, not at the pods:
    # its own connections to the pods are the front door's to explain (the lanes show when
    # it routed where), and a source port of ours says nothing about them.
    direct = not (result.options.host or result.options.front_door_api)
    first_failed: dict[int, float] = {}  # source port -> its first failed request
    last_failed: dict[int, float] = {}  # source port -> its latest failed request
    for attempt in failed:
        port = attempt.local_port
        # A kept-alive connection keeps its port by design; only a new connection from a
        # port that failed before points at a stale tracking entry.
        stale_port = (direct and not attempt.reused and attempt.error in STALE_PORT_ERRORS
                      and port in last_failed
                      and attempt.started - last_failed[port] < STALE_PORT_SECONDS)
        (stale if stale_port else fresh).append(attempt)
        if port is not None and not attempt.reused and attempt.error not in NOT_SENT_ERRORS:
            first_failed.setdefault(port, attempt.started)
            last_failed[port] = attempt.started
    told: list[tuple[float, list[str]]] = []
    for burst in _bursts(fresh):
        begin, end = burst[0].started, burst[-1].started
        pinned = _pinned_connections(result, burst) if direct else []
        reasons = (_not_sent(burst) + pinned
                   # With the front door's own view, its routes say more than the endpoints.
                   + ([] if result.options.front_door_api else
                      _listed_while_gone(result, begin, end, "the Service" if direct
                                         else "the front door, which follows them,"))
                   + _routed_while_gone(result, begin, end) + _none_ready(result, begin, end))
        if not reasons:
            reasons = ["no endpoint was listed for a stopped server at that moment and no "
                       "source port was reused; see the timeline" if direct else
                       "the front door answered or timed out with no endpoint listed and no "
                       "route to a stopped server the check saw; see the timeline"]
        told.append((begin, [_headline(burst, 1), *(f"    {r}" for r in reasons)]))
    if stale:
        first = min(first_failed[a.local_port] for a in stale)
        told.append((stale[0].started, [
            _headline(stale, len(_bursts(stale))),
            f"    each reused the source port of a request that had failed before (the first "
            f"at {first:.1f}s). The node's connection tracking still held that port's "
            f"unanswered connection to a gone pod (SYN_SENT, kept {SYN_SENT_SECONDS} s and "
            "renewed by each new try), so the new connection went to the gone pod again "
            "instead of a live endpoint"]))
    return [line for _, lines in sorted(told, key=lambda item: item[0]) for line in lines]


def _not_sent(burst: list[Attempt]) -> list[str]:
    """Failures the client's own system refused to send: no pod was involved."""
    kinds = Counter(a.error for a in burst if a.error in NOT_SENT_ERRORS)
    if not kinds:
        return []
    shown = ", ".join(kinds)
    return [f"{sum(kinds.values())} never left this machine ({shown}): the load's address "
            "is not reachable from where the check runs (a cluster IP outside the cluster?); "
            "give --url an address the check can reach"]


def _pinned_connections(result: CheckResult, burst: list[Attempt]) -> list[str]:
    """Failures on connections that had already served answers: such a connection stays
    with the pod it was opened to, whatever the endpoints say since, so it fails when that
    pod's server stops with the request in flight or the connection still open."""
    by_pod = Counter(attempt.connection_pod or "?" for attempt in burst if attempt.reused)
    reasons = []
    for pod, count in by_pod.most_common():
        gone = _server_gone(result, [e for e in result.events if e.pod == pod])
        when = f", whose server stopped taking connections at {gone:.1f}s" \
            if gone is not None else ""
        reasons.append(f"{count} on keep-alive connections to pod {short(pod)}{when}: a "
                       "reused connection stays with the pod it was opened to after the "
                       "pod leaves the endpoints, so only the server closing it during the "
                       "drain (Connection: close) moves the client to another pod")
    return reasons


def _bursts(attempts: list[Attempt]) -> list[list[Attempt]]:
    bursts: list[list[Attempt]] = []
    for attempt in attempts:
        if bursts and attempt.started - bursts[-1][-1].started <= 2:
            bursts[-1].append(attempt)
        else:
            bursts.append([attempt])
    return bursts


def _headline(attempts: list[Attempt], bursts: int) -> str:
    kinds = Counter(attempt.outcome for attempt in attempts)
    shown = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
    spread = f" in {bursts} bursts" if bursts > 1 else ""
    return (f"{attempts[0].started:.1f}-{attempts[-1].started:.1f}s: {len(attempts)} "
            f"failed{spread} ({shown})")


def _none_ready(result: CheckResult, begin: float, end: float) -> list[str]:
    """Whether, during [begin, end], the Service had no ready endpoint at all."""
    ready: dict[str, bool] = {}
    empty: list[list[float]] = []  # [from, to] stretches with no ready endpoint
    for event in result.events:
        if event.kind is not EventKind.ENDPOINT or event.pod not in result.template_of:
            continue
        t = at(result, event)
        ready[event.pod] = _endpoint_lane(event) is LaneState.ENDPOINT_READY
        if not any(ready.values()) and (not empty or empty[-1][1] != float("inf")):
            empty.append([t, float("inf")])
        elif any(ready.values()) and empty and empty[-1][1] == float("inf"):
            empty[-1][1] = t
    for since, until in empty:
        if since <= end and until >= begin:
            shown = "on" if until == float("inf") else f"to {until:.1f}s"
            return [f"the Service had no ready endpoint from {since:.1f}s {shown}: every pod "
                    "was gone or not ready yet"]
    return []


def _sent_to_while_gone(result: CheckResult, begin: float, end: float,
                        sends: Callable[[Event], bool | None],
                        slack: float = 0.0) -> list[tuple[str, float, float]]:
    """(pod, when its server stopped, until when it was still sent requests) for pods that
    were sent requests after their server had stopped listening or their container had
    exited, during [begin - 1, end + slack]. `sends(event)`: True when the event starts
    requests going to its pod, False when it stops them, None when it says nothing."""
    stopped: dict[str, float] = {}
    sent_since: dict[str, float] = {}
    sent_until: dict[str, float] = {}
    for event in result.events:
        t = at(result, event)
        if _takes_no_connections(event):
            stopped.setdefault(event.pod, t)
            continue
        said = sends(event)
        if said is True:
            sent_since.setdefault(event.pod, t)
            sent_until.pop(event.pod, None)
        elif said is False and event.pod in sent_since and event.pod not in sent_until:
            sent_until[event.pod] = t
    found = []
    for pod, gone in stopped.items():
        until = sent_until.get(pod, float("inf"))
        if pod in sent_since and gone < until and gone <= end + slack and until >= begin - 1:
            found.append((pod, gone, until))
    return found


def _routed_while_gone(result: CheckResult, begin: float, end: float) -> list[str]:
    """Pods the front door still routed to after their server had stopped (from
    --front-door-api)."""
    routed = _sent_to_while_gone(result, begin, end, lambda event: event.routed
                                 if event.kind is EventKind.FRONT_DOOR else None)
    return [f"pod {short(pod)}: its server stopped at {gone:.1f}s but the front door routed "
            f"to it {'to the end' if until == float('inf') else f'until {until:.1f}s'}: it "
            "applies endpoint changes on its own schedule, so a pod must keep serving "
            "longer than that lag (rollout.preStop)" for pod, gone, until in routed]


def _listed_while_gone(result: CheckResult, begin: float, end: float,
                       sender: str = "the Service") -> list[str]:
    """Pods whose endpoint was listed as ready or serving after their server had stopped.
    Half a second of slack: the server's log times and the client's clock differ a little,
    and a connection refused as the socket closes precedes the log line."""

    def listed(event: Event) -> bool | None:
        if event.kind is not EventKind.ENDPOINT:
            return None
        return _endpoint_lane(event) in LISTED_FOR_TRAFFIC

    return [f"pod {short(pod)}: its server stopped at {gone:.1f}s but its endpoint was "
            f"{'still listed' if until == float('inf') else f'listed until {until:.1f}s'} "
            f"as ready or serving, so {sender} kept sending it requests"
            for pod, gone, until in _sent_to_while_gone(result, begin, end, listed, 0.5)]


def text_timeline(result: CheckResult) -> list[str]:
    """One line a second: answers by version, failures by kind, and what happened."""
    per_second, _, _ = timeline.buckets(result.attempts, answer_version(result))
    happened: dict[int, list[str]] = defaultdict(list)
    for event in result.events:
        if event.pod and event.pod not in result.template_of:
            continue
        second = max(0, int(at(result, event)))
        who = (short(event.pod) if event.pod else "deployment"
               if event.kind is EventKind.TERMINATING_REPLICAS else "check")
        happened[second].append(f"{who} {event.words()}")
    lines = []
    for second in range(max(len(per_second), max(happened, default=-1) + 1)):
        counts = per_second[second] if second < len(per_second) else Counter()
        ok = {k: n for k, n in counts.items() if not k.startswith("failed: ")}
        bad = {k.removeprefix("failed: "): n for k, n in counts.items()
               if k.startswith("failed: ")}
        cells = f"{sum(ok.values()):>5} ok"
        if ok:
            cells += " [" + ", ".join(f"{k} {n}" for k, n in ok.items()) + "]"
        if bad:
            cells += f"  {sum(bad.values())} FAILED [" + ", ".join(
                f"{k} {n}" for k, n in bad.items()) + "]"
        events = "; ".join(happened.get(second, []))
        lines.append(f"{second:>4}s {cells}" + (f"  | {events}" if events else ""))
    return lines


def _windows(result: CheckResult):
    """Each disruption with its attempts and its failures counted by kind."""
    for index, run in enumerate(result.runs):
        window = result.window(index)
        yield run, window, Counter(a.outcome for a in window if not a.ok)


def summary_lines(result: CheckResult) -> list[str]:
    options = result.options
    lines = [f"{'disruption':<12}{'attempts':>10}{'failures':>10}  failed as"]
    for run, window, bad in _windows(result):
        kinds = ", ".join(f"{k} {n}" for k, n in bad.most_common()) or "-"
        lines.append(f"{run.name:<12}{len(window):>10}{sum(bad.values()):>10}  {kinds}"
                     + (f"  BLOCKED: {run.blocked}" if run.blocked else ""))
    summary = result.summary
    lines.append(f"{'all':<12}{summary['attempts']:>10}{summary['failures']:>10}  "
                 f"(including {options.before:g}s of load before the first disruption)")
    if not summary["rate_held"]:
        lines.append(f"warning: the load did not hold {options.rate:g} requests/s: "
                     f"{summary['not_sent']} not sent, starts up to "
                     f"{summary['max_start_lag_s']}s late")
    connections = summary["connections"]
    if connections["mode"] == "keep-alive":
        lines.append(f"keep-alive: {connections['opened']} connections opened (pool "
                     f"{connections['pool']}), {connections['closed_by_server']} closed by "
                     f"the server, {connections['failed_reused']} failed after reuse")
    for error in result.watch_errors:
        lines.append(f"warning: {error}")
    verdict = "PASS" if result.passed else "FAIL"
    because = f"{result.failures} of {summary['attempts']} requests failed " \
              f"(--max-failures {options.max_failures})"
    if result.blocked:
        because += "; blocked: " + "; ".join(result.blocked)
    lines.append(f"{verdict}: {because}")
    return lines


def full_text(result: CheckResult) -> str:
    why = explain(result)
    parts = ["per second (ok answers by version and ReplicaSet, failures by kind, events):",
             *text_timeline(result)]
    if why:
        parts += ["", "why requests failed:", *why]
    parts += ["", *summary_lines(result)]
    return "\n".join(parts)


def as_json(result: CheckResult) -> dict[str, Any]:
    return {
        "deployment": result.deployment,
        "namespace": result.namespace,
        "url": result.url,
        "rate": result.options.rate,
        "passed": result.passed,
        "connections": result.summary["connections"],
        "attempts": len(result.attempts),
        "failures": result.failures,
        "disruptions": [
            {"name": run.name, "attempts": len(window), "failures": sum(kinds.values()),
             "failure_kinds": dict(kinds),
             "seconds_to_settle": round(run.settled - run.started, 1) if run.settled else None,
             "notes": run.notes, "blocked": run.blocked}
            for run, window, kinds in _windows(result)],
        "explanation": explain(result),
        "events": [{"t": round(at(result, e), 3), "pod": e.pod, "kind": e.kind.value,
                    "detail": _json_detail(e),
                    **({"server": e.server.value} if e.server else {})}
                   for e in result.events],
    }


def _json_detail(event: Event) -> str:
    if event.kind is EventKind.SERVER:
        return event.words()
    if event.kind is EventKind.ENDPOINT:
        return event.endpoint.words() if event.endpoint else "removed"
    if event.kind is EventKind.TERMINATING_REPLICAS:
        return str(event.count)
    return event.detail


def dumps(result: CheckResult) -> str:
    return json.dumps(as_json(result), indent=2)
