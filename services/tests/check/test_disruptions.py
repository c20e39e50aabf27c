"""The disruptions' decisions against a fake cluster: retry or report a blocked eviction,
scale to the HPA's floor, settle only when nothing is left moving."""

import datetime
from types import SimpleNamespace as NS

import pytest

from probe_demo.check import disruptions
from probe_demo.check.errors import CheckError


def pod(name, age, terminating=False, node="n1", tolerations=(), node_selector=None):
    created = datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=age)
    return NS(metadata=NS(name=name, creation_timestamp=created, labels={},
                          deletion_timestamp=created if terminating else None),
              spec=NS(node_name=node, node_selector=node_selector,
                      tolerations=[NS(key=k, operator=o, value=v, effect=e)
                                   for k, o, v, e in tolerations]))


def node(name, ready=True, unschedulable=None, taints=(), labels=None):
    return NS(metadata=NS(name=name, labels=labels or {}),
              spec=NS(unschedulable=unschedulable,
                      taints=[NS(key=k, value=v, effect=e) for k, v, e in taints]),
              status=NS(conditions=[NS(type="Ready", status="True" if ready else "False")]))


class FakeCluster:
    def __init__(self, replicas=3, ready=3, hpa_min=None, refusals=None):
        self.replicas, self.ready, self.hpa_min = replicas, ready, hpa_min
        self.refusals = refusals or {}  # pod -> refusals before it is evicted
        self.calls = []
        self.live = [pod(f"p{i}", i) for i in range(replicas)]

    def deployment(self, _name):
        status = NS(observed_generation=1, updated_replicas=self.ready, ready_replicas=self.ready,
                    available_replicas=self.ready, replicas=self.ready)
        return NS(metadata=NS(generation=1), spec=NS(replicas=self.replicas), status=status)

    def pods(self, _selector):
        return list(self.live)

    def evict(self, name):
        self.calls.append(("evict", name))
        if self.refusals.get(name, 0):
            self.refusals[name] -= 1
            return "The disruption budget demo needs 2 healthy pods and has 2 currently"
        return None

    def set_replicas(self, _name, replicas):
        self.calls.append(("scale", replicas))
        self.replicas = self.ready = replicas

    def hpa_minimum(self, _name):
        return self.hpa_min


class NodesCluster(FakeCluster):
    """Pods spread over nodes; an evicted pod's replacement lands on a node not cordoned."""

    def __init__(self, placement, nodes=None, **kwargs):
        super().__init__(replicas=len(placement), ready=len(placement), **kwargs)
        self.live = [pod(f"p{i}", i, node=where) for i, where in enumerate(placement)]
        self.node_list = nodes or [node(name) for name in sorted(set(placement))]
        self.cordoned = set()

    def nodes(self):
        return self.node_list

    def node(self, name):
        return next(n for n in self.node_list if n.metadata.name == name)

    def cordon(self, name, unschedulable=True):
        self.calls.append(("cordon" if unschedulable else "uncordon", name))
        (self.cordoned.add if unschedulable else self.cordoned.discard)(name)

    def evict(self, name):
        refused = super().evict(name)
        if refused is None:
            gone = next(p for p in self.live if p.metadata.name == name)
            self.live.remove(gone)
            free = next(n.metadata.name for n in self.node_list
                        if n.metadata.name not in self.cordoned and not n.spec.unschedulable)
            self.live.append(pod(f"{name}-new", 100 + len(self.live), node=free))
        return refused


def test_drain_empties_the_oldest_pods_node_and_leaves_it_uncordoned():
    cluster = NodesCluster(["n2", "n1", "n2", "n3"])
    run = disruptions.Disruption("drain")
    disruptions.drain(target(cluster), run)
    assert cluster.calls == [("cordon", "n2"), ("evict", "p0"), ("evict", "p2"),
                             ("uncordon", "n2")]
    assert not [p for p in cluster.live if p.spec.node_name == "n2"]
    assert run.notes == ["cordoned nodes/n2", "evicted p0", "evicted p2", "uncordoned nodes/n2"]


