import pytest
from processes import http_get, http_post

SWITCHES = ["/start-failing", "/fault/readiness?ready=false",
            "/fault/fail-next?probe=readiness&count=1", "/fault/memory?size=1Mi",
            "/fault/cpu?cpus=1", "/fault/exit?code=3"]


def untouched(client) -> tuple:
    state = client.get("/state").get_json()["state"]
    return (state["failing"], state["ready_override"], state["memory_target"],
            state["cpu_target"], state["fail_next_liveness"], state["fail_next_readiness"],
            state["fail_next_startup"])


UNTOUCHED = (False, None, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("path", SWITCHES)
def test_faults_are_refused_unless_enabled(client, path):
    answer = client.post(path)
    assert answer.status_code == 403
    assert "PROBE_DEMO_ENABLE_FAULTS=true" in answer.get_data(as_text=True)
    assert untouched(client) == UNTOUCHED


@pytest.fixture
def faulty(make_app):
    return make_app(variant="failing", enable_faults=True).test_client()


def test_start_failing_makes_liveness_fail_for_good(faulty, events):
    assert faulty.get("/livez").status_code == 200
    assert faulty.post("/start-failing").status_code == 200
    assert faulty.get("/livez").status_code == 500
    assert faulty.get("/livez").status_code == 500
    assert faulty.get("/readyz").status_code == 200
    assert {"event": "state_change", "field": "failing", "value": True,
            "cause": "/start-failing"} in events


def test_start_failing_still_answers_a_browser_get_as_seed_001_opens_it(faulty):
    assert faulty.get("/start-failing").status_code == 200
    assert faulty.get("/livez").status_code == 500


@pytest.mark.parametrize("path", [p for p in SWITCHES if p != "/start-failing"])
def test_a_get_to_a_switch_is_refused_naming_post_and_changes_nothing(faulty, path):
    answer = faulty.get(path)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"
    assert "takes POST, not GET: curl -X POST 'http://localhost" in answer.get_json()["error"]
    assert untouched(faulty) == UNTOUCHED


@pytest.mark.parametrize("path", SWITCHES)
def test_a_cross_origin_post_is_refused_and_changes_nothing(faulty, path):
    answer = faulty.post(path, headers={"Origin": "http://elsewhere.example"})
    assert answer.status_code == 403
    assert "cross-origin request refused: Origin http://elsewhere.example" in answer.get_json()[
        "error"]
    assert untouched(faulty) == UNTOUCHED


def test_a_same_origin_post_is_taken(faulty):
    answer = faulty.post("/fault/readiness?ready=false", headers={"Origin": "http://localhost"})
    assert answer.status_code == 200
    assert untouched(faulty)[1] is False


def test_an_unknown_switch_is_named_with_the_ones_there_are(faulty):
    answer = faulty.post("/fault/latency?ms=5")
    assert answer.status_code == 404
    error = answer.get_json()["error"]
    assert error.startswith("no switch /fault/latency; the switches are /start-failing, ")
    assert "/fault/fail-next" in error
    assert untouched(faulty) == UNTOUCHED


def test_readiness_can_be_taken_away_and_given_back(faulty):
    assert faulty.post("/fault/readiness?ready=false").get_json() == {"ready_override": False}
    assert faulty.get("/readyz").status_code == 500
    assert faulty.get("/livez").status_code == 200
    faulty.post("/fault/readiness?ready=true")
    assert faulty.get("/readyz").status_code == 200


@pytest.mark.parametrize(("kind", "path", "failure"), [
    ("liveness", "/livez", 500), ("readiness", "/readyz", 500), ("startup", "/startupz", 503)])
def test_fail_next_fails_exactly_n_probes_of_that_kind(faulty, kind, path, failure):
    assert faulty.post(f"/fault/fail-next?probe={kind}&count=2").get_json() == {
        "probe": kind, "fail_next": 2}
    other = "/readyz" if kind != "readiness" else "/livez"
    assert faulty.get(other).status_code == 200  # other kinds are not spent
    first = faulty.get(path)
    assert (first.status_code, first.get_data(as_text=True)) == (
        failure, f"{kind} failing on purpose: /fault/fail-next (1 more to fail)\n")
    assert faulty.get(path).status_code == failure
    assert faulty.get(path).status_code == 200
    # /state and /ui look without spending.
    faulty.post(f"/fault/fail-next?probe={kind}&count=1")
    faulty.get("/state")
    faulty.get("/ui/live")
    assert faulty.get(path).status_code == failure


def test_fail_next_liveness_applies_to_seed_000s_healthcheck(make_app):
    client = make_app(variant="unhealthy", enable_faults=True).test_client()
    client.post("/fault/fail-next?probe=liveness&count=1")
    assert client.get("/healthcheck").status_code == 503
    assert client.get("/healthcheck").status_code == 200


def test_memory_and_cpu_requests_reach_the_state(faulty):
    assert faulty.post("/fault/memory?size=8Mi").get_json() == {"memory_target": 8 * 2**20}
    assert faulty.post("/fault/cpu?cpus=1").get_json() == {"cpu_target": 1}
    state = faulty.get("/state").get_json()["state"]
    assert (state["memory_target"], state["cpu_target"]) == (8 * 2**20, 1)
    faulty.post("/fault/memory?size=0")
    faulty.post("/fault/cpu?cpus=0")


@pytest.mark.parametrize(
    ("path", "message"),
    [("/fault/memory?size=lots", "'size'"), ("/fault/memory", "'size'"),
     ("/fault/memory?size=" + "9" * 400, "'size': above the cap of 4Gi"),
     ("/fault/memory?size=5Gi", "'size': above the cap of 4Gi"),
     ("/fault/cpu?cpus=-1", "'cpus'"), ("/fault/cpu?cpus=x", "'cpus'"),
     ("/fault/cpu?cpus=65", "'cpus'"),
     ("/fault/readiness?ready=perhaps", "'ready' must be true or false"),
     ("/fault/fail-next?probe=readiness&count=0", "'count' must be a whole number from 1"),
     ("/fault/fail-next?probe=readiness&count=-2", "'count'"),
     ("/fault/fail-next?probe=readiness&count=1001", "'count'"),
     ("/fault/fail-next?probe=readiness", "'count'"),
     ("/fault/fail-next?probe=health&count=1", "'probe' must be one of liveness, readiness"),
     ("/fault/exit?code=256", "'code' must be an exit code, 0-255"),
     ("/fault/exit?code=-1", "'code'"), ("/fault/exit", "'code'"),
     # Digits int() refuses although str.isdigit takes them.
     ("/fault/fail-next?probe=readiness&count=²", "'count'"),
     ("/fault/fail-next?probe=readiness&count=①", "'count'"),
     ("/fault/cpu?cpus=²", "'cpus'"), ("/fault/exit?code=¹", "'code'"),
     ("/fault/cpu?cpus=\u0661", "'cpus'"),  # ARABIC-INDIC DIGIT ONE
     ("/fault/readiness", "'ready' must be true or false")],
)
def test_bad_fault_parameters_are_named_and_change_nothing(faulty, path, message):
    answer = faulty.post(path)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]
    assert untouched(faulty) == UNTOUCHED


