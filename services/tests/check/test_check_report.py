"""The check's report from a recorded run: lanes, per-second lines, the explanation."""

import xml.etree.ElementTree as ET

from probe_demo.check import report
from probe_demo.check.disruptions import Disruption
from probe_demo.check.events import EndpointConditions as endpoint
from probe_demo.check.events import Event
from probe_demo.check.events import EventKind as E
from probe_demo.check.run import CheckOptions, CheckResult
from probe_demo.client.attempt import Attempt
from probe_demo.protocol import ServerEvent
from probe_demo.timeline import LaneState as L

T0 = 1_000_000.0
OLD, NEW = "demo-probe-demo-aaaaa-11111", "demo-probe-demo-bbbbb-22222"


def ok(n, t, pod=OLD, version="OK"):
    return Attempt(n, t, {}, status=200, version=version, pod=pod, local_port=40000 + n)


def failed(n, t, error="connection refused", port=None):
    return Attempt(n, t, {}, error=error, local_port=port or 40000 + n)


def naive_result(attempts, extra_events=()):
    """OLD's server stops listening at 5.0 s while its endpoint stays ready until 6.5 s."""
    events = [
        Event(T0 - 30, OLD, E.CREATED), Event(T0 - 20, OLD, E.READY),
        Event(T0 - 20, OLD, E.ENDPOINT, endpoint=endpoint(True, True, False)),
        Event(T0 + 3.0, "", E.DISRUPTION_BEGINS, "rollout"),
        Event(T0 + 3.2, NEW, E.CREATED), Event(T0 + 4.5, NEW, E.READY),
        Event(T0 + 4.6, NEW, E.ENDPOINT, endpoint=endpoint(True, True, False)),
        Event(T0 + 4.9, OLD, E.TERMINATING),
        Event(T0 + 4.95, OLD, E.SERVER, server=ServerEvent.STATE_CHANGE),
        Event(T0 + 5.0, OLD, E.SERVER, server=ServerEvent.STOP_LISTENING),
        Event(T0 + 6.5, OLD, E.ENDPOINT, endpoint=endpoint(False, False, True)),
        Event(T0 + 7.0, OLD, E.EXITED, "exit 0 Completed"),
        Event(T0 + 7.5, OLD, E.ENDPOINT),
        Event(T0 + 8.0, "", E.DISRUPTION_SETTLED, "rollout"),
        *extra_events,
    ]
    runs = [Disruption("rollout", started=T0 + 3.0, settled=T0 + 8.0)]
    return CheckResult(CheckOptions(rate=10), "ns", "demo-probe-demo", "demo-probe-demo",
                       "http://demo-probe-demo/status", attempts, T0, 10.0,
                       sorted(events, key=lambda e: e.at), runs,
                       {OLD: "aaaaa", NEW: "bbbbb"}, [])


def test_lanes_follow_each_pods_lifecycle_and_endpoint():
    result = naive_result([ok(1, 0.5)],
                          [Event(T0 - 29, OLD, E.SERVER, server=ServerEvent.LISTENING)])
    lanes = {lane.label: lane for lane in report.lanes(result)}
    old = lanes["aaaaa-11111"]
    assert [(round(s, 1), round(e, 1), state) for s, e, state in old.segments
            if state.row == "pod"] == [(0.0, 4.9, L.READY), (4.9, 7.0, L.TERMINATING)]
    assert [(round(s, 1), round(e, 1), state) for s, e, state in old.segments
            if state.row == "endpoint"] == [(0.0, 5.0, L.ENDPOINT_READY),
                                            (5.0, 6.5, L.LISTED_SERVER_GONE),
                                            (6.5, 7.5, L.ENDPOINT_NOT_SERVING)]
    # The server's events before the load began are not marked.
    assert [mark.label for mark in old.marks] == ["draining", "stopped listening", "exit 0"]
    assert lanes["bbbbb-22222"].segments[0][2] is L.STARTING


def test_failures_while_a_stopped_server_is_still_listed_are_explained():
    attempts = [ok(1, 1.0), ok(2, 4.0), failed(3, 5.2), failed(4, 6.1), ok(5, 7.0, pod=NEW)]
    result = naive_result(attempts)
    why = report.explain(result)
    assert why[0] == "5.2-6.1s: 2 failed (connection refused 2)"
    assert "pod aaaaa-11111: its server stopped at 5.0s but its endpoint was listed until " \
           "6.5s" in why[1]
    assert not result.passed
    assert report.summary_lines(result)[-1] == \
        "FAIL: 2 of 5 requests failed (--max-failures 0)"


