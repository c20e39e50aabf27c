"""/ui on the cluster, opened as a reader opens it: `kubectl port-forward`, then a browser.

Each test waits for its seed's key moment and takes the guide's screenshot there
(`make screenshots` writes them to docs/images). The page's facts come from the kubelet's real
probes and the container's real cgroup limits.
"""

from __future__ import annotations

import pytest
from processes import free_port
from support.browser import UiPage
from support.cluster import Release, kubectl, kubelet_agent, needs_kubernetes, wait_until


def server_port(pod: dict) -> int:
    server = next(c for c in pod["spec"]["containers"] if c["name"] == "server")
    return next(p["containerPort"] for p in server["ports"] if p["name"] == "http")


@pytest.fixture
def look(browser, tmp_path):
    """look(release) -> (UiPage, pod name): /ui of the release's first pod, port-forwarded."""
    opened = []

    def open_ui(release: Release, pod: dict | None = None) -> tuple[UiPage, str]:
        pod = pod or release.running_pod()
        forward = release.port_forward(pod["metadata"]["name"], server_port(pod))
        url = forward.__enter__()
        opened.append(forward)
        ui = UiPage(browser, url)
        opened.append(ui)
        return ui, pod["metadata"]["name"]

    yield open_ui
    for thing in reversed(opened):
        if isinstance(thing, UiPage):
            thing.close()
        else:
            thing.__exit__(None, None, None)


def kubelet_hit(ui: UiPage, path: str, status: str, timeout: float = 60):
    """The newest row of the kubelet's probes of `path` that answered `status`."""
    row = ui.page.locator("#hits tr", has_text=kubelet_agent()).filter(
        has=ui.page.locator(f'td:text-is("{path}")')).filter(
        has=ui.page.locator(f'td.status:text-is("{status}")'))
    row.first.wait_for(timeout=timeout * 1000)
    return row.first


def test_seed_000_the_count_passes_n_and_the_kubelet_sees_503(install, look, tmp_path):
    # failureThreshold 3 instead of the preset's 1 leaves two periods to look before the kill.
    release = install("unhealthy-restart", "probes.liveness.failureThreshold=3", wait=False)
    ui, _ = look(release)
    row = kubelet_hit(ui, "/healthcheck", "503")
    assert ui.page.locator(".tile", has_text="health checks").filter(
        has_text="past N").is_visible()
    headers = kubelet_hit(ui, "/healthcheck", "200", timeout=1)
    assert "sent Custom-Header: Awesome" in headers.inner_text()
    assert "answered Custom-header-for-kubernetes-app: Awesome" in headers.inner_text()
    assert "Custom-header-for-kubernetes-app" not in row.inner_text()
    ui.screenshot("unhealthy", tmp_path)


def test_seed_001_the_liveness_switch_on_the_page_restarts_the_container(install, browser,
                                                                         tmp_path):
    release = install("start-failing")
    pod = release.running_pod()
    name, local = pod["metadata"]["name"], free_port()
    with release.port_forward(name, server_port(pod), local) as url:
        ui = UiPage(browser, url)
        try:
            ui.page.click("#fail-liveness")
            kubelet_hit(ui, "/livez", "500", timeout=10)
            assert ui.page.locator(".tile", has_text="liveness").filter(
                has_text="failing").is_visible()
            ui.screenshot("start-failing", tmp_path)
            wait_until("the restarted container to be ready", lambda: (
                status := release.container_status(release.pod_named(name)))[
                "restartCount"] >= 1 and status["ready"], timeout=60)
        except BaseException:
            ui.close()
            raise
    # kubectl port-forward stops once a poll meets the restarting container ("lost connection
    # to pod"), unless no poll came at the wrong moment. The reader runs it again on the same
    # port, once the server is back, and reloads: either way the page says what happened.
    try:
        with release.port_forward(name, server_port(pod), local):
            ui.page.reload()
            banner = ui.page.locator("#banner", has_text="The server restarted")
            banner.wait_for(timeout=15_000)
            assert "liveness was failing" in banner.inner_text()
    finally:
        ui.close()


