"""What the load client is asked to do: each option declared once, with its default, how a
flag's text is read, its bound and its help (probe_demo.parsing.option), as
probe_demo.server.config.Settings declares the server's. `probe-demo client`'s flags and
their checks are made from these fields; the check's load options reuse CONNECTIONS and
POOL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from probe_demo.client.attempt import Target, authority
from probe_demo.client.load import (
    CONNECTION_MODES,
    DEFAULT_POOL,
    DEFAULT_TIMEOUT,
    MAX_POOL,
    MAX_RATE,
)
from probe_demo.parsing import (
    ConfigError,
    check_bounds,
    finite_number,
    option,
    whole_number,
    whole_number_in,
)

OUTPUTS = ("lines", "progress", "quiet")

# The options of how the load is sent, shared with `probe-demo check`.
CONNECTIONS: dict[str, Any] = {
    "default": "new", "choices": CONNECTION_MODES,
    "help_text": "new: a connection per request, closed after it; keep-alive: a pool of "
                 "connections reused until the server closes them, as pooled HTTP "
                 "clients, proxies and meshes do",
}
HOST: dict[str, Any] = {
    "default": None, "parse": authority, "metavar": "NAME",
    "help_text": "send this Host header (or gRPC :authority) instead of the URL's: a "
                 "virtual host of an Ingress or a Gateway, reached at the URL's address",
}
POOL: dict[str, Any] = {
    "default": DEFAULT_POOL, "parse": whole_number_in(1, MAX_POOL),
    "help_text": f"keep-alive: connections held open at most, 1-{MAX_POOL}",
}


@dataclass
class ClientOptions:
    url: str = option(None, "e.g. http://probe-demo:8080/status", positional=True)
    rate: float = option(10.0, "attempts a second", finite_number, "above 0")
    duration: float | None = option(None, "seconds to run (default: until stopped)",
                                    finite_number, "above 0")
    timeout: float = option(DEFAULT_TIMEOUT, "seconds one attempt may take", finite_number,
                            "above 0")
    max_failures: int = option(0, "failures allowed before the exit code is 1", whole_number,
                               "not negative")
    host: str | None = option(**HOST)
    connections: str = option(**CONNECTIONS)
    pool: int = option(**POOL)
    output: str = option("lines", "lines: every attempt (seed 002 layout); progress: one "
                                  "live line; quiet: the summary only", choices=OUTPUTS)

    def check(self) -> None:
        """Every option the client can use, or one ConfigError naming the first that is not."""
        check_bounds(self)
        check_rate(self.rate)
        try:
            Target.parse(self.url)
        except ValueError as err:
            raise ConfigError(str(err)) from None


def check_rate(rate: float) -> None:
    if rate > MAX_RATE:
        raise ConfigError(f"--rate={rate:g}: above {MAX_RATE} attempts a second, more than "
                          "one client process can start; run several clients")
