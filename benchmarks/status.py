"""Benchmark `probe-demo serve` on loopback: memory, start-up, /status throughput, probes
under saturating /work, and the image's size.

Prints, for this checkout's server (and, with --against REF, for the server of that git
revision, measured in the same run, one after the other):
- idle PSS and RSS of the whole process tree,
- process start to the first 200 from the readiness endpoint (median of --starts),
- GET /status requests/s and p99 from wrk with --connections keep-alive connections,
- /livez and /readyz p99 and max while --work-loops clients keep /work?ms=1000 busy,
- /livez and /readyz p99 and max while 1,100 idle connections are held open,
- PSS growth after 5,000 requests with distinct method names,
- 8 keep-alive clients (one reused connection each, a request every 10 ms) through a 3 s
  drain: requests lost on accepted connections, and answers that closed the connection,
and the compressed image size per architecture when the cluster registry is up.

Usage: python benchmarks/status.py [--seconds 10] [--against 760ad0c]
Every request goes to 127.0.0.1; every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from image import IMAGE, ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            todo.extend(int(child) for child in (task / "children").read_text().split())
    return pids


def tree_memory_mib(pid: int) -> tuple[float, float]:
    """(PSS, RSS) of the process and all its descendants, in MiB."""
    pss = rss = 0
    for member in process_tree(pid):
        for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
            elif line.startswith("Rss:"):
                rss += int(line.split()[1])
    return pss / 1024, rss / 1024


def get(port: int, path: str, timeout: float = 5.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class Server:
    """One `probe-demo serve` process from a given Python environment."""

    def __init__(self, python: str, label: str):
        self.python = python
        self.label = label

    def start(self, drain_seconds: float = 0) -> tuple[subprocess.Popen, int, float]:
        port = free_port()
        command = [self.python, "-m", "probe_demo", "serve", "--variant", "graceful",
                   "--host", "127.0.0.1", "--port", str(port), "--grpc-port", str(free_port()),
                   "--drain-seconds", f"{drain_seconds:g}", "--graceful-timeout", "5"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROBE_DEMO_")}
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        deadline = started + 30
        while time.perf_counter() < deadline:
            try:
                if get(port, "/readyz", timeout=1) == 200:
                    return process, port, time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.002)
        process.kill()
        raise SystemExit(f"{self.label}: the server never became ready")

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(port: int, seconds: float, connections: int) -> tuple[float, float]:
    """(requests/s, p99 ms) of GET /status."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         f"http://127.0.0.1:{port}/status"],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", output).groups()
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def probes_under_work(port: int, loops: int, seconds: float) -> tuple[float, float, int, int]:
    """(probe p99 ms, probe max ms, /work answered, /work shed) while `loops` clients keep
    /work?ms=1000 busy for `seconds`."""
    p99, most, codes = probes_while(port, "/work?ms=1000", loops, seconds)
    return p99, most, codes.count(200), codes.count(503)


def probes_while(port: int, path: str, loops: int,
                 seconds: float) -> tuple[float, float, list[int]]:
    """(probe p99 ms, probe max ms, the other clients' answer codes) while `loops` clients
    ask for `path` back to back for `seconds`."""
    stop = threading.Event()
    codes: list[int] = []

    def keep_working() -> None:
        while not stop.is_set():
            try:
                codes.append(get(port, path, timeout=30))
            except OSError:
                codes.append(0)

    threads = [threading.Thread(target=keep_working) for _ in range(loops)]
    for thread in threads:
        thread.start()
    latencies = []
    try:
        time.sleep(0.5)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for path in ("/livez", "/readyz"):
                begin = time.perf_counter()
                try:
                    get(port, path, timeout=10)
                    latencies.append(time.perf_counter() - begin)
                except OSError:
                    latencies.append(10.0)
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    return p99 * 1000, latencies[-1] * 1000, codes


