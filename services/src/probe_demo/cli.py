"""`probe-demo serve` runs a server variant; `probe-demo client` runs the load client."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys

from probe_demo import __version__
from probe_demo.config import ConfigError, Settings, env_var, finite_number, flag_name


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
    client.add_argument("--output", choices=("lines", "progress", "quiet"), default="lines",
                        help="lines: every attempt (seed 002 layout); progress: one live line; "
                             "quiet: the summary only")
    client.add_argument("--json", metavar="FILE", help="also write the summary as JSON")
    client.add_argument("--timeline", metavar="FILE",
                        help="also write a timeline picture (.svg or .html)")
    client.add_argument("--title", default="", help="title of the timeline picture")


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
    return parser


def run_serve(args: argparse.Namespace) -> int:
    from probe_demo.server import serve

    flags = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)}
    flags = {name: value for name, value in flags.items() if value is not None}
    return serve(Settings.load(**flags))


def _check_client_args(args: argparse.Namespace) -> None:
    from probe_demo.client.load import Target

    if args.rate <= 0:
        raise ConfigError(f"--rate={args.rate}: must be above 0")
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration={args.duration}: must be above 0")
    if args.timeout <= 0:
        raise ConfigError(f"--timeout={args.timeout}: must be above 0")
    if args.max_failures < 0:
        raise ConfigError(f"--max-failures={args.max_failures}: must not be negative")
    if args.timeline and not args.timeline.endswith((".svg", ".html", ".htm")):
        raise ConfigError(f"--timeline={args.timeline}: the file name must end in .svg or .html")
    # Checked now, not after a long run whose result would then be lost.
    for flag, path in (("--json", args.json), ("--timeline", args.timeline)):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise ConfigError(f"{flag}={path}: the folder {folder} does not exist")
            if not os.access(folder, os.W_OK):
                raise ConfigError(f"{flag}={path}: the folder {folder} is not writable")
    try:
        Target.parse(args.url)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def run_client(args: argparse.Namespace) -> int:
    from probe_demo.client import report, timeline
    from probe_demo.client.load import LoadRun

    _check_client_args(args)
    progress = report.Progress()

    def on_attempt(attempt) -> None:
        if args.output == "lines":
            print(report.attempt_block(attempt), flush=True)
        elif args.output == "progress":
            print(progress.line(attempt), end="", flush=True, file=sys.stderr)

    load = LoadRun(args.url, args.rate, args.duration, args.timeout, on_attempt)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: load.stop.set())
    attempts = load.run()
    if args.output == "progress":
        print(file=sys.stderr)
    summary = report.summarize(attempts, args.url, args.rate, load.elapsed)
    print(report.summary_text(summary), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=2)
    if args.timeline:
        timeline.write(args.timeline, attempts, args.title or f"{args.url} at {args.rate:g}/s")
    return 1 if summary["failures"] > args.max_failures else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return run_serve(args)
        return run_client(args)
    except ConfigError as err:
        print(f"probe-demo: error: {err}", file=sys.stderr)
        return 2
