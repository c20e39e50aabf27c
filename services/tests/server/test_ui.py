"""/ui and the snapshot it polls, through the Flask test client (the page itself runs in a
real browser in test_ui_browser.py)."""

import pytest

from probe_demo.server import variants
from probe_demo.server.probe_hits import HISTORY


def test_the_page_and_its_assets_come_from_this_server_only(client):
    page = client.get("/ui")
    assert page.status_code == 200
    assert page.content_type == "text/html; charset=utf-8"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for asset, kind in (("/ui/page.css", "text/css"), ("/ui/page.js", "text/javascript")):
        answer = client.get(asset)
        assert answer.status_code == 200 and answer.content_type.startswith(kind)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert asset.removeprefix("/") in html


def test_the_snapshot_says_who_what_and_how(make_app):
    client = make_app(variant="unhealthy", healthy_checks=2).test_client()
    client.get("/healthcheck")
    live = client.get("/ui/live")
    assert live.headers["Cache-Control"] == "no-store"
    snapshot = live.get_json()
    assert snapshot["pod"]["variant"] == "unhealthy"
    assert snapshot["pod"]["uptime_s"] >= 0
    assert snapshot["verdicts"]["liveness"] == {"ok": True, "reason": "alive"}
    assert snapshot["state"]["healthchecks"] == 1
    assert snapshot["settings"]["healthy_checks"] == 2
    assert snapshot["settings"]["faults_enabled"] is False
    assert snapshot["cgroup"]["version"] in (None, 1, 2)


def test_variants_without_a_count_show_none(client):
    assert client.get("/ui/live").get_json()["settings"]["healthy_checks"] is None


def test_probe_hits_are_listed_newest_first_with_kubelet_and_headers(make_app):
    client = make_app(variant="unhealthy").test_client()
    client.get("/healthcheck", headers={"User-Agent": "kube-probe/1.34",
                                        "Custom-Header": "Awesome"})
    client.get("/readyz", headers={"User-Agent": "curl/7.88.1"})
    client.get("/status")  # not a probe path, not the kubelet: not a probe hit
    probes = client.get("/ui/live").get_json()["probes"]
    assert probes["total"] == 2
    newest, oldest = probes["recent"]
    assert (newest["path"], newest["status"], newest["kubelet"]) == ("/readyz", 200, False)
    assert (oldest["path"], oldest["kubelet"]) == ("/healthcheck", True)
    assert oldest["headers"] == {"Custom-Header": "Awesome"}
    # Seed 000's custom header is in the answer.
    assert oldest["answer_headers"] == {"Custom-header-for-kubernetes-app": "Awesome"}
    assert newest["time"] >= oldest["time"]


def test_the_history_keeps_the_last_fifty(client):
    for number in range(HISTORY + 7):
        client.get("/livez", headers={"User-Agent": f"probe-{number}"})
    probes = client.get("/ui/live").get_json()["probes"]
    assert probes["total"] == HISTORY + 7
    agents = [hit["user_agent"] for hit in probes["recent"]]
    assert agents == [f"probe-{n}" for n in range(HISTORY + 6, 6, -1)]


@pytest.mark.parametrize("path", ["/ui/", "/ui/page.html", "/ui/../faults.py"])
def test_nothing_else_is_served_under_ui(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("variant", variants.names())
def test_every_variant_serves_the_page_and_says_what_it_does(make_app, variant):
    client = make_app(variant=variant, tag="green").test_client()
    assert client.get("/ui").status_code == 200
    does = client.get("/ui/live").get_json()["pod"]["does"]
    assert does and "\n" not in does
    if variant == "hello":
        assert "'green'" in does


def test_requests_from_other_clients_are_counted_but_not_the_pages_own(make_app):
    client = make_app(variant="date").test_client()
    for _ in range(3):
        client.get("/date")
    client.get("/nope")
    client.get("/ui/live")
    counts = client.get("/ui/live").get_json()["requests"]
    assert {"method": "GET", "endpoint": "/date", "code": "200", "count": 3} in counts
    assert {"method": "GET", "endpoint": "<unmatched>", "code": "404", "count": 1} in counts
    assert not [c for c in counts if c["endpoint"].startswith("/ui")]