def test_late_timeouts_on_a_reused_source_port_are_explained():
    attempts = [failed(1, 5.2, "timeout", port=41000), ok(2, 7.0, pod=NEW),
                failed(3, 70.0, "timeout", port=41000)]
    result = naive_result(attempts)
    why = report.explain(result)
    late = why[why.index("70.0-70.0s: 1 failed (timeout 1)") + 1]
    assert "each reused the source port of a request that had failed before (the first " \
           "at 5.2s)" in late
    assert "SYN_SENT" in late


def test_bursts_of_the_same_late_cause_are_told_once():
    attempts = [failed(1, 5.2, "timeout", port=41000), failed(2, 5.3, "timeout", port=41001),
                ok(3, 7.0, pod=NEW), failed(4, 20.0, "timeout", port=41000),
                failed(5, 40.0, "timeout", port=41001), failed(6, 60.0, "timeout", port=41000)]
    why = report.explain(naive_result(attempts))
    assert why[2] == "20.0-60.0s: 3 failed in 3 bursts (timeout 3)"
    assert why[3].startswith("    each reused the source port")
    assert len(why) == 4


def test_stale_port_failures_are_told_apart_even_amid_fresh_ones():
    """At high rates the late failures come every second: no gap splits them from the
    rollout's own, so each failure is judged by its source port, not by the gap."""
    attempts = [failed(1, 5.2, "connection refused", port=41000),
                failed(2, 5.6, "timeout", port=41001),
                *[failed(3 + n, 6.5 + n, "timeout", port=41000 + n % 2) for n in range(30)]]
    why = report.explain(naive_result(attempts))
    assert why[0] == "5.2-5.6s: 2 failed (connection refused 1, timeout 1)"
    assert "aaaaa-11111" in why[1]
    assert why[2] == "6.5-35.5s: 30 failed (timeout 30)"
    assert why[3].startswith("    each reused the source port")


def test_text_timeline_has_a_line_a_second_with_versions_failures_and_events():
    attempts = [ok(1, 4.1), failed(2, 5.3), ok(3, 5.5, pod=NEW)]
    lines = report.text_timeline(naive_result(attempts))
    assert lines[4].startswith("   4s     1 ok [OK (rs aaaaa) 1]")
    assert "bbbbb-22222 ready" in lines[4]
    assert lines[5].startswith("   5s     1 ok [OK (rs bbbbb) 1]  1 FAILED "
                               "[connection refused 1]")
    assert "aaaaa-11111 stopped listening" in lines[5]


def test_the_picture_has_bars_lanes_and_the_disruption_mark():
    svg = report.svg(naive_result([ok(1, 1.0), failed(2, 5.5)]), "naive")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    states = {r.get("data-state") for r in root.iter(f"{ns}rect") if r.get("class") == "segment"}
    assert {"ready", "terminating", "endpoint ready", "starting"} <= states
    assert [t.text for t in root.iter(f"{ns}text") if t.get("class") == "lane"] == \
        ["aaaaa-11111", "bbbbb-22222"]
    assert any(line.get("class") == "disruption" for line in root.iter(f"{ns}line"))


def test_only_the_deployments_pods_get_lanes():
    test_pod = Event(T0 + 1, "demo-probe-demo-test-rollout", E.ENDPOINT,
                     endpoint=endpoint(True, True, False))
    result = naive_result([ok(1, 1.0)], [test_pod])
    assert "test-rollout" not in " ".join(lane.label for lane in report.lanes(result))
    assert "test-rollout" not in "\n".join(report.text_timeline(result))


def test_a_blocked_disruption_fails_the_check_even_without_lost_requests():
    result = naive_result([ok(1, 1.0)])
    result.runs[0].blocked = "eviction of x can never be allowed"
    assert not result.passed
    assert "blocked: rollout: eviction of x can never be allowed" in \
        report.summary_lines(result)[-1]
    assert report.as_json(result)["disruptions"][0]["blocked"]


def test_failures_while_no_endpoint_is_ready_say_so():
    """Every pod evicted at once (no PodDisruptionBudget): nothing to send requests to."""
    events = [Event(T0 - 30, OLD, E.CREATED),
              Event(T0 - 20, OLD, E.ENDPOINT, endpoint=endpoint(True, True, False)),
              Event(T0 + 3.0, OLD, E.ENDPOINT, endpoint=endpoint(False, False, True)),
              Event(T0 + 3.1, NEW, E.CREATED),
              Event(T0 + 6.0, NEW, E.ENDPOINT, endpoint=endpoint(True, True, False))]
    result = CheckResult(CheckOptions(rate=10), "ns", "d", "d", "u",
                         [ok(1, 1.0), failed(2, 4.0), failed(3, 5.0), ok(4, 7.0, pod=NEW)],
                         T0, 10.0, events, [Disruption("evict", started=T0 + 2.9)],
                         {OLD: "aaaaa", NEW: "bbbbb"}, [])
    why = report.explain(result)
    assert why[1] == ("    the Service had no ready endpoint from 3.0s to 6.0s: every pod was "
                      "gone or not ready yet")