@pytest.mark.parametrize("code", [0, 42, 137])
def test_exit_answers_then_the_process_exits_with_that_code(start_server, code):
    server = start_server("--variant", "failing", "--enable-faults")
    status, body, _ = http_post(server.url(f"/fault/exit?code={code}"))
    assert (status, body) == (200, f'{{"exit_code":{code},"in_seconds":0.2}}\n')
    assert server.process.wait(timeout=10) == code
    assert f'"event": "exit", "code": {code}, "cause": "/fault/exit"' in server.log()


def test_the_browser_switch_works_on_a_real_server(start_server):
    server = start_server("--variant", "failing", "--enable-faults")
    assert http_get(server.url("/start-failing"))[0] == 200
    assert http_get(server.url("/livez"))[0] == 500


def test_exit_at_start_crashes_every_start_with_that_code(start_server):
    server = start_server("--exit-at-start", "42", "--exit-after", "0.5")
    assert http_get(server.url("/livez"))[0] == 200  # it serves until then
    assert server.process.wait(timeout=10) == 42
    assert '"event": "exit", "code": 42, "cause": "--exit-at-start"' in server.log()


@pytest.mark.parametrize("origin", [
    "http://elsewhere.example",
    "https://localhost",  # this server speaks plain HTTP
    "null",  # a sandboxed frame or a file:// page
    "http://localhost/ui",  # no browser sends a path
    "http://127.0.0.1.evil.example",
])
def test_untrusted_origins_are_refused(faulty, origin):
    answer = faulty.post("/fault/readiness?ready=false", headers={"Origin": origin})
    assert answer.status_code == 403, origin
    assert untouched(faulty) == UNTOUCHED


def test_dns_rebinding_is_refused_although_host_and_origin_agree(faulty):
    """A page on evil.example whose name now resolves to the pod: the browser sends Host and
    Origin both naming evil.example, which is neither loopback nor the pod."""
    answer = faulty.post("/fault/readiness?ready=false",
                         headers={"Host": "evil.example:8080",
                                  "Origin": "http://evil.example:8080"})
    assert answer.status_code == 403
    assert untouched(faulty) == UNTOUCHED


@pytest.mark.parametrize("origin", ["http://localhost:18080", "http://127.0.0.1:9999",
                                    "http://[::1]:8080", "http://demo.localhost"])
def test_loopback_origins_on_any_port_are_trusted(faulty, origin):
    """kubectl port-forward puts the page on a loopback port of its choosing."""
    answer = faulty.post("/fault/readiness?ready=false", headers={"Origin": origin})
    assert answer.status_code == 200, answer.get_json()


def test_the_pods_own_address_on_its_own_port_is_trusted(make_app):
    import socket

    app = make_app(enable_faults=True)
    client = app.test_client()
    own = socket.gethostname().lower()
    port = app.extensions["probe_demo"].settings.port
    assert client.post("/fault/readiness?ready=false",
                       headers={"Origin": f"http://{own}:{port}"}).status_code == 200
    assert client.post("/fault/readiness?ready=false",
                       headers={"Origin": f"http://{own}:{port + 1}"}).status_code == 403


def test_listed_origins_are_trusted(make_app):
    client = make_app(enable_faults=True,
                      trusted_origins="https://demo.example.com, http://10.0.0.9:30080"
                      ).test_client()
    for origin in ("https://demo.example.com", "http://10.0.0.9:30080"):
        answer = client.post("/fault/readiness?ready=false", headers={"Origin": origin})
        assert answer.status_code == 200, origin
    assert client.post("/fault/readiness?ready=false",
                       headers={"Origin": "http://demo.example.com"}).status_code == 403


def test_head_does_not_flip_the_browser_switch(faulty):
    answer = faulty.head("/start-failing")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, POST"
    assert untouched(faulty) == UNTOUCHED
