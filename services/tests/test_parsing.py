"""Options declared once (probe_demo.parsing.option): every declared bound and reading is
what the command line enforces, for the client's options and the check's alike."""

import dataclasses
import os
import subprocess
import sys

import pytest

from probe_demo import cli
from probe_demo.check.options import CheckOptions
from probe_demo.client.options import ClientOptions
from probe_demo.parsing import BOUNDS, ConfigError, check_bounds, flag, option

# Just outside each bound.
OUTSIDE = {"above 0": "0", "not negative": "-1"}
# A client that failed to refuse would run 0.1 s against nothing, not for ever.
COMMANDS = {ClientOptions: ["client", "http://127.0.0.1:9/", "--duration", "0.1"],
            CheckOptions: ["check", "--release", "x"]}


def bounded_flags() -> list:
    return [pytest.param(command, field, id=f"{command[0]}{flag(field.name)}")
            for options_class, command in COMMANDS.items()
            for field in dataclasses.fields(options_class) if field.metadata["bound"]]


@pytest.mark.parametrize(("command", "field"), bounded_flags())
def test_every_declared_bound_is_refused_in_one_line_naming_the_flag(command, field, capsys):
    code = cli.main([*command, flag(field.name), OUTSIDE[field.metadata["bound"]]])
    assert code == 2
    _, rule = BOUNDS[field.metadata["bound"]]
    err = capsys.readouterr().err
    assert err.startswith(f"probe-demo: error: {flag(field.name)}=")
    assert err.strip().endswith(rule) and err.count("\n") == 1


def test_the_help_shows_each_declared_default():
    result = subprocess.run([sys.executable, "-m", "probe_demo", "check", "--help"],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, COLUMNS="300"))
    text = " ".join(result.stdout.split())
    assert "--settle-timeout SETTLE_TIMEOUT seconds a disruption may take to settle " \
           "(default 300)" in text
    from probe_demo.check import registry

    assert ("--disruptions DISRUPTIONS comma-separated, run in turn: "
            f"{', '.join(registry.NAMES)} (default rollout)") in text


def test_a_bound_the_helper_does_not_know_is_refused_where_it_is_declared():
    with pytest.raises(ValueError, match="unknown bound 'positive'"):
        option(1.0, "x", float, "positive")


def test_an_unset_optional_value_passes_its_bound():
    check_bounds(ClientOptions(url="http://x/", duration=None))
    with pytest.raises(ConfigError, match=r"^--duration=0: must be above 0$"):
        check_bounds(ClientOptions(url="http://x/", duration=0))
