"""Memory and CPU used on purpose by the server process, and the exec-probe health file."""

import time
from pathlib import Path

from processes import http_get, http_post


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_memory_at_start_is_held_by_the_server(start_server):
    server = start_server("--memory-at-start", "64Mi")
    assert _wait_for(lambda: _rss_bytes(server.process.pid) >= 64 * 2**20)


def test_memory_on_demand_grows_and_shrinks_the_server(start_server):
    server = start_server("--enable-faults", "true")
    before = _rss_bytes(server.process.pid)
    http_post(server.url("/fault/memory?size=80Mi"))
    assert _wait_for(lambda: _rss_bytes(server.process.pid) >= before + 80 * 2**20)
    http_post(server.url("/fault/memory?size=0"))
    assert _wait_for(lambda: _rss_bytes(server.process.pid) < before + 40 * 2**20)


def _thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def test_cpu_burners_start_and_stop_on_demand(start_server):
    server = start_server("--enable-faults", "true")
    pid = server.process.pid
    threads_before = _thread_count(pid)
    http_post(server.url("/fault/cpu?cpus=2"))
    assert _wait_for(lambda: _thread_count(pid) == threads_before + 2)
    start = _cpu_seconds(pid)
    # Half a CPU-second burnt; an idle server burns far less in the 10 s allowed, and a
    # busy machine may give the burners less than their two CPUs.
    assert _wait_for(lambda: _cpu_seconds(pid) - start >= 0.5, timeout=10)
    # The server still answers at once while both CPUs burn.
    begin = time.monotonic()
    assert http_get(server.url("/livez"))[0] == 200
    assert time.monotonic() - begin < 1.0
    http_post(server.url("/fault/cpu?cpus=0"))
    assert _wait_for(lambda: _thread_count(pid) == threads_before)


def test_health_file_is_created_then_removed_after_its_ttl(start_server, tmp_path):
    health_file = tmp_path / "healthy"
    server = start_server("--health-file", str(health_file), "--health-file-ttl", "1.5")
    assert health_file.exists()
    assert _wait_for(lambda: not health_file.exists(), timeout=10)
    assert '"present": false' in server.log()