def test_drain_where_no_other_node_could_take_the_pods_is_refused_naming_each_reason():
    cluster = NodesCluster(["n1", "n1"], nodes=[
        node("n1"), node("n2", ready=False), node("n3", unschedulable=True),
        node("n4", taints=[("extra", "", "NoSchedule")]),
        node("n5", taints=[("soft", "", "PreferNoSchedule"), ("gpu", "yes", "NoSchedule")])])
    with pytest.raises(CheckError) as refused:
        disruptions.PRECONDITIONS["drain"](target(cluster))
    assert str(refused.value) == (
        "drain: refused: no node other than nodes/n1 could take its pods (n2: not Ready; "
        "n3: cordoned; n4: taint extra:NoSchedule not tolerated; "
        "n5: taint gpu:NoSchedule not tolerated)")
    assert cluster.calls == []


def test_nodes_refused_for_the_same_reason_are_named_together():
    cluster = NodesCluster(["n1"], nodes=[node("n1"), *(node(f"n{i}", ready=False)
                                                       for i in (3, 2, 4))])
    with pytest.raises(CheckError, match=r"\(n2, n3, n4: not Ready\)$"):
        disruptions.PRECONDITIONS["drain"](target(cluster))


def test_drain_on_a_one_node_cluster_is_refused_in_one_line():
    with pytest.raises(CheckError, match=r"^drain: refused: no node other than nodes/n1 could "
                                         r"take its pods \(the cluster has no other node\)$"):
        disruptions.PRECONDITIONS["drain"](target(NodesCluster(["n1", "n1"])))


def test_drain_of_pods_that_tolerate_a_cordon_is_refused():
    """They would be put back on the cordoned node, evicted again, for ever."""
    cluster = NodesCluster(["n1", "n2"])
    cluster.live = [pod("p0", 0, tolerations=[(None, "Exists", None, None)])]
    with pytest.raises(CheckError, match=r"^drain: refused: the pods tolerate "
                                         r"node.kubernetes.io/unschedulable"):
        disruptions.PRECONDITIONS["drain"](target(cluster))


def test_a_node_cordoned_before_the_drain_stays_cordoned():
    cluster = NodesCluster(["n1", "n2"], nodes=[node("n1", unschedulable=True), node("n2")])
    run = disruptions.Disruption("drain")
    disruptions.drain(target(cluster), run)
    assert cluster.calls == [("evict", "p0")]
    assert run.notes[0] == "nodes/n1 was cordoned already (and stays so)"


def test_an_uncordon_that_fails_after_a_failed_drain_is_said_and_the_first_error_kept(
        monkeypatch):
    monkeypatch.setattr(disruptions.time, "sleep", lambda _s: None)
    cluster = NodesCluster(["n1", "n2"])
    cluster.live.append(pod("stuck", -5, terminating=True, node="n2"))

    cordon_for_real = cluster.cordon

    def cordon(name, unschedulable=True):
        if not unschedulable:
            raise CheckError("no permission to patch nodes/n1 cluster-wide")
        cordon_for_real(name)
    cluster.cordon = cordon
    said = []
    checked = target(cluster, said)
    checked.settle_timeout = 0
    with pytest.raises(CheckError, match="did not settle"):
        disruptions.drain(checked, disruptions.Disruption("drain"))
    assert said[-1] == ("  drain: could not uncordon nodes/n1 (no permission to patch nodes/n1 "
                        "cluster-wide): run kubectl uncordon n1")


def test_an_eviction_refused_for_longer_than_the_settle_timeout_fails_naming_it(monkeypatch):
    monkeypatch.setattr(disruptions.time, "sleep", lambda _s: None)
    cluster = NodesCluster(["n1", "n2"], refusals={"p0": 1000})
    cluster.ready = 1  # never settles: the budget never lets p0 go
    checked = target(cluster)
    checked.settle_timeout = 0
    with pytest.raises(CheckError, match=r"^drain: eviction of p0 still refused after 0s"):
        disruptions.drain(checked, disruptions.Disruption("drain"))
    assert cluster.calls[-1] == ("uncordon", "n1")


