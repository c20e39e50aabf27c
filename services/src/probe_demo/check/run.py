"""`probe-demo check`: steady load through the Service while the Deployment goes through the
chosen disruptions one after another; every lost request counted, and shown on one
timeline with the pods' lifecycles, their endpoints' conditions and the server's events.

The `helm test` pod (rolloutCheck.enabled) and the command line run this same code.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from probe_demo.check import disruptions, registry
from probe_demo.check.cluster import Cluster
from probe_demo.check.errors import CheckError
from probe_demo.check.events import Event, EventKind
from probe_demo.check.observe import Observer
from probe_demo.check.options import CheckOptions
from probe_demo.check.proxy import ServiceProxy
from probe_demo.client.attempt import Attempt, Target
from probe_demo.client.load import LoadRun, fetch
from probe_demo.client.summary import summarize

FIRST_ANSWER_RETRY_SECONDS = 0.5


@dataclass
class CheckResult:
    options: CheckOptions
    namespace: str
    deployment: str
    service: str
    url: str
    attempts: list[Attempt]
    began_at: float  # wall-clock time of attempt 0
    elapsed: float
    events: list[Event]
    runs: list[disruptions.Disruption]
    template_of: dict[str, str]
    watch_errors: list[str]
    pool: Any = None  # keep-alive or gRPC: the load's connections (see LoadRun.pool)
    not_sent: int = 0  # attempts the load could not send: every worker was busy
    max_lag: float = 0.0  # the most an attempt started after its time
    node_of: dict[str, str] = field(default_factory=dict)  # pod -> the node it ran on

    @property
    def summary(self) -> dict[str, Any]:
        return summarize(self.attempts, self.url, self.options.rate, self.elapsed, self.pool,
                         self.not_sent, self.max_lag)

    def window(self, index: int) -> list[Attempt]:
        """Attempts started during disruption `index`: from its start to the next one's
        (the last one keeps the load that ran after it)."""
        begin = self.runs[index].started - self.began_at
        end = (self.runs[index + 1].started - self.began_at if index + 1 < len(self.runs)
               else float("inf"))
        return [a for a in self.attempts if begin <= a.started < end]

    @property
    def failures(self) -> int:
        return sum(1 for attempt in self.attempts if not attempt.ok)

    @property
    def passed(self) -> bool:
        return self.failures <= self.options.max_failures and not self.blocked

    @property
    def blocked(self) -> list[str]:
        return [f"{run.name}: {run.blocked}" for run in self.runs if run.blocked]


def _preflight(cluster: Cluster, deployment: str, names: list[str]) -> None:
    """Refuse before any load is sent when a verb the check or a disruption needs is not
    allowed."""
    for permission in registry.needs(names):
        if permission.required and not cluster.may(permission.verb, permission.resource,
                           deployment if permission.named else None,
                           permission.subresource, permission.group,
                           permission.cluster_scoped):
            needed_by = [name for name in names
                         if permission in registry.BY_NAME[name].needs]
            where = ("cluster-wide" if permission.cluster_scoped
                     else f"in namespace {cluster.namespace}")
            raise CheckError(f"no permission to {permission.words(deployment)} {where}, which "
                             f"{', '.join(needed_by) if needed_by else 'the check'} needs")


def _first_answer(url: str, fetcher: Callable[[Attempt, float], Attempt] | None,
                  options: CheckOptions, say: Callable[[str], None]) -> None:
    """Wait, up to --settle-timeout, until the load's address answers once before the load
    is counted: a front door applies a new route on its own schedule (Traefik every 2 s)
    and answers 503 until then, which is no disruption's doing."""
    if url.startswith("grpc://"):
        return  # a gRPC channel to the Service itself: nothing in between to wait for
    if fetcher is None:
        fetcher = functools.partial(fetch, Target.parse(url, options.host))

    deadline = time.monotonic() + options.settle_timeout
    waited = False
    while True:
        attempt = fetcher(Attempt(0, 0.0, {}), options.timeout)
        if attempt.ok:
            if waited:
                say(f"{url} answers: the load begins")
            return
        if time.monotonic() > deadline:
            raise CheckError(f"{url} did not answer within --settle-timeout "
                             f"({options.settle_timeout:g} s); it said {attempt.outcome}")
        if not waited:
            say(f"waiting for {url} to answer before the load begins (it said "
                f"{attempt.outcome})")
            waited = True
        time.sleep(FIRST_ANSWER_RETRY_SECONDS)


def run_check(options: CheckOptions, say: Callable[[str], None] = print) -> CheckResult:
    cluster = Cluster(options.namespace, options.context)
    deployment = options.deployment or (
        cluster.find_deployment(options.release) if options.release else None)
    if not deployment:
        raise CheckError("name the Deployment to check: --release NAME or --deployment NAME")
    _preflight(cluster, deployment, options.disruptions)
    found = cluster.deployment(deployment)
    labels = found.spec.selector.match_labels or {}
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    service = options.service or deployment
    observer = Observer(cluster, selector, service, front_door_api=options.front_door_api,
                        deployment=deployment)
    target = disruptions.DisruptedDeployment(cluster, deployment, selector, observer,
                                             options.settle_timeout, say)
    for name in dict.fromkeys(options.disruptions):
        if name in disruptions.PRECONDITIONS:
            disruptions.PRECONDITIONS[name](target)
    if options.url:
        url, fetcher = options.url, None
    else:
        proxy = ServiceProxy(cluster, service, options.path)
        url, fetcher = proxy.url, proxy.fetch
    if url.startswith("grpc://"):
        clients = "gRPC health calls on one long-lived HTTP/2 connection"
    elif options.connections == "new":
        clients = "a new connection each"
    else:
        clients = f"on up to {options.pool} keep-alive connections"
    say(f"checking deployments/{deployment} in namespace {cluster.namespace}: "
        f"{options.rate:g} requests/s to {url}"
        f"{f' (Host: {options.host})' if options.host else ''}, {clients}; disruptions: "
        f"{', '.join(options.disruptions)}")

    _first_answer(url, fetcher, options, say)
    observer.start()
    load = LoadRun(url, options.rate, None, options.timeout, fetcher=fetcher,
                   connections=options.connections, pool_size=options.pool,
                   host=options.host)
    loader = threading.Thread(target=load.run, daemon=True)
    loader.start()
    runs: list[disruptions.Disruption] = []
    try:
        time.sleep(options.before)
        for number, name in enumerate(options.disruptions):
            if number:
                time.sleep(options.pause)
            run = disruptions.Disruption(name, started=time.time())
            runs.append(run)
            observer.add("", EventKind.DISRUPTION_BEGINS, name)
            say(f"{name}: begins")
            disruptions.RUN[name](target, run)
            run.settled = time.time()
            observer.add("", EventKind.DISRUPTION_SETTLED, name)
            say(f"{name}: settled after {run.settled - run.started:.1f}s")
        time.sleep(options.after)
    finally:
        load.stop.set()
        loader.join()
        observer.stop()
    return CheckResult(options, cluster.namespace, deployment, service, url, load.attempts,
                       load.began_at, load.elapsed, observer.sorted_events(), runs,
                       dict(observer.template_of), observer.errors, load.pool, load.not_sent,
                       load.max_lag, dict(observer.node_of))
