"""Fault injection, off unless PROBE_DEMO_ENABLE_FAULTS=true (--enable-faults).

A Service may expose these endpoints, so each refuses with 403 and says how to turn it on.
Memory is held and CPUs are burnt by the server process itself (probe_demo.server.stress), so a
memory limit kills the container's main process and Kubernetes reports OOMKilled.

Every switch changes the pod's state, so it takes POST; a GET is refused with 405 and says so.
The one exception is /start-failing, which seed 001 opens in a web browser.

Cross-site requests are refused by an origin check rather than a token: a browser sends
`Origin` with every POST and every cross-origin fetch, and a POST whose Origin is not trusted
is answered 403 before anything changes. Trusted are: http:// origins on a loopback host
(localhost, 127.0.0.0/8, [::1]; any port, as `kubectl port-forward` picks one), http:// on
this pod's own name or addresses and its own port, and the origins listed in
--trusted-origins (an Ingress's https://demo.example.com). The Host header is not trusted:
after DNS rebinding a page on evil.example reaches this server with Host and Origin both
naming evil.example, and is refused because evil.example is none of the above. curl and
other clients without an Origin are not affected. A plain link to /start-failing still works
from anywhere, as seed 001 needs; that switch only restarts the container, which is what it
demonstrates.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import threading
from urllib.parse import urlsplit

from flask import Blueprint, jsonify, request

from probe_demo.server import health, logs
from probe_demo.server.config import MAX_CPU_BURNERS, parse_size
from probe_demo.server.context import services

blueprint = Blueprint("faults", __name__)

# Seed 001 opens /start-failing in a browser: the one switch a GET may flip.
BROWSER_SWITCH = "/start-failing"
SWITCHES = ("/start-failing", "/fault/readiness", "/fault/fail-next", "/fault/memory",
            "/fault/cpu", "/fault/exit")
MAX_FAIL_NEXT = 1000
# The answer to /fault/exit is sent before the process exits.
EXIT_DELAY_SECONDS = 0.2


def _whole_number(name: str, low: int, high: int) -> int | None:
    """Query parameter `name` as a whole number from low to high, or None if it is not one."""
    text = request.args.get(name, "")
    # ASCII digits only (str.isdigit also takes '²' and '①', which int() refuses); a huge
    # number is not parsed at all.
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        return None
    value = int(text)
    return value if low <= value <= high else None


def _refusal(message: str, status: int, **headers: str):
    return jsonify(error=message), status, headers


@blueprint.before_request
def guard():
    if not services().settings.enable_faults:
        return (
            "fault injection is disabled; start the server with --enable-faults "
            "(or PROBE_DEMO_ENABLE_FAULTS=true; chart value faults.enabled=true)\n",
            403,
        )
    if request.endpoint == "faults.unknown_switch":
        return None
    browser_switch = request.path == BROWSER_SWITCH and request.method == "GET"
    if request.method != "POST" and not browser_switch:
        allow = "GET, POST" if request.path == BROWSER_SWITCH else "POST"
        return _refusal(f"{request.path[:200]} changes the pod's state, so it takes POST, "
                        f"not {request.method[:32]}: curl -X POST '{request.url[:300]}'",
                        405, Allow=allow)
    origin = request.headers.get("Origin")
    if origin is not None and not trusted_origin(origin):
        return _refusal(f"cross-origin request refused: Origin {origin[:200]} is not this "
                        "pod, a loopback address or one of --trusted-origins "
                        "(PROBE_DEMO_TRUSTED_ORIGINS; chart value faults.trustedOrigins)", 403)
    return None


def trusted_origin(origin: str) -> bool:
    settings = services().settings
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if not host or parts.path or f"{parts.scheme}://{parts.netloc.lower()}" != origin.lower():
        return False  # "null", a path, or anything else a browser would not send
    if origin.lower() in settings.trusted_origins:
        return True
    if parts.scheme != "http":
        return False  # this server speaks plain HTTP; https is an Ingress: list it
    if _loopback(host):
        return True
    return (port or 80) == settings.port and host in own_names(services().hostname)


@functools.cache
def own_names(hostname: str) -> frozenset[str]:
    """This host's name, aliases and addresses (a pod's hostname resolves to its IPs),
    looked up when an Origin first needs them rather than at every start."""
    names = {hostname.lower()}
    try:
        canonical, aliases, _ = socket.gethostbyname_ex(hostname)
        names.update(name.lower() for name in (canonical, *aliases))
        names.update(info[4][0] for info in socket.getaddrinfo(hostname, None))
    except OSError:
        pass
    return frozenset(names)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@blueprint.route("/fault/<path:name>", methods=["GET", "POST"])
def unknown_switch(name: str):
    return _refusal(f"no switch /fault/{name[:100]}; the switches are {', '.join(SWITCHES)}",
                    404)


@blueprint.route("/start-failing", methods=["GET", "POST"])
def start_failing():
    before = services().state.set(failing=True)
    if not before["failing"]:
        logs.event("state_change", field="failing", value=True, cause="/start-failing")
    return "liveness endpoints now fail until the container restarts\n"


@blueprint.route("/fault/readiness", methods=["GET", "POST"])
def readiness():
    ready = request.args.get("ready", "").lower()
    if ready not in ("true", "false"):
        return _refusal("query parameter 'ready' must be true or false, e.g. "
                        "/fault/readiness?ready=false", 400)
    value = None if ready == "true" else False
    services().state.set(ready_override=value)
    logs.event("state_change", field="ready_override", value=value, cause="/fault/readiness")
    return jsonify(ready_override=value)


@blueprint.route("/fault/fail-next", methods=["GET", "POST"])
def fail_next():
    """kuard's model: the next `count` probes of one kind fail, then the server decides again."""
    probe = request.args.get("probe", "")
    if probe not in health.PROBE_KINDS:
        return _refusal(f"query parameter 'probe' must be one of "
                        f"{', '.join(health.PROBE_KINDS)}", 400)
    count = _whole_number("count", 1, MAX_FAIL_NEXT)
    if count is None:
        return _refusal(f"query parameter 'count' must be a whole number from 1 to "
                        f"{MAX_FAIL_NEXT}", 400)
    services().state.set(**{f"fail_next_{probe}": count})
    logs.event("state_change", field=f"fail_next_{probe}", value=count,
               cause="/fault/fail-next")
    return jsonify(probe=probe, fail_next=count)