@pytest.mark.parametrize(("toleration", "fits"), [
    (("extra", "Exists", None, "NoSchedule"), True),
    (("extra", "Exists", None, None), True),
    (("extra", "Equal", "yes", "NoSchedule"), True),
    (("extra", None, "yes", "NoSchedule"), True),  # as the API returns the default
    (("extra", "Lt", "yes", "NoSchedule"), False),
    (("extra", "Equal", "no", "NoSchedule"), False),
    (("extra", "Exists", None, "NoExecute"), False),
    (("other", "Exists", None, None), False),
])
def test_a_tolerated_taint_or_a_matching_selector_lets_the_drain_go(toleration, fits):
    cluster = NodesCluster(["n1"], nodes=[
        node("n1"), node("n2", taints=[("extra", "yes", "NoSchedule")], labels={"z": "a"})])
    cluster.live = [pod("p0", 0, tolerations=[toleration], node_selector={"z": "a"})]
    if fits:
        assert disruptions.PRECONDITIONS["drain"](target(cluster)) == "n1"
    else:
        with pytest.raises(CheckError, match=r"\(n2: taint extra:NoSchedule not tolerated\)"):
            disruptions.PRECONDITIONS["drain"](target(cluster))


def test_drain_uncordons_the_node_even_when_the_deployment_never_settles(monkeypatch):
    monkeypatch.setattr(disruptions.time, "sleep", lambda _s: None)
    cluster = NodesCluster(["n1", "n2"])
    cluster.live.append(pod("stuck", -5, terminating=True, node="n2"))
    checked = target(cluster)
    checked.settle_timeout = 0
    with pytest.raises(CheckError, match="did not settle"):
        disruptions.drain(checked, disruptions.Disruption("drain"))
    assert cluster.calls[-1] == ("uncordon", "n1")


def test_a_drain_the_budget_blocks_is_reported_and_the_node_uncordoned():
    cluster = NodesCluster(["n1", "n2"], refusals={"p0": 1000})
    run = disruptions.Disruption("drain")
    disruptions.drain(target(cluster), run)
    assert cluster.calls == [("cordon", "n1"), ("evict", "p0"), ("uncordon", "n1")]
    assert run.blocked.startswith("eviction of p0 can never be allowed")


def target(cluster, said=None):
    observer = NS(add=lambda *args: None)
    return disruptions.DisruptedDeployment(cluster, "demo", "app=demo", observer, 5,
                              (said if said is not None else []).append)


def test_an_eviction_refused_while_pods_are_replaced_is_retried(monkeypatch):
    cluster = FakeCluster(ready=2, refusals={"p1": 1})
    # While the check waits to retry, the replacement of p0 becomes ready.
    monkeypatch.setattr(disruptions.time, "sleep", lambda _s: setattr(cluster, "ready", 3))
    run = disruptions.Disruption("evict")
    disruptions.evict(target(cluster), run)
    assert cluster.calls == [("evict", "p0"), ("evict", "p1"), ("evict", "p1"), ("evict", "p2")]
    assert run.blocked is None
    assert run.notes[1].startswith("eviction of p1 refused: The disruption budget demo needs")


def test_an_eviction_refused_once_everything_has_settled_is_blocked_not_waited_on():
    cluster = FakeCluster(replicas=1, ready=1, refusals={"p0": 1000})
    run = disruptions.Disruption("evict")
    disruptions.evict(target(cluster), run)
    assert cluster.calls == [("evict", "p0")]
    assert run.blocked.startswith("eviction of p0 can never be allowed while the Deployment "
                                  "stays as it is: The disruption budget")


def test_scale_down_goes_to_one_and_back():
    cluster = FakeCluster(replicas=3)
    disruptions.scale_down(target(cluster), disruptions.Disruption("scale-down"))
    assert cluster.calls == [("scale", 1), ("scale", 3)]


