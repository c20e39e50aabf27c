import time


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


def test_one_liveness_decision_for_every_surface(make_app):
    """The unhealthy variant's count is the pod's liveness: /healthcheck, /livez, /state and
    the gauge agree (gRPC asks the same function: test_grpc_health)."""
    app = make_app(variant="unhealthy", healthy_checks=1)
    client = app.test_client()
    assert client.get("/healthcheck").status_code == 200
    assert client.get("/livez").status_code == 200
    assert client.get("/healthcheck").status_code == 503
    assert client.get("/livez").status_code == 500
    assert "unhealthy after 1 health checks" in client.get("/livez").get_data(as_text=True)
    assert client.get("/state").get_json()["live"] is False
    assert "probe_demo_live 0.0" in client.get("/metrics").get_data(as_text=True)


def test_an_error_is_logged_with_its_traceback(make_app, events):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    assert app.test_client().get("/boom").status_code == 500
    errors = [e for e in events if e["event"] == "error"]
    assert len(errors) == 1
    assert errors[0]["path"] == "/boom"
    assert "RuntimeError: kaboom" in errors[0]["traceback"]
    assert "in boom" in errors[0]["traceback"]


def test_logged_headers_are_bounded(client, events):
    headers = {f"X-Big-{i}": "y" * 5000 for i in range(40)}
    client.get("/livez", headers=headers)
    logged = next(e for e in events if e["event"] == "probe")["headers"]
    assert len(logged) <= 17
    assert max(len(value) for value in logged.values()) < 300
    assert logged["..."] == "24 more headers not logged"


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
