"""Zero-downtime benchmark: every disruption x {zero-downtime, naive} at 500 requests/s.

For each pair, installs the preset with the chart's rollout check (its ServiceAccount and
Role) into a fresh namespace, then runs `probe-demo check` in a pod of the cluster with
that ServiceAccount: load through the Service while the Deployment is disrupted. Prints a
table, writes each timeline to docs/images/rollout-<preset>-<disruption>.svg, and prints,
as its last line, one JSON object:
    {"<disruption>": {"<preset>": {"attempts": N, "failures": N}}}

One more naive rollout keeps the load going for --late seconds after it settled, long enough
to show the late timeouts that stale connection tracking causes
(docs/images/rollout-naive-rollout-late.svg); it is not part of the table.
Needs the cluster and image (`make image`).

Usage: python benchmarks/zero_downtime.py [--rate 500] [--disruptions rollout,delete]
       [--presets zero-downtime,naive-rollout]
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
DISRUPTIONS = ["rollout", "delete", "scale-down", "evict"]
PRESETS = {"zero-downtime": "zero-downtime", "naive": "naive-rollout"}


def sh(*command: str, timeout: float = 600) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def one_run(preset: str, disruption: str, rate: float, after: float, picture: str = "") -> dict:
    namespace = f"bench-{preset}-{disruption}-{uuid.uuid4().hex[:4]}"
    sh("kubectl", "create", "namespace", namespace)
    try:
        sh("helm", "install", "demo", str(CHART), "-n", namespace, "-f",
           str(CHART / "presets" / f"{PRESETS[preset]}.yaml"), "--set", "tests.enabled=false",
           "--set", "rolloutCheck.enabled=true",
           "--set", f"rolloutCheck.disruptions={{{disruption}}}",
           "--wait", "--timeout", "180s")
        title = f"{preset} preset, {disruption}, {rate:g} requests/s"
        check = (f"probe-demo check --deployment demo-probe-demo -n {namespace} "
                 f"--url http://demo-probe-demo/status --rate {rate:g} --timeout 3 "
                 f"--disruptions {disruption} --after {after:g} --json /tmp/result.json "
                 f"--timeline /tmp/timeline.svg --title '{title}' > /tmp/log 2>&1; "
                 "touch /tmp/done; sleep 3600")
        overrides = {"spec": {"serviceAccountName": "demo-probe-demo-rollout-check",
                              "automountServiceAccountToken": True}}
        sh("kubectl", "run", "check", "-n", namespace, "--restart=Never", f"--image={IMAGE}",
           "--labels=app.kubernetes.io/component=bench",
           f"--overrides={json.dumps(overrides)}", "--command", "--", "sh", "-c", check)
        deadline = time.monotonic() + 900
        while subprocess.run(["kubectl", "exec", "-n", namespace, "check", "--", "test", "-f",
                              "/tmp/done"], capture_output=True, check=False).returncode:
            if time.monotonic() > deadline:
                raise SystemExit(f"{preset}/{disruption}: the check did not finish")
            time.sleep(3)
        log = sh("kubectl", "exec", "-n", namespace, "check", "--", "cat", "/tmp/log")
        found = subprocess.run(["kubectl", "exec", "-n", namespace, "check", "--", "cat",
                                "/tmp/result.json"], capture_output=True, text=True,
                               check=False)
        if found.returncode:
            raise SystemExit(f"{preset}/{disruption}: the check gave no result:\n{log}")
        result = json.loads(found.stdout)
        IMAGES.mkdir(parents=True, exist_ok=True)
        (IMAGES / (picture or f"rollout-{preset}-{disruption}.svg")).write_text(
            sh("kubectl", "exec", "-n", namespace, "check", "--", "cat", "/tmp/timeline.svg"))
        print(f"--- {preset} / {disruption}: {result['failures']} of {result['attempts']} "
              "failed", flush=True)
        if result["explanation"]:
            print("\n".join(result["explanation"]), flush=True)
        result["log"] = log
        return result
    finally:
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"],
                       capture_output=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--disruptions", default=",".join(DISRUPTIONS))
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--after", type=float, default=15,
                        help="seconds of load after each disruption settled")
    parser.add_argument("--late", type=float, default=120,
                        help="seconds of load after the extra naive rollout (0: no such run)")
    args = parser.parse_args()
    disruptions = args.disruptions.split(",")
    presets = args.presets.split(",")
    for flag, names, known in (("--disruptions", disruptions, DISRUPTIONS),
                               ("--presets", presets, list(PRESETS))):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise SystemExit(f"{flag}: unknown {', '.join(unknown)}; choose from {known}")

    figures: dict[str, dict[str, dict]] = {}
    for disruption in disruptions:
        for preset in presets:
            result = one_run(preset, disruption, args.rate, args.after)
            row = result["disruptions"][0]
            figures.setdefault(disruption, {})[preset] = {
                "attempts": result["attempts"], "failures": result["failures"],
                "kinds": row["failure_kinds"], "settle_s": row["seconds_to_settle"]}

    late = None
    if args.late > 0 and "naive" in presets:
        late = one_run("naive", "rollout", args.rate, args.late,
                       picture="rollout-naive-rollout-late.svg")

    print(f"\n{args.rate:g} requests/s through the Service: failed / attempts")
    print(f"{'disruption':<12}" + "".join(f"{preset:>22}" for preset in presets)
          + "   failed as (naive)")
    for disruption, by_preset in figures.items():
        cells = [f"{by_preset[p]['failures']:,} / {by_preset[p]['attempts']:,}" for p in presets]
        kinds = ", ".join(f"{k} {n}" for k, n in by_preset.get("naive", {}).get(
            "kinds", {}).items())
        print(f"{disruption:<12}" + "".join(f"{cell:>22}" for cell in cells) + f"   {kinds}")
    for preset in presets:
        attempts = sum(by_preset[preset]["attempts"] for by_preset in figures.values())
        failures = sum(by_preset[preset]["failures"] for by_preset in figures.values())
        print(f"{preset}: {failures:,} of {attempts:,} requests failed across "
              f"{', '.join(figures)}")
    if late is not None:
        print(f"naive rollout with {args.late:g}s of load after it: {late['failures']:,} of "
              f"{late['attempts']:,} failed; {IMAGES}/rollout-naive-rollout-late.svg")
    print(f"timelines: {IMAGES}/rollout-<preset>-<disruption>.svg")
    print(json.dumps({d: {p: {"attempts": f["attempts"], "failures": f["failures"]}
                          for p, f in by_preset.items()} for d, by_preset in figures.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
