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


def kubectl(*args: str) -> str:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=180,
                          check=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = []
    for run in range(args.runs):
        # Run, wait, then read the log: `kubectl run -i` can attach after a fast pod ended
        # and then print nothing.
        pod = f"start-{os.getpid()}-{run}"
        kubectl("run", pod, "--restart=Never", f"--image={IMAGE}", "--command", "--",
                "sh", "-c", SCRIPT)
        kubectl("wait", "--for=jsonpath={.status.phase}=Succeeded", f"pod/{pod}",
                "--timeout=120s")
        times.append(int(kubectl("logs", pod).strip().splitlines()[-1]))
        kubectl("delete", "pod", pod, "--wait=false")
    print(f"container start to readiness 200: median {statistics.median(times)} ms, "
          f"min {min(times)} ms, max {max(times)} ms over {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
