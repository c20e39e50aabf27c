"""Fault injection, off unless PROBE_DEMO_ENABLE_FAULTS=true (--enable-faults).

A Service may expose these endpoints, so each refuses with 403 and says how to turn it on.
Memory and CPU are only requested here: the supervisor (PID 1) holds the memory and runs the
burners, so a memory limit kills the container's main process and Kubernetes reports OOMKilled.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from probe_demo import logs
from probe_demo.app import services
from probe_demo.config import parse_size

blueprint = Blueprint("faults", __name__)

MAX_CPU_BURNERS = 64


@blueprint.before_request
def require_enabled():
    if not services().settings.enable_faults:
        return (
            "fault injection is disabled; start the server with --enable-faults or "
            "PROBE_DEMO_ENABLE_FAULTS=true (chart value faults.enabled=true)\n",
            403,
        )
    return None


@blueprint.route("/start-failing", methods=["GET", "POST"])
def start_failing():
    before = services().state.set(failing=True)
    if not before["failing"]:
        logs.event("state_change", field="failing", value=True, cause="/start-failing")
    return "liveness endpoints now fail until the container restarts\n"


def _set(field: str, value: object, cause: str):
    """Set one field of the pod state, log the change, answer it as JSON."""
    services().state.set(**{field: value})
    logs.event("state_change", field=field, value=value, cause=cause)
    return jsonify({field: value})


@blueprint.route("/fault/readiness", methods=["GET", "POST"])
def readiness():
    ready = request.args.get("ready", "false").lower()
    if ready not in ("true", "false"):
        return jsonify(error="query parameter 'ready' must be true or false"), 400
    return _set("ready_override", None if ready == "true" else False, "/fault/readiness")


@blueprint.route("/fault/memory", methods=["GET", "POST"])
def memory():
    try:
        size = parse_size(request.args.get("size", ""))
    except ValueError as err:
        return jsonify(error=f"query parameter 'size': {err}"), 400
    return _set("memory_target", size, "/fault/memory")


@blueprint.route("/fault/cpu", methods=["GET", "POST"])
def cpu():
    try:
        cpus = int(request.args.get("cpus", ""))
    except ValueError:
        cpus = -1
    if not 0 <= cpus <= MAX_CPU_BURNERS:
        return jsonify(error=f"query parameter 'cpus' must be 0-{MAX_CPU_BURNERS}"), 400
    return _set("cpu_target", cpus, "/fault/cpu")
