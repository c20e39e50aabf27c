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
