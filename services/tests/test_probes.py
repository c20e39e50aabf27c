import time

from probe_demo.app import create_app
from probe_demo.config import Settings


def test_livez_and_readyz_pass_on_a_fresh_server(client):
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/ready").status_code == 200
    assert client.get("/startupz").status_code == 200


def test_readiness_and_startup_fail_while_starting(make_app):
    client = make_app(startup_seconds=30).test_client()
    assert client.get("/readyz").status_code == 500
    assert client.get("/startupz").status_code == 503
    assert "starting" in client.get("/startupz").get_data(as_text=True)
    assert client.get("/livez").status_code == 200


def test_startup_ends_after_startup_seconds(make_app):
    client = make_app(startup_seconds=0.2).test_client()
    assert client.get("/startupz").status_code == 503
    time.sleep(0.25)
    assert client.get("/startupz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_readiness_fails_with_500_while_draining_but_liveness_holds(make_app):
    app = make_app()
    app.extensions["probe_demo"].state.set(draining=True)
    client = app.test_client()
    answer = client.get("/ready")
    assert answer.status_code == 500
    assert "draining" in answer.get_data(as_text=True)
    assert client.get("/livez").status_code == 200
    assert client.get("/status").status_code == 200


def test_state_shows_flags_and_counters(make_app):
    app = make_app(variant="unhealthy")
    client = app.test_client()
    client.get("/healthcheck")
    client.get("/healthcheck")
    state = client.get("/state").get_json()
    assert state["variant"] == "unhealthy"
    assert state["state"]["healthchecks"] == 2
    assert state["live"] is True and state["ready"] is True


def test_workers_share_one_state_file(tmp_path):
    settings = Settings.load(env={}, variant="unhealthy", healthy_checks=2, grpc_port=0,
                             state_file=str(tmp_path / "pod.json"))
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    codes = [client.get("/healthcheck").status_code for client in (first, second, first)]
    assert codes == [200, 200, 503]


def test_probe_hits_are_logged_with_custom_headers(client, events):
    client.get("/livez", headers={"Custom-Header": "Awesome", "User-Agent": "kube-probe/1.34"})
    client.get("/status")
    probes = [e for e in events if e["event"] == "probe"]
    assert len(probes) == 1
    assert probes[0]["path"] == "/livez"
    assert probes[0]["headers"] == {"Custom-Header": "Awesome"}
    assert probes[0]["user_agent"] == "kube-probe/1.34"


def test_requests_are_logged_only_when_asked(make_app, events):
    make_app(log_requests=True).test_client().get("/status")
    assert [e["path"] for e in events if e["event"] == "request"] == ["/status"]


def test_metrics_count_requests_probes_and_state(make_app):
    app = make_app(variant="unhealthy", healthy_checks=1)
    client = app.test_client()
    client.get("/healthcheck")
    client.get("/healthcheck")
    client.get("/status")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'probe_demo_probe_hits_total{code="200",endpoint="/healthcheck"} 1.0' in text
    assert 'probe_demo_probe_hits_total{code="503",endpoint="/healthcheck"} 1.0' in text
    assert ('probe_demo_http_requests_total{code="200",endpoint="/status",method="GET"} 1.0'
            in text)
    assert "probe_demo_healthchecks 2.0" in text
    assert "probe_demo_ready 1.0" in text
    app.extensions["probe_demo"].state.set(draining=True)
    text = client.get("/metrics").get_data(as_text=True)
    assert "probe_demo_ready 0.0" in text
    assert "probe_demo_draining 1.0" in text