def test_failures_that_never_left_the_machine_are_not_blamed_on_conntrack():
    """A cluster IP from outside the cluster: every connect is refused with EINVAL, from
    ports that failed before, and no stale tracking entry is involved."""
    attempts = [failed(n, n * 0.1, error="invalid argument", port=40000 + n % 3)
                for n in range(1, 40)]
    why = "\n".join(report.explain(naive_result(attempts)))
    assert "never left this machine (invalid argument)" in why
    assert "connection tracking" not in why


def test_rewording_the_labels_changes_no_decision(monkeypatch):
    """The lanes, the explanation and PASS/FAIL are decided on values; words are only
    rendered. Every server label and lane state reworded, the decisions stay the same."""
    from probe_demo.check import events

    result = naive_result([ok(1, 0.5), failed(2, 5.2), failed(3, 5.4)])

    def decisions():
        lanes = report.lanes(result)
        return (report.explain(result), result.passed, [lane.segments for lane in lanes],
                [[mark.labelled for mark in lane.marks] for lane in lanes])

    before = decisions()
    monkeypatch.setattr(events, "SERVER_LABELS",
                        {key: f"reworded {n}" for n, key in enumerate(events.SERVER_LABELS)})
    for state in L:
        monkeypatch.setattr(state, "label", f"reworded {state.name}")
    after = decisions()
    assert after == before
    assert "listed until 6.5s" in "\n".join(before[0])
    reworded = [(mark.label, mark.labelled) for lane in report.lanes(result)
                for mark in lane.marks if mark.label.startswith("reworded")]
    assert reworded and any(labelled for _, labelled in reworded)


def test_the_front_door_stopping_to_route_is_a_labelled_mark_on_the_pods_lane():
    result = naive_result([ok(1, 0.5)], extra_events=[
        Event(T0 - 10, OLD, E.FRONT_DOOR, routed=True),
        Event(T0 + 6.8, OLD, E.FRONT_DOOR, routed=False)])
    old = next(lane for lane in report.lanes(result) if lane.label.endswith("11111"))
    door = [(round(mark.at, 3), mark.label, mark.labelled) for mark in old.marks
            if mark.label.startswith("front door")]
    assert door == [(6.8, "front door stopped routing here", True)]  # the start: before 0
    assert any("front door stopped routing here" in line
               for line in report.text_timeline(result))


def test_failures_while_the_front_door_still_routed_to_a_stopped_server_are_explained():
    pinned = failed(4, 5.3, "timeout")
    pinned.reused, pinned.connection_pod = True, OLD
    result = naive_result([ok(1, 0.5), failed(2, 5.2, "timeout"), pinned,
                           failed(3, 5.4, "timeout", port=40002)],
                          extra_events=[Event(T0 - 10, OLD, E.FRONT_DOOR, routed=True),
                                        Event(T0 + 6.1, OLD, E.FRONT_DOOR, routed=False)])
    result.options.front_door_api = "http://traefik.traefik:9000"
    why = "\n".join(report.explain(result))
    assert "its server stopped at 5.0s but the front door routed to it until 6.1s" in why
    # The load's connections ended at the front door: no conntrack story about our ports,
    # and a reused connection of ours was pinned to the front door, not to a pod.
    assert "connection tracking" not in why and "keep-alive connections to pod" not in why
    assert "so the Service kept sending it requests" not in why  # the front door did
    result.options.front_door_api = None
    result.options.host = "demo.probe-demo.test"  # through a front door we cannot watch
    assert "so the front door, which follows them, kept sending it requests" in "\n".join(
        report.explain(result))


def test_lanes_name_each_pods_node_only_when_the_pods_ran_on_several():
    result = naive_result([ok(1, 0.5)])
    result.node_of = {OLD: "node-a", NEW: "node-a"}
    assert [lane.where for lane in report.lanes(result)] == ["", ""]
    result.node_of = {OLD: "node-a", NEW: "node-b"}
    lanes = {lane.label: lane.where for lane in report.lanes(result)}
    assert lanes == {"aaaaa-11111": "node-a", "bbbbb-22222": "node-b"}
    svg = report.svg(result, "drain")
    assert '<text class="lane-where"' in svg and ">node-b</text>" in svg
