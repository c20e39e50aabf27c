"""/ui in a real headless Chromium, served by a real server process."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from processes import http_get
from support.browser import PHONE, WIDE, UiPage


@pytest.fixture
def open_ui(browser):
    opened: list[UiPage] = []

    def open_page(server, viewport=WIDE) -> UiPage:
        page = UiPage(browser, server.url(""), viewport)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()


def test_a_probe_hit_made_with_curl_appears_within_2_seconds(start_server, open_ui):
    server = start_server("--variant", "unhealthy", "--healthy-checks", "3")
    ui = open_ui(server)
    subprocess.run(["curl", "-sS", "-o", "/dev/null", "-H", "Custom-Header: Awesome",
                    server.url("/healthcheck")], check=True, timeout=10)
    sent = time.monotonic()
    row = ui.page.locator("#hits tr", has_text="/healthcheck").filter(has_text="curl/")
    row.first.wait_for(timeout=2000)
    print(f"probe hit shown {time.monotonic() - sent:.2f}s after curl")
    text = row.first.inner_text()
    assert "200" in text and "Custom-Header: Awesome" in text
    assert "Custom-header-for-kubernetes-app: Awesome" in text  # seed 000's answer header
    ui.page.locator(".tile", has_text="health checks").filter(has_text="1 of 3").wait_for(
        timeout=2000)


def test_kubelet_probes_are_marked_as_such(start_server, open_ui):
    server = start_server()
    ui = open_ui(server)
    subprocess.run(["curl", "-sS", "-o", "/dev/null", "-A", "kube-probe/1.34",
                    server.url("/readyz")], check=True, timeout=10)
    row = ui.page.locator("#hits tr", has_text="kube-probe/1.34")
    row.wait_for(timeout=2000)
    assert row.locator(".badge").inner_text() == "kubelet"


def test_the_readiness_switch_flips_readyz_and_the_page_shows_it(start_server, open_ui):
    server = start_server("--enable-faults")
    ui = open_ui(server)
    readiness = ui.page.locator(".tile", has_text="readiness")
    assert readiness.locator(".value").inner_text() == "ready"
    ui.page.click("#readiness-off")
    readiness.locator(".value", has_text="not ready").wait_for(timeout=2000)
    assert http_get(server.url("/readyz"))[0] == 500
    assert "POST /fault/readiness?ready=false → 200" in ui.page.inner_text("#answer")
    ui.page.click("#readiness-on")
    readiness.locator(".value", has_text="not ready").wait_for(state="detached", timeout=2000)
    assert http_get(server.url("/readyz"))[0] == 200


def test_with_faults_off_the_switches_are_absent_and_the_hint_is_shown(start_server, open_ui):
    server = start_server()
    ui = open_ui(server)
    assert not ui.page.locator("#switches").is_visible()
    assert ui.page.locator("button:visible").count() == 0
    hint = ui.page.locator("#switches-off")
    assert hint.is_visible()
    assert "--set faults.enabled=true" in hint.inner_text()


def test_the_page_makes_no_request_to_any_other_origin(start_server, open_ui):
    server = start_server("--enable-faults")
    ui = open_ui(server)
    for button in ("#readiness-off", "#readiness-on", "#fail-next", "#hold-memory",
                   "#burn-cpus", "#fail-liveness"):
        ui.page.click(button)
        ui.page.locator("#answer", has_text="→").wait_for(timeout=2000)
    ui.page.wait_for_timeout(2500)  # a few polls
    assert any(url.endswith("/ui/live") for url in ui.requests)
    assert ui.other_origins() == []


def test_memory_and_cpu_switches_show_on_the_page(start_server, open_ui):
    server = start_server("--enable-faults")
    ui = open_ui(server)
    ui.page.fill("#memory-size", "24Mi")
    ui.page.click("#hold-memory")
    held = ui.page.locator('#memory dd[data-term="held on purpose"]')
    burning = ui.page.locator('#cpu dd[data-term="burning on purpose"]')
    held.filter(has_text="24.0 MiB").wait_for(timeout=3000)
    ui.page.fill("#cpu-count", "1")
    ui.page.click("#burn-cpus")
    burning.filter(has_text=re.compile(r"^1 CPU$")).wait_for(timeout=3000)
    ui.page.fill("#cpu-count", "0")
    ui.page.click("#burn-cpus")
    burning.filter(has_text=re.compile(r"^0 CPUs$")).wait_for(timeout=3000)


@pytest.mark.parametrize(("field", "value", "button", "named"), [
    ("#fail-next-count", "0", "#fail-next", "'count'"),
    ("#memory-size", "5Gi", "#hold-memory", "'size': above the cap of 4Gi"),
    ("#exit-code", "300", "#crash", "'code'"),
])
def test_bad_input_is_answered_4xx_naming_the_parameter(start_server, open_ui, field, value,
                                                        button, named):
    server = start_server("--enable-faults")
    ui = open_ui(server)
    before = http_get(server.url("/state"))[1]
    ui.page.fill(field, value)
    ui.page.click(button)
    answer = ui.page.locator("#answer.bad")
    answer.wait_for(timeout=2000)
    assert "→ 400" in answer.inner_text() and named in answer.inner_text()
    assert server.process.poll() is None
    state_after = http_get(server.url("/state"))[1]
    assert _state_fields(state_after) == _state_fields(before)


def _state_fields(body: str) -> dict:
    state = json.loads(body)["state"]
    return {k: v for k, v in state.items() if k != "healthchecks"}


def test_crash_exits_with_the_code_and_the_page_says_contact_is_lost(start_server, open_ui):
    server = start_server("--enable-faults")
    ui = open_ui(server)
    ui.page.fill("#exit-code", "3")
    ui.page.click("#crash")
    assert server.process.wait(timeout=10) == 3
    ui.page.locator("#contact.lost", has_text="no answer since").wait_for(timeout=3000)


def test_after_a_restart_and_a_reload_the_page_says_the_server_restarted(start_server,
                                                                         open_ui):
    """As after `kubectl port-forward` is run again: same address, a new server process."""
    first = start_server("--enable-faults")
    ui = open_ui(first)
    ui.page.click("#fail-liveness")
    ui.page.locator(".tile", has_text="liveness").filter(has_text="failing").wait_for(
        timeout=2000)
    ui.page.fill("#exit-code", "1")
    ui.page.click("#crash")
    assert first.process.wait(timeout=10) == 1
    start_server("--enable-faults", port=first.port)
    ui.page.reload()
    banner = ui.page.locator("#banner", has_text="The server restarted")
    banner.wait_for(timeout=3000)
    assert "Its liveness was failing: the kubelet restarted it." in banner.inner_text()
    ui.page.reload()  # the notice outlives a reload too
    banner.wait_for(timeout=3000)


@pytest.mark.parametrize("viewport", [PHONE, WIDE], ids=["375px", "1440px"])
def test_the_page_is_usable_on_a_phone_and_a_laptop(start_server, open_ui, tmp_path, viewport):
    server = start_server("--variant", "unhealthy", "--enable-faults")
    for agent in ("kube-probe/1.34", "curl/7.88.1"):
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "-A", agent,
                        "-H", "Custom-Header: Awesome", server.url("/healthcheck")],
                       check=True, timeout=10)
    ui = open_ui(server, viewport)
    ui.page.locator("#hits tr").nth(1).wait_for(timeout=2000)
    width = viewport["width"]
    # Nothing makes the page wider than the screen (the hits table scrolls inside its box).
    assert ui.page.evaluate("document.documentElement.scrollWidth") <= width
    for control in ui.page.locator("button, input, select").all():
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, \
            f"{control.evaluate('e => e.id')} is outside the {width}px screen"
    ui.page.click("#readiness-off")  # a switch can be reached and used at this width
    ui.page.locator(".tile", has_text="not ready").wait_for(timeout=2000)
    path = ui.screenshot(f"{width}px", tmp_path)
    assert path.stat().st_size > 10_000