def probes_while_held(port: int, held: int, seconds: float) -> tuple[float, float]:
    """(probe p99 ms, probe max ms) while `held` connections are open and send nothing."""
    sockets = []
    try:
        for _ in range(held):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        p99, most, _ = probes_while(port, "/status", 0, seconds)
    finally:
        for sock in sockets:
            sock.close()
    return p99, most


def distinct_methods_growth_mib(pid: int, port: int, count: int) -> float:
    """PSS growth after `count` requests, each with a method name of its own."""

    def send(names) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            reader = sock.makefile("rb")
            for name in names:
                sock.sendall(f"{name} /status HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)

    send(f"W{n:05d}X" for n in range(500))
    before, _ = tree_memory_mib(pid)
    send(f"M{n:05d}X" for n in range(count))
    after, _ = tree_memory_mib(pid)
    return after - before


def keep_alive_through_a_drain(server: Server) -> tuple[int, int, int]:
    """(answers, requests lost on accepted connections, answers that closed their
    connection) for 8 clients that each reuse one connection, a request every 10 ms,
    through SIGTERM with a 3 s drain; no retries, no check before reuse."""
    process, port, _ = server.start(drain_seconds=3)
    stop = threading.Event()
    counts = {"answers": 0, "lost": 0, "closed": 0}
    lock = threading.Lock()

    def client() -> None:
        connection = None
        while not stop.is_set():
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    connection.connect()
                except OSError:
                    return  # not listening any more: nothing was accepted
            try:
                connection.request("GET", "/status")
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                with lock:
                    counts["lost"] += 1
                connection.close()
                connection = None
                continue
            with lock:
                counts["answers"] += 1
                counts["closed"] += response.will_close
            if response.will_close:
                connection.close()
                connection = None
            time.sleep(0.01)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    process.terminate()
    try:
        process.wait(timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if process.poll() is None:
            process.kill()
    return counts["answers"], counts["lost"], counts["closed"]


def measure(server: Server, args: argparse.Namespace) -> dict[str, float]:
    starts = []
    for _ in range(args.starts):
        process, _, ready_after = server.start()
        starts.append(ready_after)
        Server.stop(process)
    process, port, _ = server.start()
    try:
        time.sleep(2.0)
        pss, rss = tree_memory_mib(process.pid)
        rate, p99 = wrk(port, args.seconds, args.connections)
        probe_p99, probe_max, worked, shed = probes_under_work(port, args.work_loops,
                                                              args.seconds)
        # /ui: its probe history full, then polled by many pages at once (far more than
        # tabs polling once a second would ask).
        for _ in range(60):
            get(port, "/livez")
        ui_p99, ui_max, ui_codes = probes_while(port, "/ui/live", args.work_loops,
                                                args.seconds)
        ui_pss, _ = tree_memory_mib(process.pid)
        held_p99, held_max = probes_while_held(port, 1100, args.seconds)
        methods_mib = distinct_methods_growth_mib(process.pid, port, 5000)
    finally:
        Server.stop(process)
    answers, lost, closed = keep_alive_through_a_drain(server)
    return {"idle_pss_mib": pss, "idle_rss_mib": rss,
            "start_to_ready_ms": statistics.median(starts) * 1000,
            "status_rps": rate, "status_p99_ms": p99,
            "probe_p99_ms_under_work": probe_p99, "probe_max_ms_under_work": probe_max,
            "work_answered": worked, "work_shed": shed,
            "probe_p99_ms_under_ui": ui_p99, "probe_max_ms_under_ui": ui_max,
            "ui_polls_per_s": ui_codes.count(200) / args.seconds, "pss_after_ui_mib": ui_pss,
            "probe_p99_ms_held": held_p99, "probe_max_ms_held": held_max,
            "pss_growth_5000_methods_mib": methods_mib,
            "drain_answers": answers, "drain_lost": lost, "drain_closed": closed}


def baseline_python(ref: str, workdir: Path) -> str:
    """A virtualenv with the services of git revision `ref` installed."""
    source = workdir / "src"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "services"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet",
                    str(source / "services")], check=True)
    return str(venv / "bin" / "python")


