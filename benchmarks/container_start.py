"""Time from container start to the first 200 on /readyz, inside a pod of the image.

Usage: python benchmarks/container_start.py [--runs 5]   (needs `make image`)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess

from image import IMAGE

# Inside the container: start the server, poll readiness every 10 ms, print elapsed ms.
SCRIPT = ("probe-demo serve --grpc-port 0 >/dev/null 2>&1 & start=$(date +%s%N); "
          "until curl -fsS localhost:8080/readyz >/dev/null 2>&1; do sleep 0.01; done; "
          "echo $(( ($(date +%s%N) - start) / 1000000 ))")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        result = subprocess.run(
            ["kubectl", "run", f"start-{os.getpid()}-{run}", "--restart=Never", f"--image={IMAGE}",
             "--rm", "-i", "--quiet", "--command", "--", "sh", "-c", SCRIPT],
            capture_output=True, text=True, timeout=180, check=True)
        times.append(int(result.stdout.strip().splitlines()[-1]))
    print(f"container start to readiness 200: median {statistics.median(times)} ms, "
          f"min {min(times)} ms, max {max(times)} ms over {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
