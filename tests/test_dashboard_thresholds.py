"""The page colours from the server's threshold table: with STORAGE_WARNING_PERCENT=70 the
node at 76 % is amber on the page *and* has a warning alert (before, the alert fired at 70 %
while the gauge stayed green until a hard-coded 80 %)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard_support import CHROMIUM, CHROMIUM_ARGS, NODE_A, BackgroundMonitor, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")


def test_gauge_turns_amber_at_a_configured_70_percent(tmp_path: Path) -> None:
    bg = BackgroundMonitor(tmp_path, storage_warning_percent=70.0)
    try:
        bg.start()
        storage = wait_until(lambda: bg.get("/api/storage", view=NODE_A)["data"])
        used = storage[0]["used_percent"]
        assert 70.0 < used < 80.0  # amber only with the configured threshold
        active = wait_until(
            lambda: [a for a in bg.get("/api/alerts/active")["data"] if a["kind"] == "disk_usage"]
        )
        assert [(a["node_name"], a["severity"]) for a in active] == [(NODE_A, "warning")]
        assert "threshold: 70.0%" in active[0]["message"]
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(20_000)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(bg.base + "/")
                page.wait_for_selector('#conn[data-state="connected"]')
                page.locator(f'.chip[data-view="{NODE_A}"]').click()
                tile = page.locator('[data-testid="storage-used"]')
                tile.wait_for()
                assert tile.get_attribute("class").split() == ["kpi", "warn"]
                gauge = page.locator('[data-testid="storage-gauge"]')
                assert gauge.get_attribute("class").split() == ["gauge", "warn"]
                # The card may redraw once more when the view's data arrives (other cards'
                # requests share the socket): read the colour of the gauge that is on the page.
                colour = wait_until(
                    lambda: gauge.locator(".g-used").evaluate(
                        "el => el.isConnected ? getComputedStyle(el).backgroundColor : ''"
                    )
                )
                warn = page.evaluate(
                    "() => { const s = document.createElement('span');"
                    " s.style.color = 'var(--c-warn)'; document.body.append(s);"
                    " const c = getComputedStyle(s).color; s.remove(); return c; }"
                )
                assert colour == warn
                assert not errors, errors
            finally:
                browser.close()
    finally:
        bg.close()
