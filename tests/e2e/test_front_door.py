"""The rollout proof through the front door: the load enters through the cluster's Gateway
(Traefik, cluster/front-door.yaml) or an Ingress, which watch the EndpointSlices themselves,
keep their own connections to the pods and apply changes on their own schedule. The
front-door preset wires a scenario to that Gateway."""

import uuid

import pytest
from front_door import front_door
from support.cluster import disruption_rows, rollout_test_log

from probe_demo.check.registry import ONE_NODE

ALL = ",".join(ONE_NODE)


@pytest.fixture(autouse=True)
def _needs_the_front_door():
    door = front_door()
    if not door.exists():
        pytest.skip(f"needs the Gateway {door.namespace}/{door.gateway} "
                    "(make cluster-up installs it)")


def virtual_host() -> str:
    """One Gateway serves every test's route: each gets a name of its own."""
    return f"{uuid.uuid4().hex[:8]}.probe-demo.test"


def through_an_ingress(host: str) -> list[str]:
    door = front_door()
    return ["ingress.enabled=true", f"ingress.className={door.ingress_class}",
            f"ingress.hosts[0].host={host}", "ingress.hosts[0].paths[0].path=/",
            "ingress.hosts[0].paths[0].pathType=Prefix", f"rolloutCheck.url={door.url}"]


def test_zero_downtime_loses_nothing_through_the_gateway_in_every_disruption(install):
    release = install(["zero-downtime", "front-door"], "rolloutCheck.enabled=true",
                      f"rolloutCheck.disruptions={{{ALL}}}", "rolloutCheck.rate=100",
                      f"httpRoute.hostnames[0]={virtual_host()}")
    log, passed = rollout_test_log(release)
    assert passed, log
    assert f"to {front_door().url}/status (Host: " in log, log  # through the Gateway
    rows = disruption_rows(log)
    assert set(rows) == set(ONE_NODE), log
    for name, (attempts, failures) in rows.items():
        assert attempts > 500 and failures == 0, f"{name}: {attempts} attempts, {failures} failed"
    # Traefik's own view is on the timeline: it stopped routing to each old pod in time.
    assert "front door stopped routing here" in log, log


def test_zero_downtime_loses_nothing_through_an_ingress_in_every_disruption(install):
    release = install("zero-downtime", "rolloutCheck.enabled=true",
                      f"rolloutCheck.disruptions={{{ALL}}}", "rolloutCheck.rate=100",
                      *through_an_ingress(virtual_host()))
    log, passed = rollout_test_log(release)
    assert passed, log
    assert f"to {front_door().url}/status (Host: " in log, log
    for name, (attempts, failures) in disruption_rows(log).items():
        assert attempts > 500 and failures == 0, f"{name}: {attempts} attempts, {failures} failed"


def test_the_naive_preset_loses_requests_through_the_gateway(install):
    release = install(["naive-rollout", "front-door"], "rolloutCheck.enabled=true",
                      "rolloutCheck.rate=100", "rolloutCheck.disruptions={rollout,delete}",
                      f"httpRoute.hostnames[0]={virtual_host()}")
    log, passed = rollout_test_log(release)
    assert not passed, log
    assert disruption_rows(log)["rollout"][1] > 0, log
    assert "front door stopped routing here" in log, log
