"""Fault injection, off unless PROBE_DEMO_ENABLE_FAULTS=true (--enable-faults).

A Service may expose these endpoints, so each refuses with 403 and says how to turn it on.
Memory is held and CPUs are burnt by the server process itself (probe_demo.resources), so a
memory limit kills the container's main process and Kubernetes reports OOMKilled.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from probe_demo import logs
from probe_demo.config import MAX_CPU_BURNERS, parse_size
from probe_demo.context import services

blueprint = Blueprint("faults", __name__)


@blueprint.before_request
def require_enabled():
    if not services().settings.enable_faults:
        return (
            "fault injection is disabled; start the server with --enable-faults "
            "(or PROBE_DEMO_ENABLE_FAULTS=true; chart value faults.enabled=true)\n",
            403,
        )
    return None


@blueprint.route("/start-failing", methods=["GET", "POST"])
def start_failing():
    before = services().state.set(failing=True)
    if not before["failing"]:
        logs.event("state_change", field="failing", value=True, cause="/start-failing")
    return "liveness endpoints now fail until the container restarts\n"


@blueprint.route("/fault/readiness", methods=["GET", "POST"])
def readiness():
    ready = request.args.get("ready", "false").lower()
    if ready not in ("true", "false"):
        return jsonify(error="query parameter 'ready' must be true or false"), 400
    value = None if ready == "true" else False
    services().state.set(ready_override=value)
    logs.event("state_change", field="ready_override", value=value, cause="/fault/readiness")
    return jsonify(ready_override=value)


@blueprint.route("/fault/memory", methods=["GET", "POST"])
def memory():
    try:
        size = parse_size(request.args.get("size", ""))
    except ValueError as err:
        return jsonify(error=f"query parameter 'size': {err}"), 400
    services().resources.hold_memory(size, cause="/fault/memory")
    return jsonify(memory_target=size)


@blueprint.route("/fault/cpu", methods=["GET", "POST"])
def cpu():
    try:
        cpus = int(request.args.get("cpus", ""))
    except ValueError:
        cpus = -1
    if not 0 <= cpus <= MAX_CPU_BURNERS:
        return jsonify(error=f"query parameter 'cpus' must be 0-{MAX_CPU_BURNERS}"), 400
    services().resources.burn_cpus(cpus, cause="/fault/cpu")
    return jsonify(cpu_target=cpus)
