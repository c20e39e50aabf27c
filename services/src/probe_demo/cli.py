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
from probe_demo.parsing import ConfigError, default_of, flag


def _serve_parser(subparsers: argparse._SubParsersAction) -> None:
    from probe_demo.server.config import Settings, env_var, flag_name

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
    from probe_demo.client.options import ClientOptions

    client = subparsers.add_parser(
        "client", help="send requests at a fixed rate and count every outcome",
        description="Hit URL RATE times a second until DURATION passes or SIGINT/SIGTERM "
                    "arrives, then print the summary. Exits 1 when failures exceed "
                    "--max-failures.",
    )
    _add_options(client, ClientOptions)
    _output_arguments(client, "summary", "a timeline picture (.svg or .html)")


def _check_parser(subparsers: argparse._SubParsersAction) -> None:
    from probe_demo.check.options import CheckOptions

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
    _add_options(check, CheckOptions)
    _output_arguments(check, "result", "the timeline picture (.svg, or .html with the report)")


def _add_options(parser: argparse.ArgumentParser, options_class: type) -> None:
    """One flag per field of an options dataclass (probe_demo.parsing.option): how it is
    read, its choices, default and help all come from the field."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for field in dataclasses.fields(options_class):
        extra = dict(field.metadata["extra"])
        help_text = field.metadata["help"]
        if extra.pop("positional", False):
            parser.add_argument(field.name, help=help_text, type=_reading(field))
            continue
        target: Any = parser
        if "group" in extra:
            group = extra.pop("group")
            if group not in groups:
                groups[group] = parser.add_mutually_exclusive_group()
            target = groups[group]
        names = [extra.pop("short")] if "short" in extra else []
        default = default_of(field)
        if default is not None:
            shown = (",".join(default) if isinstance(default, list)
                     else f"{default:g}" if isinstance(default, float) else default)
            help_text += f" (default {shown})"
        target.add_argument(*names, flag(field.name), dest=field.name, default=default,
                            type=_reading(field), help=help_text, **extra)


def _reading(field: dataclasses.Field) -> Any:
    """argparse's type for a field: the field's parse, its ValueError told as argparse
    tells a bad value ("argument --pool: '0': out of range (1-256)")."""
    parse = field.metadata["parse"]
    if parse is str:
        return str

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None

    return read


def _output_arguments(parser: argparse.ArgumentParser, what: str, picture: str) -> None:
    parser.add_argument("--json", metavar="FILE", help=f"also write the {what} as JSON")
    parser.add_argument("--timeline", metavar="FILE", help=f"also write {picture}")
    parser.add_argument("--title", default="", help="title of the timeline picture")


def _options(options_class: type, args: argparse.Namespace) -> Any:
    """The options a command runs with, checked (each class's check()) before it runs."""
    options = options_class(**{field.name: getattr(args, field.name)
                               for field in dataclasses.fields(options_class)})
    options.check()
    _check_output_files(args)
    return options


def _check_output_files(args: argparse.Namespace) -> None:
    """Checked before a run, not after one whose result would then be lost."""
    if args.timeline and not args.timeline.endswith((".svg", ".html", ".htm")):
        raise ConfigError(f"--timeline={args.timeline}: the file name must end in .svg or .html")
    for name, path in (("--json", args.json), ("--timeline", args.timeline)):
        if path:
            folder = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(folder):
                raise ConfigError(f"{name}={path}: the folder {folder} does not exist")
            if not os.access(folder, os.W_OK):
                raise ConfigError(f"{name}={path}: the folder {folder} is not writable")


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
    from probe_demo.server.config import Settings
    from probe_demo.server.process import serve

    flags = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)}
    flags = {name: value for name, value in flags.items() if value is not None}
    return serve(Settings.load(**flags))


def run_client(args: argparse.Namespace) -> int:
    from probe_demo import timeline
    from probe_demo.client import summary
    from probe_demo.client.load import LoadRun
    from probe_demo.client.options import ClientOptions

    options = _options(ClientOptions, args)
    progress = summary.Progress()

    def on_attempt(attempt) -> None:
        if options.output == "lines":
            print(summary.attempt_block(attempt), flush=True)
        elif options.output == "progress":
            print(progress.line(attempt), end="", flush=True, file=sys.stderr)

    load = LoadRun(options.url, options.rate, options.duration, options.timeout, on_attempt,
                   connections=options.connections, pool_size=options.pool,
                   host=options.host)

    def on_stop_signal(*_: object) -> None:
        # The first stop lets the attempts in flight finish (each within --timeout); a
        # second one ends them now. Either way the summary follows.
        if load.stop.is_set():
            load.abort()
        load.stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_stop_signal)
    attempts = load.run()
    if options.output == "progress":
        print(file=sys.stderr)
    totals = summary.summarize(attempts, options.url, options.rate, load.elapsed, load.pool,
                               load.not_sent, load.max_lag)
    print(summary.summary_text(totals), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(totals, handle, indent=2)
    if args.timeline:
        title = args.title or f"{options.url} at {options.rate:g}/s"
        timeline.write(args.timeline, timeline.render_svg(attempts, title), title)
    return 1 if totals["failures"] > options.max_failures else 0


def run_check_command(args: argparse.Namespace) -> int:
    from probe_demo.check.options import CheckOptions

    options = _options(CheckOptions, args)
    try:
        import kubernetes  # noqa: F401
    except ImportError:
        raise ConfigError("probe-demo check needs the Kubernetes client: "
                          "pip install 'probe-demo[check]'") from None
    from probe_demo import timeline
    from probe_demo.check import report
    from probe_demo.check.errors import CheckError
    from probe_demo.check.run import run_check

    def stopped(signum: int, _frame: object) -> None:
        # Unwind as an error, so the check's cleanups run (a drain uncordons its node);
        # a second signal during them is not let in.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise CheckError(f"stopped by {signal.Signals(signum).name} before the disruptions "
                         "were done")

    signal.signal(signal.SIGTERM, stopped)
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
        title = args.title or (f"{result.deployment}: {', '.join(options.disruptions)} at "
                               f"{options.rate:g} requests/s")
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
