"""A real `probe-demo serve` process, driven by signals, load and bad input."""

import json
import signal
import socket
import statistics
import threading
import time

import pytest
from processes import children_of, free_port, http_get, http_post, serve_once

from probe_demo.server.config import STOP_SIGNALS


def test_healthcheck_count_is_exact_under_concurrency(start_server):
    server = start_server("--variant", "unhealthy", "--healthy-checks", "300")
    codes: list[int] = []
    lock = threading.Lock()

    def hammer():
        for _ in range(40):
            code = http_get(server.url("/healthcheck"))[0]
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    # One process serves the pod: there is no worker whose death could lose the count.
    assert children_of(server.process.pid) == []
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 300 + [503] * 340
    state = json.loads(http_get(server.url("/state"))[1])
    assert state["state"]["healthchecks"] == 640
    assert state["live"] is False


def probe_latencies_under_load(server, load_path: str, probe_paths: list[str],
                               clients: int = 16) -> tuple[list[float], list[tuple]]:
    """Seconds each probe in `probe_paths` took (each must answer 200) while `clients` ask
    for `load_path` back to back; and the load's (status, headers) answers."""
    stop = threading.Event()
    answers: list[tuple] = []

    def keep_asking():
        while not stop.is_set():
            code, _, headers = http_get(server.url(load_path), timeout=30)
            answers.append((code, headers))

    loops = [threading.Thread(target=keep_asking) for _ in range(clients)]
    for loop in loops:
        loop.start()
    try:
        time.sleep(0.5)
        latencies = []
        for path in probe_paths:
            begin = time.monotonic()
            assert http_get(server.url(path), timeout=5)[0] == 200
            latencies.append(time.monotonic() - begin)
            time.sleep(0.05)
    finally:
        stop.set()
        for loop in loops:
            loop.join(timeout=30)
    return latencies, answers


def test_probes_answer_within_their_timeout_while_work_is_saturated(start_server):
    server = start_server("--max-work-ms", "1000")
    latencies, work_codes = probe_latencies_under_load(server, "/work?ms=1000",
                                                       ["/livez", "/readyz"] * 10)
    # The chart's probes give each answer 1 s (timeoutSeconds).
    assert max(latencies) < 1.0, f"probe latencies: {latencies}"
    shed = [headers for code, headers in work_codes if code == 503]
    assert shed and all(headers.get("Retry-After") for headers in shed)
    assert {code for code, _ in work_codes} <= {200, 503}
    metrics = http_get(server.url("/metrics"))[1]
    assert 'probe_demo_shed_requests_total{endpoint="/work"}' in metrics
    print(f"probe p50 {statistics.median(latencies) * 1000:.0f} ms, max "
          f"{max(latencies) * 1000:.0f} ms; /work shed {len(shed)} of {len(work_codes)}")


def test_probes_answer_within_their_timeout_while_many_pages_poll_ui(start_server):
    """Sixteen clients asking /ui/live back to back: far more than open tabs polling once a
    second. The kubelet's probes still get their answer within the chart's 1 s timeout."""
    server = start_server("--variant", "unhealthy", "--healthy-checks", "1000")
    latencies, polls = probe_latencies_under_load(
        server, "/ui/live", ["/livez", "/readyz", "/healthcheck"] * 10)
    assert max(latencies) < 1.0, f"probe latencies: {latencies}"
    assert polls and {code for code, _ in polls} == {200}


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
    assert '"event": "stop_listening"' in log
    assert '"connections_cut_off": 0' in log


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


@pytest.mark.parametrize("stop_signal", STOP_SIGNALS, ids=lambda s: s.name)
def test_every_stop_signal_drains_as_sigterm_does(start_server, stop_signal):
    """A pod whose lifecycle.stopSignal names one of them drains exactly as with SIGTERM:
    readiness fails at once, new connections are served through the drain, then it exits 0."""
    server = start_server("--variant", "graceful", "--drain-seconds", "1",
                          "--stop-signal", stop_signal.name)
    server.process.send_signal(stop_signal)
    time.sleep(0.3)
    assert http_get(server.url("/ready"))[0] == 500
    assert http_get(server.url("/status"))[0] == 200
    assert server.process.wait(timeout=20) == 0
    drain = next(json.loads(line) for line in server.log().splitlines()
                 if '"field": "draining"' in line)
    assert drain["signal"] == stop_signal.name
    assert '"connections_cut_off": 0' in server.log()


def test_only_the_stop_signal_it_was_given_drains_a_terminals_sigwinch_does_not(start_server):
    """Started by hand, a resized terminal sends SIGWINCH: not a stop signal unless asked."""
    server = start_server("--stop-signal", "SIGQUIT")
    server.process.send_signal(signal.SIGWINCH)
    time.sleep(0.3)
    assert server.process.poll() is None and http_get(server.url("/ready"))[0] == 200
    assert '"stop_signal": "SIGQUIT"' in server.log()


def test_a_stop_signal_the_server_does_not_drain_on_is_refused_naming_it():
    result = serve_once("--stop-signal", "SIGKILL")
    assert result.returncode == 2, result.stderr
    assert "--stop-signal" in result.stderr and "SIGQUIT" in result.stderr


