import pytest


@pytest.mark.parametrize(
    "path", ["/start-failing", "/fault/readiness?ready=false", "/fault/memory?size=1Mi",
             "/fault/cpu?cpus=1"],
)
def test_faults_are_refused_unless_enabled(client, path):
    answer = client.get(path)
    assert answer.status_code == 403
    assert "PROBE_DEMO_ENABLE_FAULTS=true" in answer.get_data(as_text=True)
    state = client.get("/state").get_json()["state"]
    assert (state["failing"], state["ready_override"], state["memory_target"],
            state["cpu_target"]) == (False, None, 0, 0)


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


def test_readiness_can_be_taken_away_and_given_back(faulty):
    assert faulty.get("/fault/readiness?ready=false").get_json() == {"ready_override": False}
    assert faulty.get("/readyz").status_code == 500
    assert faulty.get("/livez").status_code == 200
    faulty.get("/fault/readiness?ready=true")
    assert faulty.get("/readyz").status_code == 200


def test_readiness_fault_rejects_other_values(faulty):
    answer = faulty.get("/fault/readiness?ready=perhaps")
    assert answer.status_code == 400
    assert "'ready'" in answer.get_json()["error"]


def test_memory_and_cpu_requests_reach_the_state(faulty):
    assert faulty.get("/fault/memory?size=8Mi").get_json() == {"memory_target": 8 * 2**20}
    assert faulty.get("/fault/cpu?cpus=1").get_json() == {"cpu_target": 1}
    state = faulty.get("/state").get_json()["state"]
    assert (state["memory_target"], state["cpu_target"]) == (8 * 2**20, 1)
    faulty.get("/fault/memory?size=0")
    faulty.get("/fault/cpu?cpus=0")


@pytest.mark.parametrize(
    ("path", "message"),
    [("/fault/memory?size=lots", "'size'"), ("/fault/memory", "'size'"),
     ("/fault/memory?size=" + "9" * 400, "'size': above the cap of 4Gi"),
     ("/fault/memory?size=5Gi", "'size': above the cap of 4Gi"),
     ("/fault/cpu?cpus=-1", "'cpus'"), ("/fault/cpu?cpus=x", "'cpus'"),
     ("/fault/cpu?cpus=65", "'cpus'")],
)
def test_bad_fault_parameters_are_named(faulty, path, message):
    answer = faulty.get(path)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]
    state = faulty.get("/state").get_json()["state"]
    assert (state["memory_target"], state["cpu_target"]) == (0, 0)
