"""Zero-downtime benchmark: count every request while `helm upgrade` rolls 3 replicas.

Runs the load client inside the cluster against the Service at RATE requests/s and, a few
seconds in, upgrades the release from `OK` to `OK!!`. Three runs:
  zero-downtime  presets/zero-downtime.yaml (preStop pause, drain, /ready, maxUnavailable 0)
  naive          presets/naive-rollout.yaml (no preStop, no drain, readiness = liveness)
  force-delete   zero-downtime settings, but a pod is deleted with --force mid-run instead
Prints attempts, failures and versions side by side and writes each run's timeline picture
to docs/images/rollout-<run>.svg. Needs the cluster and image (`make image`).

Usage: python benchmarks/zero_downtime.py [--rate 100] [--duration 110] [--runs a,b]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
import uuid

from image import IMAGE, ROOT

CHART = ROOT / "charts" / "probe-demo"
IMAGES = ROOT / "docs" / "images"
RUNS = {
    "zero-downtime": ("zero-downtime", "upgrade"),
    "naive": ("naive-rollout", "upgrade"),
    "force-delete": ("zero-downtime", "force-delete"),
}


def sh(*command: str, timeout: float = 600) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def one_run(name: str, rate: float, duration: float, disturb_after: float) -> dict:
    preset, disturbance = RUNS[name]
    namespace = f"bench-{name}-{uuid.uuid4().hex[:5]}"
    sh("kubectl", "create", "namespace", namespace)
    try:
        sh("helm", "install", "demo", str(CHART), "-n", namespace, "-f",
           str(CHART / "presets" / f"{preset}.yaml"), "--set", "tests.enabled=false",
           "--wait", "--timeout", "180s")
        url = "http://demo-probe-demo/status"
        client = (f"probe-demo client {url} --rate {rate:g} --duration {duration:g} "
                  f"--timeout 3 --output quiet --json /tmp/summary.json "
                  f"--timeline /tmp/timeline.svg --title '{name}: OK -> OK!! under load'; "
                  "touch /tmp/done; sleep 3600")
        sh("kubectl", "run", "load", "-n", namespace, "--restart=Never", f"--image={IMAGE}",
           "--command", "--", "sh", "-c", client)
        sh("kubectl", "wait", "-n", namespace, "--for=condition=Ready", "pod/load",
           "--timeout=120s")
        time.sleep(disturb_after)
        began = time.monotonic()
        if disturbance == "upgrade":
            sh("helm", "upgrade", "demo", str(CHART), "-n", namespace, "--reuse-values",
               "--set", "server.statusText=OK!!", "--wait", "--timeout", "300s")
        else:
            pods = json.loads(sh("kubectl", "get", "pods", "-n", namespace, "-l",
                                 "app.kubernetes.io/instance=demo", "-o", "json"))["items"]
            sh("kubectl", "delete", "pod", "-n", namespace, pods[0]["metadata"]["name"],
               "--force", "--grace-period=0")
        disturbed_for = time.monotonic() - began
        deadline = time.monotonic() + duration + 120
        while subprocess.run(["kubectl", "exec", "-n", namespace, "load", "--", "test", "-f",
                              "/tmp/done"], capture_output=True, check=False).returncode:
            if time.monotonic() > deadline:
                raise SystemExit(f"{name}: the load client did not finish")
            time.sleep(2)
        summary = json.loads(sh("kubectl", "exec", "-n", namespace, "load", "--", "cat",
                                "/tmp/summary.json"))
        IMAGES.mkdir(parents=True, exist_ok=True)
        (IMAGES / f"rollout-{name}.svg").write_text(
            sh("kubectl", "exec", "-n", namespace, "load", "--", "cat", "/tmp/timeline.svg"))
        summary["disturbance_s"] = round(disturbed_for, 1)
        return summary
    finally:
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"],
                       capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--duration", type=float, default=110)
    parser.add_argument("--disturb-after", type=float, default=10)
    parser.add_argument("--runs", default=",".join(RUNS))
    args = parser.parse_args()
    names = args.runs.split(",")
    unknown = [name for name in names if name not in RUNS]
    if unknown:
        raise SystemExit(f"--runs: unknown run(s) {unknown}; choose from {list(RUNS)}")

    results = {name: one_run(name, args.rate, args.duration, args.disturb_after)
               for name in names}
    rows = [
        ("attempts", lambda s: s["attempts"]),
        ("successes", lambda s: f"{s['successes']} ({s['success_pct']}%)"),
        ("failures", lambda s: f"{s['failures']} ({s['failure_pct']}%)"),
        ("versions seen", lambda s: ", ".join(f"{k}={v}" for k, v in s["versions"].items())),
        ("failed as", lambda s: ", ".join(f"{k}={v}" for k, v in s["failure_kinds"].items())
         or "-"),
        ("ttlb p50/p99 ms", lambda s: f"{s['ttlb_ms']['p50']}/{s['ttlb_ms']['p99']}"),
        ("upgrade/delete took s", lambda s: s["disturbance_s"]),
    ]
    width = max(24, *(len(name) + 2 for name in names))
    print(f"rate {args.rate:g}/s for {args.duration:g}s, disturbed after {args.disturb_after:g}s")
    print(" " * 22 + "".join(f"{name:>{width}}" for name in names))
    for label, cell in rows:
        print(f"{label:<22}" + "".join(f"{cell(results[n])!s:>{width}}" for n in names))
    print(f"timelines: {', '.join(str(IMAGES / f'rollout-{n}.svg') for n in names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
