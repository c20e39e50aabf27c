import json
import socket

from probe_demo.server.variants.unhealthy import HEALTHY_BODY, UNHEALTHY_BODY


def test_unhealthy_answers_healthy_n_times_then_503(make_app):
    client = make_app(variant="unhealthy", healthy_checks=3).test_client()
    answers = [client.get("/healthcheck") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 503, 503]
    assert answers[0].get_data(as_text=True) == HEALTHY_BODY
    assert answers[0].headers["Custom-header-for-kubernetes-app"] == "Awesome"
    assert answers[3].get_data(as_text=True) == UNHEALTHY_BODY
    assert "Custom-header-for-kubernetes-app" not in answers[3].headers


def test_unhealthy_defaults_to_five_healthy_checks(make_app):
    client = make_app(variant="unhealthy").test_client()
    codes = [client.get("/healthcheck").status_code for _ in range(7)]
    assert codes == [200] * 5 + [503] * 2


def test_unhealthy_counts_only_health_checks(make_app):
    client = make_app(variant="unhealthy", healthy_checks=1).test_client()
    for _ in range(3):
        client.get("/")
    assert client.get("/healthcheck").status_code == 200


def test_unhealthy_greets_with_hostname_on_any_other_path(make_app):
    client = make_app(variant="unhealthy").test_client()
    expected = f"Hello world from hostname: {socket.gethostname()}"
    assert client.get("/").get_data(as_text=True) == expected
    assert client.get("/any/path").get_data(as_text=True) == expected


def test_unhealthy_logs_the_turn_once(make_app, events):
    client = make_app(variant="unhealthy", healthy_checks=1).test_client()
    for _ in range(3):
        client.get("/healthcheck")
    turns = [e for e in events if e["event"] == "state_change" and e["field"] == "healthcheck"]
    assert turns == [{"event": "state_change", "field": "healthcheck", "value": "unhealthy",
                      "after_checks": 1}]


def test_hello_returns_date_fields_and_tag(make_app):
    body = make_app(variant="hello", tag="green").test_client().get("/").get_data(as_text=True)
    answer = json.loads(body)
    assert answer["tag"] == "green"
    # The seed's order, field for field.
    assert list(answer) == ["date", "tag"]
    assert list(answer["date"]) == ["year", "month", "day", "hour", "minute", "second",
                                    "microsecond"]
    assert all(isinstance(value, int) for value in answer["date"].values())


def test_date_variant_serves_date(make_app):
    client = make_app(variant="date").test_client()
    answer = client.get("/date")
    assert answer.status_code == 200
    assert answer.get_data(as_text=True)[:2] == "20"
    assert client.get("/healthcheck").status_code == 404


def test_graceful_root_and_status_show_the_version_text(make_app):
    client = make_app(variant="graceful", status_text="OK!!").test_client()
    assert client.get("/status").get_data(as_text=True) == "OK!!\n"
    assert client.get("/").get_data(as_text=True) == "OK!!\n"


def test_failing_root_explains_how_to_fail(make_app):
    body = make_app(variant="failing").test_client().get("/").get_data(as_text=True)
    assert "/start-failing" in body
