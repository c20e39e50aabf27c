"""Zero-downtime benchmark: every disruption x {zero-downtime, naive} x {service, gateway}
x {new, keep-alive} connections at 500 requests/s. A disruption that needs several nodes
(drain) runs with the replicas spread one per node (presets/spread-over-nodes.yaml), and is
skipped, saying so, on a cluster with fewer.

For each combination, installs the preset with the chart's rollout check (its
ServiceAccount and Role) into a fresh namespace, then runs `probe-demo check` in a pod of
the cluster with that ServiceAccount: load through the Service, or through the cluster's
Gateway (cluster/front-door.yaml) to the release's HTTPRoute, while the Deployment is
disrupted, on a new connection per request or on a pool of --pool keep-alive connections.
Prints a table, writes each timeline to
docs/images/rollout-<preset>-<disruption>[-gateway][-keep-alive][SUFFIX].svg, and prints,
as its last line, one JSON object:
    {"<disruption>": {"<preset>": {"<path>": {"<connections>":
        {"attempts": N, "failures": N}}}}}

One more naive rollout keeps the load going for --late seconds after it settled, long enough
to show the late timeouts that stale connection tracking causes
(docs/images/rollout-naive-rollout-late.svg); it is not part of the table.
Needs the cluster and image (`make image`).

Usage: python benchmarks/zero_downtime.py [--rate 500] [--disruptions rollout,delete]
       [--presets zero-downtime,naive] [--through service,gateway]
       [--connections new,keep-alive] [--pool 16]
       [--suffix=-before]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid

from image import IMAGE, ROOT
from probe_demo.check.registry import BY_NAME, NAMES

sys.path.insert(0, str(ROOT / "tools"))
from cluster_nodes import ready_nodes, toleration_sets
from front_door import front_door

CHART = ROOT / "charts" / "probe-demo"
IMAGES = ROOT / "docs" / "images"
DISRUPTIONS = list(NAMES)
PRESETS = {"zero-downtime": "zero-downtime", "naive": "naive-rollout"}
CONNECTIONS = ["new", "keep-alive"]
PATHS = ["service", "gateway"]  # how the load enters: the Service, or the Gateway's route


def sh(*command: str, timeout: float = 600) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def picture_name(preset: str, disruption: str, path: str, connections: str,
                 suffix: str) -> str:
    door = "" if path == "service" else f"-{path}"
    mode = "" if connections == "new" else f"-{connections}"
    return f"rollout-{preset}-{disruption}{door}{mode}{suffix}.svg"


def one_run(preset: str, disruption: str, rate: float, after: float, path: str,
            connections: str, pool: int, picture: str) -> dict:
    namespace = f"bench-{preset}-{disruption}-{uuid.uuid4().hex[:4]}"
    sh("kubectl", "create", "namespace", namespace)
    try:
        route, url, host = [], "http://demo-probe-demo/status", ""
        if path == "gateway":
            door, name = front_door(), f"{namespace}.probe-demo.test"
            route = ["-f", str(CHART / "presets" / "front-door.yaml"),
                     "--set", f"httpRoute.hostnames[0]={name}"]
            url, host = f"{door.url}/status", f"--host {name} --front-door-api {door.api_url} "
        spread = []
        if BY_NAME[disruption].nodes > 1:  # one replica a node, on every node
            spread = ["-f", str(CHART / "presets" / "spread-over-nodes.yaml")]
            for value in toleration_sets(ready_nodes()):
                spread += ["--set", value]
        sh("helm", "install", "demo", str(CHART), "-n", namespace, "-f",
           str(CHART / "presets" / f"{PRESETS[preset]}.yaml"), *spread,
           "--set", "tests.enabled=false",
           "--set", "rolloutCheck.enabled=true",
           "--set", f"rolloutCheck.disruptions={{{disruption}}}", *route,
           "--wait", "--timeout", "180s")
        clients = "new connections" if connections == "new" else \
            f"{pool} keep-alive connections"
        title = (f"{preset} preset, {disruption}, {rate:g} requests/s through the {path} on "
                 f"{clients}")
        check = (f"probe-demo check --deployment demo-probe-demo -n {namespace} "
                 f"--url {url} {host}--rate {rate:g} --timeout 3 "
                 f"--connections {connections} --pool {pool} "
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
        (IMAGES / picture).write_text(
            sh("kubectl", "exec", "-n", namespace, "check", "--", "cat", "/tmp/timeline.svg"))
        print(f"--- {preset} / {disruption} / {path} / {connections}: {result['failures']} of "
              f"{result['attempts']} failed", flush=True)
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
    parser.add_argument("--through", default=",".join(PATHS),
                        help="how the load enters: service, gateway")
    parser.add_argument("--connections", default=",".join(CONNECTIONS))
    parser.add_argument("--pool", type=int, default=16,
                        help="keep-alive connections the load holds open")
    parser.add_argument("--suffix", default="",
                        help="added to each timeline's file name, e.g. -before")
    parser.add_argument("--after", type=float, default=15,
                        help="seconds of load after each disruption settled")
    parser.add_argument("--late", type=float, default=120,
                        help="seconds of load after the extra naive rollout (0: no such run)")
    args = parser.parse_args()
    disruptions = args.disruptions.split(",")
    presets = args.presets.split(",")
    modes = args.connections.split(",")
    paths = args.through.split(",")
    for flag, names, known in (("--disruptions", disruptions, DISRUPTIONS),
                               ("--presets", presets, list(PRESETS)),
                               ("--through", paths, PATHS),
                               ("--connections", modes, CONNECTIONS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise SystemExit(f"{flag}: unknown {', '.join(unknown)}; choose from {known}")

    nodes = len(ready_nodes())
    for name in [d for d in disruptions if BY_NAME[d].nodes > nodes]:
        print(f"{name}: skipped, it needs {BY_NAME[name].nodes} nodes and this cluster has "
              f"{nodes} Ready (make cluster-up NODES=3)", flush=True)
        disruptions.remove(name)
    # figures[disruption][preset][path][connections]
    figures: dict[str, dict[str, dict[str, dict[str, dict]]]] = {}
    for disruption in disruptions:
        for preset in presets:
            for path in paths:
                for mode in modes:
                    result = one_run(preset, disruption, args.rate, args.after, path, mode,
                                     args.pool, picture_name(preset, disruption, path, mode,
                                                             args.suffix))
                    row = result["disruptions"][0]
                    figures.setdefault(disruption, {}).setdefault(preset, {}).setdefault(
                        path, {})[mode] = {
                        "attempts": result["attempts"], "failures": result["failures"],
                        "kinds": row["failure_kinds"], "settle_s": row["seconds_to_settle"]}

    late = None
    if args.late > 0 and "naive" in presets and "new" in modes and "service" in paths:
        late = one_run("naive", "rollout", args.rate, args.late, "service", "new", args.pool,
                       picture=f"rollout-naive-rollout-late{args.suffix}.svg")

    columns = [(preset, path, mode) for preset in presets for path in paths for mode in modes]
    print(f"\n{args.rate:g} requests/s: failed / attempts (keep-alive: a pool of {args.pool})")
    print(f"{'disruption':<12}" + "".join(f"{f'{p} {t} {m}':>34}" for p, t, m in columns))
    for disruption, by_preset in figures.items():
        cells = [f"{by_preset[p][t][m]['failures']:,} / {by_preset[p][t][m]['attempts']:,}"
                 for p, t, m in columns]
        print(f"{disruption:<12}" + "".join(f"{cell:>34}" for cell in cells))
    for preset, path, mode in columns:
        runs = [by_preset[preset][path][mode] for by_preset in figures.values()]
        print(f"{preset}, through the {path}, {mode} connections: "
              f"{sum(r['failures'] for r in runs):,} of {sum(r['attempts'] for r in runs):,} "
              f"requests failed across {', '.join(figures)}")
    for disruption, by_preset in figures.items():
        for preset, path, mode in columns:
            kinds = by_preset[preset][path][mode]["kinds"]
            if kinds:
                shown = ", ".join(f"{k} {n}" for k, n in kinds.items())
                print(f"  {disruption} / {preset} / {path} / {mode}: {shown}")
    if late is not None:
        print(f"naive rollout with {args.late:g}s of load after it: {late['failures']:,} of "
              f"{late['attempts']:,} failed; {IMAGES}/rollout-naive-rollout-late"
              f"{args.suffix}.svg")
    print(f"timelines: {IMAGES}/rollout-<preset>-<disruption>[-gateway][-keep-alive]"
          f"{args.suffix}.svg")
    print(json.dumps({d: {p: {t: {m: {"attempts": f["attempts"], "failures": f["failures"]}
                                  for m, f in by_mode.items()}
                              for t, by_mode in by_path.items()}
                          for p, by_path in by_preset.items()}
                      for d, by_preset in figures.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
