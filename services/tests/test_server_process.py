"""A real `probe-demo serve`: supervisor, gunicorn and several workers, driven by signals."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import children_of, http_get


def _healthcheck_pids(server) -> list[int]:
    return [json.loads(line)["pid"] for line in server.log().splitlines()
            if '"path": "/healthcheck"' in line]


def test_healthcheck_count_is_per_pod_across_workers(start_server):
    server = start_server("--variant", "unhealthy", "--workers", "2", "--healthy-checks", "5")
    codes = [http_get(server.url("/healthcheck"))[0] for _ in range(3)]
    # The worker that answered dies; gunicorn replaces it and other processes answer next.
    time.sleep(0.2)
    first_pid = _healthcheck_pids(server)[-1]
    os.kill(first_pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while first_pid in _worker_pids(server.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    codes += [http_get(server.url("/healthcheck"))[0] for _ in range(4)]
    assert codes == [200] * 5 + [503] * 2
    time.sleep(0.2)
    assert len(set(_healthcheck_pids(server))) >= 2


def _worker_pids(supervisor_pid: int) -> set[int]:
    return {pid for gunicorn in children_of(supervisor_pid) for pid in children_of(gunicorn)}


def test_sigterm_drains_then_finishes_in_flight_requests(start_server):
    server = start_server("--variant", "graceful", "--drain-seconds", "2",
                          "--max-work-ms", "5000")
    slow: dict = {}

    def slow_request():
        slow["answer"] = http_get(server.url("/work?ms=2500"), timeout=20)

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.3)
    signalled = time.monotonic()
    server.terminate()
    time.sleep(0.3)
    assert http_get(server.url("/ready"))[0] == 500
    assert http_get(server.url("/livez"))[0] == 200
    # Throughout the drain window every new connection is served.
    during_drain = []
    while time.monotonic() - signalled < 1.6:
        during_drain.append(http_get(server.url("/status"), timeout=5)[0])
        time.sleep(0.02)
    assert during_drain and set(during_drain) == {200}
    worker.join(timeout=30)
    assert slow["answer"][0] == 200
    assert server.process.wait(timeout=30) == 0
    assert time.monotonic() - signalled >= 2.0
    log = server.log()
    assert '"field": "draining", "value": true' in log
    assert '"why": "drain finished"' in log


def test_sigterm_without_drain_still_completes_the_request_in_flight(start_server):
    server = start_server("--variant", "hello", "--max-work-ms", "5000")
    slow: dict = {}
    worker = threading.Thread(
        target=lambda: slow.setdefault("answer", http_get(server.url("/work?ms=1500"), 20))
    )
    worker.start()
    time.sleep(0.3)
    server.terminate()
    worker.join(timeout=30)
    assert slow["answer"][0] == 200
    assert server.process.wait(timeout=30) == 0


def test_second_sigterm_cuts_the_drain_short(start_server):
    server = start_server("--variant", "graceful", "--drain-seconds", "60")
    server.terminate()
    time.sleep(0.5)
    assert server.process.poll() is None
    server.terminate()
    assert server.process.wait(timeout=20) == 0
    assert "second stop signal" in server.log()


def test_gunicorn_goes_when_the_supervisor_is_killed(start_server):
    server = start_server("--variant", "hello")
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            http_get(server.url("/livez"), timeout=1)
        except OSError:
            return
        time.sleep(0.1)
    raise AssertionError("gunicorn kept serving after its supervisor died")


def test_bad_setting_exits_with_one_line_naming_it():
    result = subprocess.run(
        [sys.executable, "-m", "probe_demo", "serve", "--variant", "sideways"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "probe-demo: error: --variant (PROBE_DEMO_VARIANT)='sideways': unknown variant "
        "(choose one of: unhealthy, failing, hello, graceful, date)"
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_environment_exits_naming_the_variable():
    result = subprocess.run(
        [sys.executable, "-m", "probe_demo", "serve"], capture_output=True, text=True,
        timeout=30, env={"PROBE_DEMO_PORT": "eighty", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "PROBE_DEMO_PORT (--port)='eighty'" in result.stderr
    assert "Traceback" not in result.stderr
