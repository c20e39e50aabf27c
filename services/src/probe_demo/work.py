"""/work: spend CPU per request, like the HPA walkthrough's php-apache, to drive autoscaling."""

from __future__ import annotations

import time

from flask import Blueprint, jsonify, request

from probe_demo.app import services

blueprint = Blueprint("work", __name__)


@blueprint.get("/work")
def work():
    limit = services().settings.max_work_ms
    try:
        ms = int(request.args.get("ms", "100"))
    except ValueError:
        return jsonify(error="query parameter 'ms' must be a whole number"), 400
    if not 0 <= ms <= limit:
        message = f"query parameter 'ms' must be 0-{limit} (limit: PROBE_DEMO_MAX_WORK_MS)"
        return jsonify(error=message), 400
    deadline = time.thread_time() + ms / 1000
    spins = 0
    while time.thread_time() < deadline:
        spins += 1
    return jsonify(worked_ms=ms, spins=spins)