def test_seed_002_the_page_names_the_tag_and_counts_the_clients_requests(install, look,
                                                                        tmp_path):
    release = install("hello-green")
    ui, pod = look(release)
    kubelet_hit(ui, "/readyz", "200", timeout=30)
    assert "tag 'green'" in ui.page.inner_text("#does")
    # A client through the Service, as the guide's: the two pods share its requests. It
    # starts once the Service routes (kube-proxy may apply a new Service's rules a moment
    # after its pods are ready), and says so if it never does.
    url = f"http://{release.service}:5000/"
    release.exec(pod, "sh", "-c", f"for i in $(seq 60); do curl -sf -o /dev/null {url} && "
                                  f"break; sleep 0.5; done; for i in $(seq 20); do "
                                  f"curl -sSf -o /dev/null {url}; done")
    ui.page.locator("#requests tr", has_text="GET /").filter(
        has=ui.page.locator('td:text-is("GET /")')).wait_for(timeout=5000)
    ui.screenshot("hello-green", tmp_path)


def test_seed_003_cpu_throttling_shows_beside_the_limit(install, look, tmp_path):
    release = install("cpu-throttle")
    ui, _ = look(release)
    cpu = ui.page.locator("#cpu")
    assert cpu.locator('dd[data-term="limit"]').inner_text() == "1 CPU"
    assert ui.page.locator('#memory dd[data-term="limit"]').inner_text() == "256.0 MiB"
    throttled = cpu.locator('dd[data-term="throttled now"]')
    wait_until("throttled periods on the page",
               lambda: throttled.inner_text().endswith("% of periods")
               and int(throttled.inner_text().split("%")[0]) >= 50, timeout=30, every=0.5)
    assert cpu.locator('dd[data-term="burning on purpose"]').inner_text() == "2 CPUs"
    ui.screenshot("cpu-throttle", tmp_path)


def test_seed_003_a_deleted_pod_drains_with_readiness_failing(install, look, tmp_path):
    release = install("zero-downtime")
    ui, pod = look(release)
    kubectl("delete", "pod", pod, "-n", release.namespace, "--wait=false")
    # preStop sleeps 5 s, then SIGTERM starts the 5 s drain.
    ui.page.locator(".tile", has_text="draining").filter(has_text="SIGTERM received").wait_for(
        timeout=20_000)
    assert "draining" in ui.page.locator(".tile", has_text="readiness").inner_text()
    assert ui.page.locator(".tile", has_text="liveness").filter(has_text="alive").is_visible()
    kubelet_hit(ui, "/ready", "500", timeout=5)
    ui.screenshot("zero-downtime-draining", tmp_path)


def test_seed_004_the_date_server_beside_its_client(install, look, tmp_path):
    release = install("sidecar-client")
    ui, _ = look(release)
    kubelet_hit(ui, "/readyz", "200", timeout=30)
    assert "/date" in ui.page.inner_text("#does")
    # The client container asks every 2 s, over localhost.
    count = ui.page.locator("#requests tr", has_text="GET /date").locator("td.count")
    wait_until("the client's requests on the page",
               lambda: count.count() and int(count.inner_text()) >= 4, timeout=30, every=0.5)
    assert ui.other_origins() == []
    ui.screenshot("sidecar", tmp_path)


def test_the_kubelets_h2c_probes_are_listed_over_h2c(install, look, tmp_path):
    needs_kubernetes(37, "an HTTP/2 (h2c) probe")
    release = install("h2c-probes")
    ui, _ = look(release)
    row = kubelet_hit(ui, "/readyz", "200", timeout=30)
    assert row.locator("td.protocol").inner_text() == "h2c"
    ui.screenshot("h2c-probes", tmp_path)
