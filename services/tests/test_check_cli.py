"""`probe-demo check` refuses bad input in one line naming the flag, before it touches a
cluster."""

import subprocess
import sys

import pytest


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probe_demo", "check", *args],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--release", "demo", "--connections", "keep-alive"],
         "--connections=keep-alive needs --url"),
        (["--release", "demo", "--connections", "pooled"],
         "argument --connections: invalid choice: 'pooled'"),
        (["--release", "demo", "--url", "http://demo/", "--pool", "0"],
         "argument --pool: '0': must be from 1 to 256"),
        (["--release", "demo", "--disruptions", "reboot"], "--disruptions=reboot: unknown"),
        ([], "name what to check: --release NAME or --deployment NAME"),
    ],
)
def test_bad_check_arguments_are_one_line_naming_them(args, named):
    result = run_check(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
