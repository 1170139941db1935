"""The web console in a real browser (Debian's chromium driven by Playwright): pair, see the
devices, switch a light and see its state come back over the WebSocket, break a rule and see
the error at its line, open a trace. Screenshots go to build/screenshots/."""

from __future__ import annotations

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubd.core.events import Report
from hubd.core.model import Context, Origin
from tests.hubd.api.conftest import HubThread, client_ssl

CHROMIUM = shutil.which("chromium")
SHOTS = Path(__file__).resolve().parents[3] / "build" / "screenshots"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                "(make system-deps installs it)")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubThread]:
    hub = HubThread(tmp_path_factory.mktemp("console"), zigbee_devices=2)
    yield hub
    hub.close()


def test_the_console_is_served_with_a_strict_csp(live: HubThread) -> None:
    with urllib.request.urlopen(f"{live.url}/", context=client_ssl()) as reply:
        csp = reply.headers["Content-Security-Policy"]
        assert reply.headers["Server"] == "hubd"
        page = reply.read().decode()
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert '<script type="module" src="/web/app.js">' in page and "<script>" not in page


def test_a_new_user_pairs_controls_and_fixes_a_rule(live: HubThread) -> None:
    from playwright.sync_api import FilePayload, expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(ignore_https_errors=True,
                                    viewport={"width": 390, "height": 844})  # a phone
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{live.url}/")
            page.fill("#pair-code", live.setup_code)
            page.click("#pair-form button[type=submit]")
            expect(page.locator(".card", has_text="Hall light")).to_be_visible()
            expect(page.locator("#connection")).to_have_text("live")
            assert page.evaluate("location.href").find("hubd_") == -1  # never in the URL
            page.screenshot(path=SHOTS / "devices.png", full_page=True)

            porch = page.locator(".card", has_text="Porch light")
            porch.get_by_role("button", name="Turn on").click()
            expect(porch.locator(".result")).to_contain_text("confirmed")
            # The new state arrives over the WebSocket and redraws the card.
            expect(page.locator(".card", has_text="Porch light").locator(".state")
                   ).to_contain_text("on on")

            # A door opening runs the example rule: its trace is there to open.
            assert live.daemon.hub is not None
            live.soon(live.daemon.hub.report, Report("virtual:3", "contact.is_open", True, 0.0,
                                                     Context.new(Origin.PHYSICAL)))
            page.click("#tabs button[data-tab=events]")
            expect(page.locator("#event-log li", has_text="rule_ran")).to_be_visible()
            page.screenshot(path=SHOTS / "events.png", full_page=True)

            page.click("#tabs button[data-tab=rules]")
            page.get_by_role("link", name="Door opens, hall light on").click()
            expect(page.locator(".trace").first).to_contain_text("trigger")
            page.fill("#editor-text", "id: broken\ntriggers:\n  - kind: state\n    device: "
                      "Nowhere\n    attribute: is_open\nactions: []\n")
            page.click("#rule-save")
            expect(page.locator("#rule-errors li").first).to_contain_text("line")
            expect(page.locator("#editor-lines li.bad").first).to_be_visible()
            page.screenshot(path=SHOTS / "rules.png", full_page=True)

            # Add devices: open the Zigbee network and see the simulated devices join.
            page.click("#tabs button[data-tab=join]")
            page.select_option("#join-radio", "zigbee")
            page.fill("#join-seconds", "30")
            page.click("#join-form button[type=submit]")
            expect(page.locator("#join-status")).to_contain_text("zigbee open for")
            expect(page.locator("#join-list li").first).to_contain_text("joined",
                                                                        timeout=30_000)
            page.screenshot(path=SHOTS / "join.png", full_page=True)

            page.click("#tabs button[data-tab=health]")
            expect(page.locator("#health")).to_contain_text("virtual")
            page.screenshot(path=SHOTS / "health.png", full_page=True)

            # An admin uploads a bundle, sees its progress over the WebSocket, restarts into it.
            page.click("#tabs button[data-tab=update]")
            expect(page.locator("#update-running")).to_contain_text("running 1 from slot A")
            bundle: FilePayload = {"name": "hubd-1.1.bundle", "buffer": live.slots.bundle("1.1"),
                                   "mimeType": "application/octet-stream"}
            page.set_input_files("#update-file", files=[bundle])
            page.click("#update-form button[type=submit]")
            expect(page.locator("#update-phase")).to_contain_text("update 1.1: committed",
                                                                  timeout=30_000)
            page.screenshot(path=SHOTS / "update.png", full_page=True)
            page.click("#update-reboot")
            expect(page.locator("#update-phase")).to_contain_text("rebooting")
            assert live.slots.reboots == ["reboot"]
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