@blueprint.route("/fault/memory", methods=["GET", "POST"])
def memory():
    try:
        size = parse_size(request.args.get("size", ""))
    except ValueError as err:
        return _refusal(f"query parameter 'size': {err}", 400)
    services().resources.hold_memory(size, cause="/fault/memory")
    return jsonify(memory_target=size)


@blueprint.route("/fault/cpu", methods=["GET", "POST"])
def cpu():
    cpus = _whole_number("cpus", 0, MAX_CPU_BURNERS)
    if cpus is None:
        return _refusal(f"query parameter 'cpus' must be 0-{MAX_CPU_BURNERS}", 400)
    services().resources.burn_cpus(cpus, cause="/fault/cpu")
    return jsonify(cpu_target=cpus)


@blueprint.route("/fault/exit", methods=["GET", "POST"])
def exit_now():
    """Crash: the process exits with `code` right after answering, as a crashing app would
    (no drain). The container's restart policy decides what happens next."""
    code = _whole_number("code", 0, 255)
    if code is None:
        return _refusal("query parameter 'code' must be an exit code, 0-255", 400)
    schedule_exit(code, EXIT_DELAY_SECONDS, cause="/fault/exit")
    return jsonify(exit_code=code, in_seconds=EXIT_DELAY_SECONDS)


def schedule_exit(code: int, seconds: float, cause: str) -> None:
    """Exit the process with `code` in `seconds`, with no drain: a crash, as the container's
    restart policy and rules see it."""
    logs.event("exit", code=code, cause=cause, in_seconds=seconds)
    timer = threading.Timer(seconds, os._exit, args=(code,))
    timer.daemon = True
    timer.start()
