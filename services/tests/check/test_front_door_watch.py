"""The check's front-door watcher reads which pods a front door routes to from its API
(Traefik's /api/http/services), as a real HTTP server answers it."""

import http.server
import json
import threading
import time
from types import SimpleNamespace

from probe_demo.check import observe
from probe_demo.check.events import EventKind


def serve(answers: list):
    """A front door whose API answers the next of `answers` each time (the last one stays)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(answers[0] if len(answers) == 1 else answers.pop(0)).encode()
            self.send_response(200 if self.path == "/api/http/services" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def servers(*ips: str) -> list[dict]:
    return [{"name": "api@internal"},
            {"name": "httproute-ns-demo@kubernetesgateway",
             "loadBalancer": {"servers": [{"url": f"http://{ip}:8080"} for ip in ips]}}]


def test_the_watch_tells_when_the_front_door_begins_and_stops_routing_to_each_pod(monkeypatch):
    monkeypatch.setattr(observe, "FRONT_DOOR_POLL_SECONDS", 0.05)
    answers = [servers("10.0.0.1"), servers("10.0.0.1", "10.0.0.2"), servers("10.0.0.2")]
    server = serve(answers)
    watcher = observe.Observer(SimpleNamespace(namespace="ns"), "app=x", "svc",
                               front_door_api=f"http://127.0.0.1:{server.server_port}/")
    watcher._ip_of = {"old": "10.0.0.1", "new": "10.0.0.2", "other": "10.0.0.9"}
    watcher._spawn(watcher._poll_front_door)
    time.sleep(0.6)
    watcher.stop()
    server.shutdown()
    seen = [(e.pod, e.routed) for e in watcher.sorted_events() if e.kind is EventKind.FRONT_DOOR]
    assert seen == [("old", True), ("new", True), ("old", False)]
    assert watcher.errors == []


def test_an_unreachable_front_door_api_is_one_error_and_no_events(monkeypatch):
    monkeypatch.setattr(observe, "FRONT_DOOR_POLL_SECONDS", 0.05)
    watcher = observe.Observer(SimpleNamespace(namespace="ns"), "app=x", "svc",
                               front_door_api="http://127.0.0.1:9/")
    watcher._ip_of = {"old": "10.0.0.1"}
    watcher._spawn(watcher._poll_front_door)
    time.sleep(0.4)
    watcher.stop()
    assert len(watcher.errors) == 1 and watcher.errors[0].startswith("front door API")
    assert not watcher.sorted_events()


def test_the_load_begins_once_the_front_door_answers(monkeypatch):
    """A route a front door has not picked up yet answers 503: no disruption's doing."""
    from probe_demo.check import run
    from probe_demo.check.options import CheckOptions

    monkeypatch.setattr(run, "FIRST_ANSWER_RETRY_SECONDS", 0.01)
    answers = [503, 503, 200]

    def fetcher(attempt, timeout):
        attempt.status = answers.pop(0)
        return attempt

    said: list[str] = []
    run._first_answer("http://gw/status", fetcher, CheckOptions(), said.append)
    assert answers == []
    assert said == ["waiting for http://gw/status to answer before the load begins (it said "
                    "HTTP 503)", "http://gw/status answers: the load begins"]


def test_an_address_that_never_answers_is_one_error_naming_it(monkeypatch):
    import pytest

    from probe_demo.check import run
    from probe_demo.check.errors import CheckError
    from probe_demo.check.options import CheckOptions

    monkeypatch.setattr(run, "FIRST_ANSWER_RETRY_SECONDS", 0.01)

    def fetcher(attempt, timeout):
        attempt.error = "connection refused"
        return attempt

    with pytest.raises(CheckError, match=r"^http://gw/status did not answer within "
                                         r"--settle-timeout \(0.1 s\); it said connection "
                                         r"refused$"):
        run._first_answer("http://gw/status", fetcher, CheckOptions(settle_timeout=0.1),
                          lambda line: None)
