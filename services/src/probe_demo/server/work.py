"""/work: spend CPU per request, like the HPA walkthrough's php-apache, to drive autoscaling.

At most `work_concurrency` run at once. One more is refused at once with 503 and Retry-After
(counted as probe_demo_shed_requests_total) instead of queueing: a queue of slow work would
take every request thread, and the probes would wait behind it.
"""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, current_app, jsonify, request

from probe_demo.server.config import Settings
from probe_demo.server.context import services
from probe_demo.server.stress import burn_cpu_until

blueprint = Blueprint("work", __name__)
SLOTS_KEY = "probe_demo.work_slots"


class WorkSlots:
    def __init__(self, count: int):
        self.count = count
        self._slots = threading.BoundedSemaphore(count)

    def try_take(self) -> bool:
        return self._slots.acquire(blocking=False)

    def give_back(self) -> None:
        self._slots.release()


def register(app: Flask, settings: Settings) -> None:
    app.extensions[SLOTS_KEY] = WorkSlots(settings.work_concurrency)
    app.register_blueprint(blueprint)


@blueprint.get("/work")
def work():
    shared = services()
    limit = shared.settings.max_work_ms
    try:
        ms = int(request.args.get("ms", "100"))
    except ValueError:
        return jsonify(error="query parameter 'ms' must be a whole number"), 400
    if not 0 <= ms <= limit:
        message = f"query parameter 'ms' must be 0-{limit} (limit: PROBE_DEMO_MAX_WORK_MS)"
        return jsonify(error=message), 400
    slots: WorkSlots = current_app.extensions[SLOTS_KEY]
    if not slots.try_take():
        shared.metrics.shed.labels("/work").inc()
        retry_after = max(1, round(limit / 1000))
        message = (f"busy: {slots.count} /work requests already running "
                   "(PROBE_DEMO_WORK_CONCURRENCY); retry later")
        return jsonify(error=message), 503, {"Retry-After": str(retry_after)}
    try:
        rounds = burn_cpu_until(cpu_seconds=ms / 1000)
    finally:
        slots.give_back()
    return jsonify(worked_ms=ms, rounds=rounds)
