"""`probe-demo client` against real local servers."""

import contextlib
import json
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from processes import free_port

from probe_demo.client.attempt import version_of
from probe_demo.client.load import LoadRun


def run_client(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probe_demo", "client", *args],
                          capture_output=True, text=True, timeout=timeout)


class Misbehaving:
    """A loopback server that answers every request with `answer(connection)`."""

    def __init__(self, answer) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answer = answer
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(4096)
                self.answer(connection)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def test_counts_every_attempt_against_a_healthy_server(start_server, tmp_path):
    server = start_server("--variant", "hello", "--tag", "green")
    summary_file = tmp_path / "summary.json"
    result = run_client(server.url("/"), "--rate", "40", "--duration", "2", "--json",
                        str(summary_file))
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_file.read_text())
    assert 75 <= summary["attempts"] <= 81
    assert summary["failures"] == 0
    assert summary["versions"] == {"green": summary["attempts"]}
    assert f"attempts:  {summary['attempts']}" in result.stdout
    assert f"successes: {summary['attempts']} (100.0%)" in result.stdout
    assert "failures:  0 (0.0%)" in result.stdout
    assert "(TAG green)" in result.stdout
    assert "remote date: {'year'" in result.stdout


def test_server_killed_mid_run_counts_failures_and_exits_1(start_server, tmp_path):
    server = start_server("--variant", "graceful", "--drain-seconds", "0")
    summary_file = tmp_path / "summary.json"
    client = subprocess.Popen(
        [sys.executable, "-m", "probe_demo", "client", server.url("/status"), "--rate", "50",
         "--duration", "3", "--output", "lines", "--json", str(summary_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert client.stdout.readline()  # a second of load from the first attempt on
    time.sleep(1.0)
    server.process.send_signal(signal.SIGKILL)
    out, err = client.communicate(timeout=60)
    assert client.returncode == 1, err
    summary = json.loads(summary_file.read_text())
    assert summary["successes"] >= 30
    assert summary["failures"] >= 50
    assert summary["attempts"] == summary["successes"] + summary["failures"]
    assert "connection refused" in summary["failure_kinds"]
    assert summary["versions"] == {"OK": summary["successes"]}
    assert f"failures:  {summary['failures']}" in out


def test_failure_budget_decides_the_exit_code():
    closed = f"http://127.0.0.1:{free_port()}/"
    assert run_client(closed, "--rate", "20", "--duration", "0.5", "--output", "quiet",
                      "--max-failures", "100").returncode == 0
    refused = run_client(closed, "--rate", "20", "--duration", "0.5", "--output", "quiet")
    assert refused.returncode == 1
    assert "failed as: connection refused=10" in refused.stdout


def test_sigint_stops_the_run_and_prints_the_summary(start_server):
    server = start_server("--variant", "hello")
    client = subprocess.Popen(
        [sys.executable, "-m", "probe_demo", "client", server.url("/"), "--rate", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(1.5)
    client.send_signal(signal.SIGINT)
    out, _ = client.communicate(timeout=30)
    assert client.returncode == 0
    assert "attempts:  " in out
    assert "failures:  0 (0.0%)" in out


def test_http_errors_are_failures_with_their_code(start_server):
    server = start_server("--variant", "unhealthy", "--healthy-checks", "2")
    run = LoadRun(server.url("/healthcheck"), rate=20, duration=0.5)
    attempts = run.run()
    assert [a.ok for a in attempts] == [True, True] + [False] * 8
    assert {a.outcome for a in attempts[2:]} == {"HTTP 503"}


def test_timeout_is_a_failure_not_a_crash(start_server):
    server = start_server("--variant", "hello", "--max-work-ms", "5000")
    attempts = LoadRun(server.url("/work?ms=2000"), rate=2, duration=1, timeout=0.3).run()
    assert len(attempts) == 2
    assert {a.outcome for a in attempts} == {"timeout"}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["http://x/", "--rate", "0"], "--rate=0.0: must be above 0"),
        (["ftp://x/"], "must look like http://host"),
        (["http://x/", "--timeline", "out.png"], "--timeline=out.png"),
        (["http://x/", "--rate", "nan"], "argument --rate: 'nan': not a number (must be finite)"),
        (["http://x/", "--rate", "inf"], "argument --rate: 'inf'"),
        (["http://x/", "--timeout", "inf"], "argument --timeout: 'inf'"),
        (["http://x/", "--duration", "nan"], "argument --duration: 'nan'"),
        (["http://x/", "--json", "/no/such/dir/out.json"],
         "--json=/no/such/dir/out.json: the folder /no/such/dir does not exist"),
        (["http://x/", "--timeline", "/no/such/dir/t.svg"], "--timeline=/no/such/dir/t.svg"),
        (["http://x:0/"], "port 0 is no port to connect to"),
        (["http://x:99999/"], "the port must be a number from 1 to 65535"),
        (["http://x/", "--connections", "pooled"], "argument --connections: invalid choice"),
        (["http://x/", "--pool", "0"], "argument --pool: '0': out of range (1-256)"),
        (["http://x/", "--pool", "257"], "argument --pool: '257': out of range (1-256)"),
        (["http://x/", "--pool", "many"], "argument --pool: 'many': not a whole number"),
        (["http://x/", "--rate", "1e12"], "--rate=1e+12: above 5000 attempts a second"),
        (["http://x/a b"], "contains a space; percent-encode it"),
        (["http://a..b/"], "'a..b' is no host name (a label is empty or over 63"),
        ([f"http://{'x' * 64}.test/"], "is no host name"),
        (["http://x/a\r\nX-Injected: 1"], "contains a carriage return (CR)"),
    ],
)
def test_bad_client_arguments_are_one_line_naming_them(args, named):
    result = run_client(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert result.stdout == ""


def test_https_to_a_plain_http_server_is_named_as_tls():
    server = Misbehaving(
        lambda connection: connection.sendall(b"HTTP/1.1 400 Bad Request\r\n"
                                              b"Content-Length: 0\r\n\r\n"))
    result = run_client(f"https://127.0.0.1:{server.port}/status", "--duration", "0.3",
                        "--output", "quiet")
    server.close()
    assert result.returncode == 1
    assert "failed as: tls: wrong version number=" in result.stdout


def test_version_of_reads_tags_and_text():
    assert version_of(b'{"date": {}, "tag": "blue"}') == "blue"
    assert version_of(b"OK!!\n") == "OK!!"
    assert version_of(b"") is None
    assert version_of(b'{"worked_ms": 100, "rounds": 12345}') is None



def test_network_errors_are_named_in_words():
    import errno

    from probe_demo.client.attempt import error_name

    assert error_name(OSError(errno.EHOSTUNREACH, "x")) == "no route to host"
    assert error_name(OSError(errno.EINVAL, "x")) == "invalid argument"
    assert error_name(ConnectionRefusedError(errno.ECONNREFUSED, "x")) == "connection refused"


def test_a_refused_connect_still_records_its_source_port():
    from probe_demo.client.attempt import Attempt, Target
    from probe_demo.client.load import fetch

    attempt = fetch(Target.parse(f"http://127.0.0.1:{free_port()}/"), Attempt(1, 0.0, {}), 1)
    assert attempt.error == "connection refused"
    assert attempt.local_port and 1024 < attempt.local_port < 65536


def test_keep_alive_reuses_its_pooled_connections(start_server, tmp_path):
    server = start_server("--variant", "graceful")
    summary_file = tmp_path / "summary.json"
    result = run_client(server.url("/status"), "--rate", "100", "--duration", "1",
                        "--connections", "keep-alive", "--pool", "4", "--output", "quiet",
                        "--json", str(summary_file))
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_file.read_text())
    assert summary["failures"] == 0 and summary["attempts"] >= 95
    assert summary["connections"]["mode"] == "keep-alive"
    assert 1 <= summary["connections"]["opened"] <= 4
    assert "opened (keep-alive, pool 4), 0 closed by the server" in result.stdout


def test_keep_alive_follows_the_servers_close_through_a_drain(start_server, tmp_path):
    server = start_server("--variant", "graceful", "--drain-seconds", "3")
    summary_file = tmp_path / "summary.json"
    client = subprocess.Popen(
        [sys.executable, "-m", "probe_demo", "client", server.url("/status"), "--rate", "200",
         "--duration", "2.5", "--connections", "keep-alive", "--pool", "8", "--output",
         "quiet", "--json", str(summary_file)], stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    server.terminate()
    client.communicate(timeout=60)
    summary = json.loads(summary_file.read_text())
    assert summary["failures"] == 0, summary["failure_kinds"]
    # Every answer in the drain closed its connection, so the client kept opening new ones.
    assert summary["connections"]["closed_by_server"] >= 100
    assert summary["connections"]["opened"] >= summary["connections"]["closed_by_server"]


def test_a_failure_on_a_reused_connection_is_its_own_kind():
    def answer_once_then_reset(connection: socket.socket) -> None:
        """One answer on each connection; the second request is cut off unanswered."""
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
        connection.recv(4096)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = Misbehaving(answer_once_then_reset)
    load = LoadRun(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5, timeout=2,
                   connections="keep-alive", pool_size=1)
    attempts = load.run()
    server.close()
    reused = [a for a in attempts if a.reused and not a.ok]
    assert reused and all(a.outcome.endswith("(reused connection)") for a in reused)
    assert not any(a.reused for a in attempts if a.ok)


def trickle(connection: socket.socket) -> None:
    """A byte every 1.5 s: each read is quick, the answer never ends."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(100):
        time.sleep(1.5)
        connection.sendall(b"x")


def huge(connection: socket.socket) -> None:
    size = 256 << 20
    connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
    chunk = b"x" * (1 << 20)
    for _ in range(256):
        connection.sendall(chunk)


def slow(connection: socket.socket) -> None:
    time.sleep(8)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")


@pytest.mark.parametrize(("answer", "failed_as"), [(trickle, "timeout"), (slow, "timeout"),
                                                   (huge, "answer over 1 MiB")],
                         ids=["trickle", "slow", "huge"])
def test_an_attempt_is_bounded_as_a_whole_and_the_run_ends_on_time(tmp_path, answer,
                                                                   failed_as):
    server = Misbehaving(answer)
    summary_file = tmp_path / "summary.json"
    began = time.monotonic()
    result = run_client(f"http://127.0.0.1:{server.port}/", "--rate", "5", "--duration", "2",
                        "--timeout", "1.6", "--output", "quiet", "--json", str(summary_file))
    took = time.monotonic() - began
    server.close()
    assert result.returncode == 1
    summary = json.loads(summary_file.read_text())
    assert summary["successes"] == 0
    assert summary["failure_kinds"] == {failed_as: summary["attempts"]}
    assert took < 2 + 1.6 + 2.5, f"ran {took:.1f}s"  # duration + timeout + start-up


def test_a_huge_answer_does_not_take_the_clients_memory(tmp_path):
    server = Misbehaving(huge)
    process = subprocess.Popen(
        [sys.executable, "-m", "probe_demo", "client", f"http://127.0.0.1:{server.port}/",
         "--rate", "4", "--duration", "2", "--output", "quiet"], stdout=subprocess.PIPE,
        text=True)
    peak = 0
    while process.poll() is None:
        status = Path(f"/proc/{process.pid}/status")
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        time.sleep(0.05)
    server.close()
    assert peak < 200 * 1024, f"peak RSS {peak} KiB"


@pytest.mark.parametrize(("signals", "timeout", "ends_within"), [(1, "3", 3 + 1.5),
                                                                  (2, "30", 3)])
def test_a_stop_signal_ends_a_run_stuck_on_a_trickle_with_the_summary(signals, timeout,
                                                                      ends_within):
    """The first stop signal lets the attempts in flight run out their --timeout; a second
    one ends them at once. Either way the summary is printed."""
    server = Misbehaving(trickle)
    process = subprocess.Popen(
        [sys.executable, "-m", "probe_demo", "client", f"http://127.0.0.1:{server.port}/",
         "--rate", "5", "--timeout", timeout, "--output", "quiet"], stdout=subprocess.PIPE,
        text=True)
    time.sleep(1.5)
    for _ in range(signals):
        process.send_signal(signal.SIGINT)
        time.sleep(0.2)
    began = time.monotonic()
    out, _ = process.communicate(timeout=40)
    server.close()
    assert "attempts:" in out and "failures:" in out
    assert time.monotonic() - began < ends_within


def test_a_rate_the_client_cannot_hold_is_reported(tmp_path):
    server = Misbehaving(slow)
    summary_file = tmp_path / "summary.json"
    began = time.monotonic()
    result = run_client(f"http://127.0.0.1:{server.port}/", "--rate", "1000", "--duration",
                        "2", "--timeout", "1", "--output", "quiet", "--json",
                        str(summary_file))
    took = time.monotonic() - began
    server.close()
    summary = json.loads(summary_file.read_text())
    assert took < 2 + 1 + 2.5, f"ran {took:.1f}s"
    # 512 workers, each held 1 s by a server that never answers in time: about half of
    # 1,000 a second cannot be sent, and the summary says so.
    assert not summary["rate_held"] and summary["not_sent"] > 200
    assert "rate NOT held" in result.stdout
    assert summary["attempts"] + summary["not_sent"] <= 2000


def test_grpc_health_calls_share_one_long_lived_connection(start_server, tmp_path):
    server = start_server("--variant", "graceful")
    summary_file = tmp_path / "summary.json"
    result = run_client(f"grpc://127.0.0.1:{server.grpc_port}/readiness", "--rate", "100",
                        "--duration", "1", "--output", "quiet", "--json", str(summary_file))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(summary_file.read_text())
    assert summary["failures"] == 0 and summary["attempts"] >= 95
    assert summary["versions"] == {"SERVING": summary["attempts"]}
    assert summary["connections"] == {"mode": "grpc", "opened": 1, "failed_reused": 0}


def test_grpc_health_calls_follow_goaway_through_a_drain(start_server, tmp_path):
    server = start_server("--variant", "graceful", "--drain-seconds", "3")
    summary_file = tmp_path / "summary.json"
    client = subprocess.Popen(
        [sys.executable, "-m", "probe_demo", "client", f"grpc://127.0.0.1:{server.grpc_port}/",
         "--rate", "200", "--duration", "2.5", "--output", "lines", "--json",
         str(summary_file)], stdout=subprocess.PIPE, text=True)
    # Timed from the client's first attempt, not from its start (slow on a busy machine):
    # its 2.5 s then end inside the server's 3 s drain, so every call has a server.
    assert client.stdout.readline()
    time.sleep(0.5)
    server.terminate()
    client.communicate(timeout=60)
    summary = json.loads(summary_file.read_text())
    assert summary["failures"] == 0, summary["failure_kinds"]
    # GOAWAY moved the calls to a new connection, and every one was answered.
    assert summary["connections"]["opened"] >= 2
    assert '"event": "goaway", "connections": 1' in server.log()


@pytest.mark.parametrize("connections", ["new", "keep-alive"])
def test_host_sends_the_virtual_host_a_gateway_routes_on(connections):
    import http.server

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.headers.get("Host"))
            self.send_response(200)
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"OK\n")

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        attempts = LoadRun(f"http://127.0.0.1:{server.server_port}/status", rate=20,
                           duration=0.3, connections=connections,
                           host="demo.probe-demo.test").run()
    finally:
        server.shutdown()
    assert attempts and all(a.ok for a in attempts)
    assert set(seen) == {"demo.probe-demo.test"}


def test_a_host_that_is_no_host_name_is_one_line_naming_the_flag():
    result = run_client("http://127.0.0.1:1/", "--host", "demo/ui")
    assert result.returncode == 2
    assert result.stderr.strip() == ("probe-demo: error: argument --host: 'demo/ui': not a "
                                     "host name with an optional port, e.g. "
                                     "demo.example.com or demo.example.com:8080")


def test_an_attempt_whose_fetch_raises_is_a_counted_failure_not_a_lost_one():
    def broken(attempt, timeout):
        raise RuntimeError("a bug in a fetcher")

    attempts = LoadRun("http://127.0.0.1:1/", rate=50, duration=0.4, fetcher=broken).run()
    assert len(attempts) == 20
    assert {attempt.error for attempt in attempts} == {"RuntimeError"}


def cut_short(connection: socket.socket) -> None:
    """A 200 whose body stops halfway: what a server killed mid-answer leaves."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOK\n")


@pytest.mark.parametrize("connections", ["new", "keep-alive"])
def test_an_answer_cut_short_of_its_content_length_is_a_failure(connections):
    server = Misbehaving(cut_short)
    attempts = LoadRun(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.3, timeout=2,
                       connections=connections).run()
    server.close()
    assert attempts
    assert {attempt.outcome for attempt in attempts} == {"answer cut short"}
