"""Benchmark `probe-demo serve` on loopback: start-up time, idle memory, /status throughput.

Prints:
- time from process start to the first 200 from the readiness endpoint,
- idle RSS of the whole process tree (supervisor, gunicorn master, workers),
- requests/s and p50/p99 latency of GET /status from CONCURRENCY keep-alive clients.

Usage: python services/benchmarks/bench_status.py [--seconds 10] [--concurrency 8]
Every request goes to 127.0.0.1; the run is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_bytes(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        status = Path(f"/proc/{current}/status").read_text()
        total += int(next(line for line in status.splitlines()
                          if line.startswith("VmRSS:")).split()[1]) * 1024
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo.extend(int(child) for child in children.read_text().split())
    return total


def first_ready(port: int, started: float, timeout: float = 30.0) -> float:
    while time.perf_counter() - started < timeout:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise SystemExit("the server never became ready")


def load(port: int, seconds: float, concurrency: int) -> tuple[int, list[float], int]:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while time.perf_counter() < deadline:
            begin = time.perf_counter()
            try:
                connection.request("GET", "/status")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    errors[index] += 1
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                continue
            latencies[index].append(time.perf_counter() - begin)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = sorted(value for values in latencies for value in values)
    return len(merged), merged, sum(errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as state_dir:
        command = [sys.executable, "-m", "probe_demo", "serve", "--variant", "graceful",
                   "--host", "127.0.0.1", "--port", str(port), "--grpc-port", "0",
                   "--drain-seconds", "0", "--workers", str(args.workers),
                   "--state-dir", state_dir]
        started = time.perf_counter()
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        try:
            ready_after = first_ready(port, started)
            time.sleep(2.0)
            idle_rss = tree_rss_bytes(server.pid)
            count, latencies, errors = load(port, args.seconds, args.concurrency)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(f"workers={args.workers} concurrency={args.concurrency} seconds={args.seconds:g}")
    print(f"start to first readiness 200: {ready_after * 1000:.0f} ms")
    print(f"idle RSS (supervisor + gunicorn + workers): {idle_rss / 2**20:.1f} MiB")
    print(f"GET /status: {count / args.seconds:.0f} requests/s, errors {errors}")
    print(f"latency: p50 {statistics.median(latencies) * 1000:.2f} ms, "
          f"p99 {latencies[int(0.99 * (len(latencies) - 1))] * 1000:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