def image_sizes_mib() -> dict[str, float]:
    """Compressed size per architecture of the pushed image (empty without a registry)."""
    if not shutil.which("skopeo"):
        return {}
    sizes = {}
    try:
        index = json.loads(subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{IMAGE}"],
            capture_output=True, text=True, timeout=30, check=True).stdout)
        for entry in index.get("manifests", []):
            manifest = json.loads(subprocess.run(
                ["skopeo", "inspect", "--raw", "--tls-verify=false",
                 f"docker://{IMAGE.rsplit(':', 1)[0]}@{entry['digest']}"],
                capture_output=True, text=True, timeout=30, check=True).stdout)
            total = manifest["config"]["size"] + sum(layer["size"]
                                                     for layer in manifest["layers"])
            sizes[entry["platform"]["architecture"]] = total / 2**20
    except (subprocess.SubprocessError, OSError, KeyError, ValueError):
        return {}
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--work-loops", type=int, default=16)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--against", metavar="GIT_REF",
                        help="also measure the server of this git revision, in the same run")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run 'make bench-status' (it installs it)")

    with tempfile.TemporaryDirectory() as workdir:
        servers = [Server(sys.executable, "this checkout")]
        if args.against:
            servers.append(Server(baseline_python(args.against, Path(workdir)), args.against))
        results = {server.label: measure(server, args) for server in servers}

    rows = [
        ("idle PSS of the process tree (MiB)", "idle_pss_mib", ".1f"),
        ("idle RSS of the process tree (MiB)", "idle_rss_mib", ".1f"),
        (f"start to first readiness 200 (ms, median of {args.starts})",
         "start_to_ready_ms", ".0f"),
        (f"GET /status requests/s (wrk, {args.connections} connections)", "status_rps", ".0f"),
        ("GET /status p99 (ms)", "status_p99_ms", ".2f"),
        (f"probe p99 while {args.work_loops} clients load /work (ms)",
         "probe_p99_ms_under_work", ".0f"),
        ("probe max while /work is saturated (ms)", "probe_max_ms_under_work", ".0f"),
        ("/work answered / shed with 503", None, ""),
        (f"GET /ui/live answered per s ({args.work_loops} clients back to back)",
         "ui_polls_per_s", ".0f"),
        ("probe p99 / max meanwhile (ms)", "probe_ui", ""),
        ("PSS after that, probe history full (MiB)", "pss_after_ui_mib", ".1f"),
        ("probe p99 / max while 1,100 idle connections are held (ms)", "probe_held", ""),
        ("PSS growth after 5,000 distinct methods (MiB)", "pss_growth_5000_methods_mib",
         ".1f"),
        ("keep-alive through a 3 s drain: lost / answered", "drain", ""),
        ("keep-alive through a drain: answers that closed", "drain_closed", "d"),
    ]
    labels = list(results)
    print(f"{'':58}" + "".join(f"{label:>16}" for label in labels))
    for title, key, fmt in rows:
        if key is None:
            cells = [f"{r['work_answered']}/{r['work_shed']}" for r in results.values()]
        elif key == "probe_ui":
            cells = [f"{r['probe_p99_ms_under_ui']:.0f} / {r['probe_max_ms_under_ui']:.0f}"
                     for r in results.values()]
        elif key == "probe_held":
            cells = [f"{r['probe_p99_ms_held']:.0f} / {r['probe_max_ms_held']:.0f}"
                     for r in results.values()]
        elif key == "drain":
            cells = [f"{r['drain_lost']} / {r['drain_answers']}" for r in results.values()]
        else:
            cells = [format(r[key], fmt) for r in results.values()]
        print(f"{title:58}" + "".join(f"{cell:>16}" for cell in cells))
    for arch, size in image_sizes_mib().items():
        print(f"image {IMAGE} linux/{arch}, compressed: {size:.1f} MiB")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