def test_scale_down_stops_at_the_hpas_minimum():
    cluster = FakeCluster(replicas=4, ready=4, hpa_min=2)
    disruptions.scale_down(target(cluster), disruptions.Disruption("scale-down"))
    assert cluster.calls == [("scale", 2), ("scale", 4)]


def test_scale_down_of_a_single_replica_is_reported_not_faked():
    cluster = FakeCluster(replicas=1, ready=1)
    run = disruptions.Disruption("scale-down")
    disruptions.scale_down(target(cluster), run)
    assert cluster.calls == []
    assert run.blocked == "nothing to scale down: 1 replica(s), and the floor is 1"


def test_settle_waits_for_terminating_pods_and_gives_up_naming_why(monkeypatch):
    monkeypatch.setattr(disruptions.time, "sleep", lambda _s: None)
    cluster = FakeCluster()
    cluster.live.append(pod("old", -5, terminating=True))
    checked = target(cluster)
    assert checked.unsettled() == "pods still terminating: old"
    checked.settle_timeout = 0
    with pytest.raises(CheckError, match=r"rollout: the Deployment demo did not settle "
                                         r"within 0s \(pods still terminating: old\)"):
        checked.settle(disruptions.Disruption("rollout"))


def test_unknown_disruptions_are_named():
    from probe_demo.check import registry

    assert registry.parse("rollout, evict") == ["rollout", "evict"]
    with pytest.raises(ValueError, match="unknown disruption reboot; choose from rollout, "
                                         "delete, scale-down, evict, drain"):
        registry.parse("rollout,reboot")


def test_every_disruption_of_the_registry_has_its_function():
    from probe_demo.check import registry

    assert list(disruptions.RUN) == list(registry.NAMES)


def test_the_check_asks_for_what_it_watches_and_what_each_disruption_needs():
    from probe_demo.check import registry

    needs = registry.needs(["delete", "scale-down"])
    words = [p.words("demo") for p in needs]
    assert words[:3] == ["get deployments/demo", "get pods", "list pods"]
    assert "delete pods" in words and "patch deployments/demo" in words
    assert "get horizontalpodautoscalers/demo" in words
    assert "create pods/eviction" not in words
    assert len(words) == len(set(words))


def test_a_refused_call_names_the_verb_the_resource_and_the_namespace():
    from kubernetes.client.exceptions import ApiException

    from probe_demo.check.cluster import Cluster

    cluster = Cluster.__new__(Cluster)
    cluster.namespace = "team-a"
    refusal = ApiException(status=403, reason="Forbidden")
    refusal.body = ('{"message": "pods \\"p0\\" is forbidden: User \\"system:serviceaccount:'
                    'team-a:check\\" cannot create resource \\"pods/eviction\\""}')

    def refuse():
        raise refusal

    with pytest.raises(CheckError, match=r"^no permission to create pods/eviction in namespace "
                                         r"team-a: pods \"p0\" is forbidden"):
        cluster.call("create", "pods/eviction", refuse)



def test_an_endpoint_slice_left_with_no_endpoints_removes_them_all():
    """Every pod evicted at once: the API sends the slice with `endpoints: null`."""
    from probe_demo.check.events import EndpointConditions
    from probe_demo.check.observe import Observer

    observer = Observer(cluster=None, selector="app=demo", service="demo")
    ready = {"ready": True, "serving": True, "terminating": False}
    observer._on_slice("ADDED", {"metadata": {"name": "demo-x"}, "endpoints": [
        {"targetRef": {"kind": "Pod", "name": "p0"}, "conditions": ready},
        {"targetRef": {"kind": "Pod", "name": "p1"}, "conditions": {"ready": False}}]})
    observer._on_slice("MODIFIED", {"metadata": {"name": "demo-x"}, "endpoints": None})
    assert [(e.pod, e.endpoint) for e in observer.sorted_events()] == [
        ("p0", EndpointConditions(ready=True, serving=True, terminating=False)),
        ("p1", EndpointConditions(ready=False, serving=False, terminating=False)),
        ("p0", None), ("p1", None)]