def test_second_sigterm_cuts_the_drain_short(start_server):
    server = start_server("--variant", "graceful", "--drain-seconds", "60")
    server.terminate()
    time.sleep(0.5)
    assert server.process.poll() is None
    server.terminate()
    assert server.process.wait(timeout=20) == 0
    assert '"event": "drain_cut_short"' in server.log()


def test_health_file_turned_into_a_directory_is_logged_not_fatal(start_server, tmp_path):
    health_file = tmp_path / "healthy"
    server = start_server("--health-file", str(health_file), "--health-file-ttl", "0.5")
    health_file.unlink()
    health_file.mkdir()
    time.sleep(1.0)
    assert http_get(server.url("/livez"))[0] == 200
    assert "cannot remove" in server.log()


def test_bare_enable_faults_is_a_switch(start_server):
    server = start_server("--variant", "failing", "--enable-faults")
    assert http_post(server.url("/fault/readiness?ready=false"))[0] == 200


def test_a_request_with_huge_headers_leaves_a_short_log_line(start_server):
    server = start_server()
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        headers = "".join(f"X-Big-{i}: {'y' * 4000}\r\n" for i in range(50))
        connection.sendall(f"GET /livez HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
        assert connection.recv(100).startswith(b"HTTP/1.1 200")
    time.sleep(0.2)
    probe_lines = [line for line in server.log().splitlines() if '"event": "probe"' in line]
    assert probe_lines and max(len(line) for line in probe_lines) < 8000


def _one_line_error(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--variant", "sideways"], "--variant (PROBE_DEMO_VARIANT)='sideways': unknown variant "
                                    "(choose one of: date, failing, graceful, hello, unhealthy)"),
        (["--drain-seconds", "nan"], "--drain-seconds (PROBE_DEMO_DRAIN_SECONDS)='nan': not a "
                                     "number of seconds (must be finite)"),
        (["--graceful-timeout", "inf"], "--graceful-timeout (PROBE_DEMO_GRACEFUL_TIMEOUT)='inf'"),
        (["--graceful-timeout", "nan"], "--graceful-timeout (PROBE_DEMO_GRACEFUL_TIMEOUT)='nan'"),
        (["--startup-seconds=-inf"], "--startup-seconds (PROBE_DEMO_STARTUP_SECONDS)='-inf'"),
        (["--memory-at-start", "9" * 400], "--memory-at-start (PROBE_DEMO_MEMORY_AT_START)="),
        (["--memory-at-start", "5Gi"], "above the cap of 4Gi"),
        (["--exit-at-start", "256"],
         "--exit-at-start (PROBE_DEMO_EXIT_AT_START)='256': out of range (0-255)"),
        (["--port", "7777", "--grpc-port", "7777"],
         "--grpc-port (PROBE_DEMO_GRPC_PORT)=7777 is also --port (PROBE_DEMO_PORT)"),
        (["--threads", "2", "--work-concurrency", "2"],
         "--threads (PROBE_DEMO_THREADS)=2 must be above --work-concurrency"),
        (["--health-file", "/proc/version/healthy"], "--health-file (PROBE_DEMO_HEALTH_FILE)="),
        (["--health-file", "/tmp"], "is a directory"),
        (["--enable-faults", "maybe"], "--enable-faults (PROBE_DEMO_ENABLE_FAULTS)='maybe'"),
        (["--trusted-origins", "demo.example.com"],
         "--trusted-origins (PROBE_DEMO_TRUSTED_ORIGINS)='demo.example.com': "
         "'demo.example.com' is not an origin; write scheme://host[:port]"),
        (["--trusted-origins", "https://demo.example.com/ui"], "is not an origin"),
        (["--trusted-origins", "http://x:99999"], "the port must be a number from 1 to 65535"),
    ],
)
def test_bad_settings_exit_with_one_line_naming_them(args, expected):
    ports = [] if "--port" in args else ["--port", str(free_port()), "--grpc-port", "0"]
    assert expected in _one_line_error(serve_once("--host", "127.0.0.1", *ports, *args))


def test_a_port_in_use_is_named(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        http = _one_line_error(serve_once("--host", "127.0.0.1", "--port", str(port),
                                          "--grpc-port", "0"))
        grpc = _one_line_error(serve_once("--host", "127.0.0.1", "--port", str(free_port()),
                                          "--grpc-port", str(port)))
    assert http == (f"probe-demo: error: --port (PROBE_DEMO_PORT)={port}: cannot listen on "
                    f"127.0.0.1:{port}: already in use")
    assert f"--grpc-port (PROBE_DEMO_GRPC_PORT)={port}: cannot listen" in grpc


def test_grpc_port_of_a_running_server_is_not_shared(start_server):
    server = start_server()
    line = _one_line_error(serve_once("--host", "127.0.0.1", "--port", str(free_port()),
                                      "--grpc-port", str(server.grpc_port)))
    assert "already in use" in line


def test_bad_environment_exits_naming_the_variable():
    line = _one_line_error(serve_once(env={"PROBE_DEMO_PORT": "eighty", "PATH": "/usr/bin:/bin"}))
    assert "PROBE_DEMO_PORT (--port)='eighty'" in line


def test_unknown_variable_is_refused_not_ignored():
    line = _one_line_error(serve_once(env={"PROBE_DEMO_WORKERS": "2", "PATH": "/usr/bin:/bin"}))
    assert line.startswith("probe-demo: error: PROBE_DEMO_WORKERS: no such setting")
