"""`probe-demo serve` runs a server variant; `probe-demo client` runs the load client;
`probe-demo check` counts the requests a Deployment loses while it is disrupted."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from typing import Any

from probe_demo import __version__
from probe_demo.server.config import ConfigError, Settings, env_var, finite_number, flag_name


def _serve_parser(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve", help="run a server variant",
        description="Run a server variant. Every flag can also be set as the PROBE_DEMO_* "
                    "environment variable named beside it; a flag wins over the variable.",
    )
    for field in dataclasses.fields(Settings):
        options: dict = {"metavar": "VALUE"}
        if field.type == "bool":
            # A switch (--enable-faults) that also takes a value (--enable-faults=false).
            options = {"metavar": "true|false", "nargs": "?", "const": "true"}
        serve.add_argument(
            flag_name(field.name), dest=field.name,
            help=f"{field.metadata['help']} [{env_var(field.name)}]", **options,
        )


def _client_parser(subparsers: argparse._SubParsersAction) -> None:
    client = subparsers.add_parser(
        "client", help="send requests at a fixed rate and count every outcome",
        description="Hit URL RATE times a second until DURATION passes or SIGINT/SIGTERM "
                    "arrives, then print the summary. Exits 1 when failures exceed "
                    "--max-failures.",
    )
    client.add_argument("url", help="e.g. http://probe-demo:8080/status")
    client.add_argument("--rate", type=_number, default=10.0, help="attempts a second (default 10)")
    client.add_argument("--duration", type=_number, help="seconds to run (default: until stopped)")
    client.add_argument("--timeout", type=_number, default=2.0,
                        help="seconds one attempt may take (default 2)")
    client.add_argument("--max-failures", type=int, default=0,
                        help="failures allowed before the exit code is 1 (default 0)")
    _connection_arguments(client, "new", 16)
    client.add_argument("--output", choices=("lines", "progress", "quiet"), default="lines",
                        help="lines: every attempt (seed 002 layout); progress: one live line; "
                             "quiet: the summary only")
    client.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    client.add_argument("--timeline", metavar="FILE",
                        help="also write a timeline picture (.svg or .html)")
    client.add_argument("--title", default="", help="title of the timeline picture")


def _connection_arguments(parser: argparse.ArgumentParser, mode: str, pool: int) -> None:
    from probe_demo.client.load import CONNECTION_MODES, CONNECTIONS_HELP, MAX_POOL, POOL_HELP

    parser.add_argument("--connections", choices=CONNECTION_MODES, default=mode,
                        help=f"{CONNECTIONS_HELP} (default {mode})")
    parser.add_argument("--pool", type=_pool_size, default=pool,
                        help=f"{POOL_HELP}, 1-{MAX_POOL} (default {pool})")


def _pool_size(text: str) -> int:
    from probe_demo.client.load import MAX_POOL

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
    if not 1 <= value <= MAX_POOL:
        raise argparse.ArgumentTypeError(f"{text!r}: must be from 1 to {MAX_POOL}")
    return value


def _check_parser(subparsers: argparse._SubParsersAction) -> None:
    from probe_demo.check import registry
    from probe_demo.check.options import CheckOptions, flag
    from probe_demo.client.load import CONNECTION_MODES, MAX_POOL

    default = CheckOptions()
    check = subparsers.add_parser(
        "check", help="count lost requests while a Deployment is rolled, deleted, scaled, "
                      "evicted",
        description="Send steady load through a probe-demo Service while its Deployment goes "
                    "through each --disruptions in turn; print every second, why each lost "
                    "request was lost, and PASS or FAIL. Uses the current kubeconfig context "
                    "(or the pod's service account in a cluster). Exits 1 when failures "
                    "exceed --max-failures or a disruption was blocked, 2 on bad input or a "
                    "refused permission.",
    )
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    types = {"text": str, "number": _number, "whole": int, "pool": _pool_size,
             "disruptions": str, "connections": str}
    for field in dataclasses.fields(CheckOptions):
        meta = dict(field.metadata)
        extra = dict(meta["extra"])
        target = check
        if "group" in extra:
            group = extra.pop("group")
            if group not in groups:
                groups[group] = check.add_mutually_exclusive_group()
            target = groups[group]
        names = [extra.pop("short")] if "short" in extra else []
        value = getattr(default, field.name)
        help_text = meta["help"]
        options: dict[str, Any] = {"type": types[meta["kind"]], "dest": field.name}
        if meta["kind"] == "disruptions":
            help_text += f": {', '.join(registry.NAMES)}"
            value = ",".join(value)
        elif meta["kind"] == "connections":
            options["choices"] = CONNECTION_MODES
        elif meta["kind"] == "pool":
            help_text += f", 1-{MAX_POOL}"
        if value is not None:
            options["default"] = value
            help_text += f" (default {value:g})" if isinstance(value, float) \
                else f" (default {value})"
        target.add_argument(*names, flag(field.name), help=help_text, **options)
    check.add_argument("--timeline", metavar="FILE",
                       help="also write the timeline picture (.svg, or .html with the report)")
    check.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    check.add_argument("--title", default="", help="title of the timeline picture")


def _number(text: str) -> float:
    try:
        return finite_number(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end in one line naming the flag, like bad settings do."""

    def error(self, message: str):
        self.exit(2, f"probe-demo: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="probe-demo", description=__doc__)
    parser.add_argument("--version", action="version", version=f"probe-demo {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _serve_parser(subparsers)
    _client_parser(subparsers)
    _check_parser(subparsers)
    return parser


def run_serve(args: argparse.Namespace) -> int:
    from probe_demo.server.process import serve

    flags = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)}
    flags = {name: value for name, value in flags.items() if value is not None}
    return serve(Settings.load(**flags))


