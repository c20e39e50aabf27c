import time


def test_work_spends_the_cpu_time_asked(client):
    begin = time.thread_time()
    answer = client.get("/work?ms=50")
    spent = time.thread_time() - begin
    assert answer.status_code == 200
    assert answer.get_json()["worked_ms"] == 50
    assert spent >= 0.05


def test_work_refuses_more_than_the_limit(make_app):
    answer = make_app(max_work_ms=10).test_client().get("/work?ms=11")
    assert answer.status_code == 400
    assert "PROBE_DEMO_MAX_WORK_MS" in answer.get_json()["error"]


def test_work_refuses_non_numbers(client):
    assert client.get("/work?ms=fast").status_code == 400


def test_work_beyond_its_slots_is_shed_with_retry_after(make_app):
    app = make_app(work_concurrency=1)
    slots = app.extensions["probe_demo.work_slots"]
    assert slots.try_take()  # a /work request already running
    answer = app.test_client().get("/work?ms=1")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert "PROBE_DEMO_WORK_CONCURRENCY" in answer.get_json()["error"]
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'probe_demo_shed_requests_total{endpoint="/work"} 1.0' in metrics
    slots.give_back()
    assert app.test_client().get("/work?ms=1").status_code == 200
