"""`probe-demo check` refuses bad input in one line naming the flag, before it touches a
cluster."""

import http.server
import os
import subprocess
import sys
import threading

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
         "argument --pool: '0': out of range (1-256)"),
        (["--release", "demo", "--disruptions", "reboot"],
         "argument --disruptions: 'reboot': unknown disruption reboot; choose from"),
        ([], "name what to check: --release NAME or --deployment NAME"),
    ],
)
def test_bad_check_arguments_are_one_line_naming_them(args, named):
    result = run_check(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def kubeconfig(tmp_path, server: str) -> dict[str, str]:
    path = tmp_path / "kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: wrong, context: {{cluster: c, user: u, namespace: demo}}}}]
current-context: wrong
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    return dict(env, KUBECONFIG=str(path))


def run_check_with(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probe_demo", "check", *args],
                          capture_output=True, text=True, timeout=60, env=env)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("which", [["--release", "demo"], ["--deployment", "demo"]])
def test_an_unreachable_api_server_is_one_line_naming_it(tmp_path, which):
    line = one_line(run_check_with(kubeconfig(tmp_path, "https://127.0.0.1:1"), *which))
    assert "cannot reach the Kubernetes API at https://127.0.0.1:1" in line
    assert "context wrong of" in line and "refused" in line.lower()


def test_a_kubeconfig_that_is_not_yaml_is_one_line_naming_it(tmp_path):
    env = kubeconfig(tmp_path, "https://127.0.0.1:1")
    (tmp_path / "kubeconfig").write_text("clusters: [unclosed\n  : : :")
    line = one_line(run_check_with(env, "--release", "demo"))
    assert line.startswith("probe-demo: error: cannot load the kubeconfig")
    assert str(tmp_path / "kubeconfig") in line


def test_an_api_answer_that_is_not_json_is_one_line(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), NotKubernetes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = kubeconfig(tmp_path, f"http://127.0.0.1:{server.server_port}")
        line = one_line(run_check_with(env, "--deployment", "demo"))
    finally:
        server.shutdown()
    assert "gave an answer that is not a Kubernetes object" in line


class NotKubernetes(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>a captive portal</html>")

    do_GET = do_POST = _answer

    def log_message(self, *_args) -> None:
        pass