def _check_output_files(args: argparse.Namespace) -> None:
    """Checked before a run, not after one whose result would then be lost."""
    if args.timeline and not args.timeline.endswith((".svg", ".html", ".htm")):
        raise ConfigError(f"--timeline={args.timeline}: the file name must end in .svg or .html")
    for flag, path in (("--json", args.json), ("--timeline", args.timeline)):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise ConfigError(f"{flag}={path}: the folder {folder} does not exist")
            if not os.access(folder, os.W_OK):
                raise ConfigError(f"{flag}={path}: the folder {folder} is not writable")


def _check_bounds(args: argparse.Namespace, above_zero: tuple[str, ...],
                  not_negative: tuple[str, ...]) -> None:
    """Numeric flags out of range end in one line naming the flag; unset ones pass."""
    for names, bad, rule in ((above_zero, lambda v: v <= 0, "must be above 0"),
                             (not_negative, lambda v: v < 0, "must not be negative")):
        for name in names:
            value = getattr(args, name)
            if value is not None and bad(value):
                raise ConfigError(f"--{name.replace('_', '-')}={value}: {rule}")


def _check_rate(rate: float) -> None:
    from probe_demo.client.load import MAX_RATE

    if rate > MAX_RATE:
        raise ConfigError(f"--rate={rate:g}: above {MAX_RATE} attempts a second, more than "
                          "one client process can start; run several clients")


def _check_client_args(args: argparse.Namespace) -> None:
    from probe_demo.client.attempt import Target

    _check_bounds(args, above_zero=("rate", "duration", "timeout"),
                  not_negative=("max_failures",))
    _check_rate(args.rate)
    _check_output_files(args)
    try:
        Target.parse(args.url)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def run_client(args: argparse.Namespace) -> int:
    from probe_demo import timeline
    from probe_demo.client import summary
    from probe_demo.client.load import LoadRun

    _check_client_args(args)
    progress = summary.Progress()

    def on_attempt(attempt) -> None:
        if args.output == "lines":
            print(summary.attempt_block(attempt), flush=True)
        elif args.output == "progress":
            print(progress.line(attempt), end="", flush=True, file=sys.stderr)

    load = LoadRun(args.url, args.rate, args.duration, args.timeout, on_attempt,
                   connections=args.connections, pool_size=args.pool)

    def on_stop_signal(*_: object) -> None:
        # The first stop lets the attempts in flight finish (each within --timeout); a
        # second one ends them now. Either way the summary follows.
        if load.stop.is_set():
            load.abort()
        load.stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_stop_signal)
    attempts = load.run()
    if args.output == "progress":
        print(file=sys.stderr)
    totals = summary.summarize(attempts, args.url, args.rate, load.elapsed, load.pool,
                               load.not_sent, load.max_lag)
    print(summary.summary_text(totals), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(totals, handle, indent=2)
    if args.timeline:
        title = args.title or f"{args.url} at {args.rate:g}/s"
        timeline.write(args.timeline, timeline.render_svg(attempts, title), title)
    return 1 if totals["failures"] > args.max_failures else 0


def run_check_command(args: argparse.Namespace) -> int:
    from probe_demo.check.options import CheckOptions

    fields = dataclasses.fields(CheckOptions)
    _check_bounds(args, above_zero=tuple(f.name for f in fields
                                         if f.metadata["bound"] == "above 0"),
                  not_negative=tuple(f.name for f in fields
                                     if f.metadata["bound"] == "not negative"))
    _check_rate(args.rate)
    if not (args.release or args.deployment):
        raise ConfigError("name what to check: --release NAME or --deployment NAME")
    _check_output_files(args)
    if args.connections != "new" and not args.url:
        raise ConfigError(f"--connections={args.connections} needs --url: through the "
                          "Kubernetes API's service proxy, the API server holds the "
                          "connections to the pods, not this client")
    if args.url:
        from probe_demo.client.attempt import Target

        try:
            Target.parse(args.url)
        except ValueError as err:
            raise ConfigError(f"--url: {err}") from None
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        raise ConfigError("probe-demo check needs the Kubernetes client: "
                          "pip install 'probe-demo[check]'") from None
    from probe_demo import timeline
    from probe_demo.check import registry, report
    from probe_demo.check.errors import CheckError
    from probe_demo.check.run import run_check

    try:
        names = registry.parse(args.disruptions)
    except ValueError as err:
        raise ConfigError(f"--disruptions={args.disruptions}: {err}") from None
    values = {field.name: getattr(args, field.name) for field in fields}
    options = CheckOptions(**{**values, "disruptions": names})
    try:
        result = run_check(options, say=lambda line: print(line, flush=True))
    except CheckError as err:
        raise ConfigError(str(err)) from None
    text = report.full_text(result)
    print(text, flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(report.dumps(result))
    if args.timeline:
        title = args.title or (f"{result.deployment}: {', '.join(names)} at "
                               f"{args.rate:g} requests/s")
        timeline.write(args.timeline, report.svg(result, title), title, text)
    return 0 if result.passed else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return run_serve(args)
        if args.command == "check":
            return run_check_command(args)
        return run_client(args)
    except ConfigError as err:
        print(f"probe-demo: error: {err}", file=sys.stderr)
        return 2
