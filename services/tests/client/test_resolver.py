"""The load client's name lookups: once a TTL for each name, not once a connection."""

import socket
import threading
import time

import pytest

from probe_demo.client.attempt import Attempt, Target
from probe_demo.client.load import ConnectionPool, LoadRun, fetch
from probe_demo.client.resolver import Resolver

LOOPBACK = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]


class Counted:
    """A getaddrinfo that counts its calls, answers loopback, and can be made to fail or
    to hang until `release` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False
        self.hang = threading.Event()
        self.release = threading.Event()

    def __call__(self, host, port, family, kind):
        self.calls += 1
        if self.hang.is_set():
            self.release.wait(10)
        if self.fail:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(f, k, p, n, (a[0], port)) for f, k, p, n, a in LOOPBACK]


def test_a_name_is_looked_up_once_a_ttl_and_again_after_it():
    lookup = Counted()
    resolver = Resolver(ttl=0.2, lookup=lookup)
    for _ in range(50):
        assert resolver.addresses("demo", 80)[0][4] == ("127.0.0.1", 80)
    assert lookup.calls == 1
    resolver.addresses("other", 80)
    resolver.addresses("demo", 8080)
    assert lookup.calls == 3, "each host and port is a name of its own"
    time.sleep(0.25)
    resolver.addresses("demo", 80)
    assert lookup.calls == 4


def test_a_name_that_stops_resolving_fails_every_attempt_after_its_ttl():
    lookup = Counted()
    resolver = Resolver(ttl=0.05, lookup=lookup)
    resolver.addresses("demo", 80)
    lookup.fail = True
    time.sleep(0.06)
    for _ in range(3):
        with pytest.raises(socket.gaierror):
            resolver.addresses("demo", 80)
    assert lookup.calls == 4, "a failed lookup is not kept: each attempt asks again"
    lookup.fail = False
    assert resolver.addresses("demo", 80)


def test_while_one_attempt_looks_a_name_up_again_the_others_use_what_it_had():
    lookup = Counted()
    resolver = Resolver(ttl=0.05, lookup=lookup)
    resolver.addresses("demo", 80)
    time.sleep(0.06)
    lookup.hang.set()
    slow = threading.Thread(target=resolver.addresses, args=("demo", 80))
    slow.start()
    while lookup.calls < 2:
        time.sleep(0.01)
    begin = time.monotonic()
    for _ in range(20):
        assert resolver.addresses("demo", 80)
    assert time.monotonic() - begin < 1, "the others waited for the slow lookup"
    assert lookup.calls == 2
    lookup.release.set()
    slow.join(5)


def test_new_and_keep_alive_connections_look_the_name_up_through_the_resolver(start_server):
    server = start_server("--variant", "hello")
    lookup = Counted()
    resolver = Resolver(ttl=60, lookup=lookup)
    target = Target.parse(server.url("/").replace("127.0.0.1", "demo.invalid"))
    for number in range(5):
        assert fetch(target, Attempt(number, 0.0, {}), 2, resolver=resolver).status == 200
    pool = ConnectionPool(target, 2, resolver=resolver)
    for number in range(5):
        assert pool.fetch(Attempt(number, 0.0, {}), 2).status == 200
    pool.close()
    assert lookup.calls == 1, "demo.invalid resolves only through the resolver's lookup"


def test_a_load_run_at_100_a_second_looks_its_name_up_about_once_a_second(start_server):
    server = start_server("--variant", "hello")
    lookup = Counted()
    run = LoadRun(server.url("/").replace("127.0.0.1", "demo.invalid"), rate=100,
                  duration=2, resolver=Resolver(lookup=lookup))
    attempts = run.run()
    assert len(attempts) == 200 and all(a.status == 200 for a in attempts), \
        {a.error for a in attempts}
    assert 1 <= lookup.calls <= 4, lookup.calls
