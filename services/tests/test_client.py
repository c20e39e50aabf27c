"""`probe-demo client` against real local servers."""

import json
import signal
import subprocess
import sys
import time

from conftest import free_port
from probe_demo.client.load import LoadRun, version_of


def run_client(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probe_demo", "client", *args],
                          capture_output=True, text=True, timeout=timeout)


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
         "--duration", "3", "--output", "quiet", "--json", str(summary_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
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


def test_bad_client_arguments_are_named():
    assert "--rate=0.0: must be above 0" in run_client("http://x/", "--rate", "0").stderr
    assert "must look like http://host" in run_client("ftp://x/").stderr
    assert "--timeline=out.png" in run_client("http://x/", "--timeline", "out.png").stderr


def test_version_of_reads_tags_and_text():
    assert version_of(b'{"date": {}, "tag": "blue"}') == "blue"
    assert version_of(b"OK!!\n") == "OK!!"
    assert version_of(b"") is None
    assert version_of(b'{"worked_ms": 100, "spins": 12345}') is None
