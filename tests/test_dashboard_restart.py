"""The page survives a monitor restart: the indicator shows the outage, reconnects by itself on
the same port, and the cards are filled again, with no console errors besides the browser's
own reports of the refused connection attempts while the monitor was down. And a monitor that
requires a token serves the page opened once with ``?token=``."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import CHROMIUM, CHROMIUM_ARGS, NODE_A, BackgroundMonitor

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")

#: What Chromium itself logs for a WebSocket/fetch that the stopped server refused.
OUTAGE_NOISE = ("ERR_CONNECTION_REFUSED", "WebSocket connection to", "Failed to load resource")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundMonitor]:
    bg = BackgroundMonitor(tmp_path)
    try:
        bg.start()
        bg.wait_ingested()
        yield bg
    finally:
        bg.close()


def test_page_reconnects_after_a_monitor_restart(server: BackgroundMonitor) -> None:
    console: list[tuple[str, str, bool]] = []  # (type, text, during the outage)
    outage = False
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page: Any = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            page.on("console", lambda m: console.append((m.type, m.text, outage)))
            page.on("pageerror", lambda e: console.append(("pageerror", str(e), outage)))
            page.goto(server.base + "/")
            page.wait_for_selector('#conn[data-state="connected"]')
            page.locator(f'.chip[data-view="{NODE_A}"]').click()
            page.locator('[data-testid="storage-used"]').wait_for()

            outage = True
            server.stop()
            page.wait_for_selector('#conn[data-state="disconnected"]')
            assert "Disconnected" in page.locator("#conn").inner_text()
            # The cards keep what they showed while the monitor is away.
            assert page.locator('[data-testid="storage-used"]').count() == 1

            server.start()
            page.wait_for_selector('#conn[data-state="connected"]', timeout=30_000)
            outage = False
            assert page.locator("#conn-text").inner_text() == "Live"
            # The view survived the reconnect and fresh data arrives for it.
            assert (
                page.locator(f'.chip[data-view="{NODE_A}"]').get_attribute("aria-pressed") == "true"
            )
            total = server.get("/api/traffic", view=NODE_A, hours=1)["data"]["total_operations"]
            page.wait_for_function(
                "n => document.querySelector('[data-testid=total-ops] .kpi-value')?.textContent"
                ".replace(/,/g, '') === String(n)",
                arg=total,
            )
        finally:
            browser.close()
    errors = [
        (kind, text)
        for kind, text, during in console
        if kind in ("error", "pageerror") and not (during and any(n in text for n in OUTAGE_NOISE))
    ]
    assert not errors, errors


def test_page_works_behind_an_auth_token(tmp_path: Path) -> None:
    bg = BackgroundMonitor(tmp_path, token="s3cret-token")
    try:
        bg.start()
        with urllib.request.urlopen(f"{bg.base}/api/nodes?token=s3cret-token", timeout=5) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{bg.base}/", timeout=5)
        assert refused.value.code == 401
        refused.value.close()  # its socket, now: in a cycle with its traceback, GC order varies
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page: Any = browser.new_page()
                page.set_default_timeout(20_000)
                errors: list[str] = []
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{bg.base}/?token=s3cret-token")
                page.wait_for_selector('#conn[data-state="connected"]')
                page.locator('[data-testid="ops-chart"] canvas').wait_for()
                page.locator('[data-testid="world-map"] path.country').first.wait_for()
                assert not errors, errors
            finally:
                browser.close()
    finally:
        bg.close()
