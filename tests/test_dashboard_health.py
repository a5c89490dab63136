"""A mistyped log path is visible: a critical alert naming the path, ``degraded`` in
/healthz with the node's ``log_state``, and a marker on the node's chip (before, the path was
accepted silently, /healthz said ok and the page "All clear")."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard_support import CHROMIUM, CHROMIUM_ARGS, NODE_A, NODE_B, BackgroundMonitor, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")


def test_chip_alert_and_healthz_show_a_missing_log(tmp_path: Path) -> None:
    bg = BackgroundMonitor(tmp_path)
    missing = tmp_path / "beta.lgo"  # the path given for node B does not exist
    bg.logs[NODE_B] = missing
    try:
        bg.start()
        nodes = wait_until(
            lambda: {
                n["name"]: n
                for n in bg.get("/api/nodes")["data"]
                if n["log_state"] and n["name"] == NODE_B and n["log_state"]["state"] == "missing"
            }
        )
        assert nodes[NODE_B]["log_state"]["path"] == str(missing)
        health = bg.get("/healthz")
        assert health["status"] == "degraded"
        assert health["log_state"][NODE_B]["state"] == "missing"
        assert health["log_state"][NODE_A]["state"] == "ok"
        alert = wait_until(
            lambda: [a for a in bg.get("/api/alerts/active")["data"] if a["kind"] == "log_missing"]
        )[0]
        assert alert["node_name"] == NODE_B and alert["severity"] == "critical"
        assert str(missing) in alert["message"]
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(20_000)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(bg.base + "/")
                page.wait_for_selector('#conn[data-state="connected"]')
                chip = page.locator(f'.chip[data-view="{NODE_B}"]')
                chip.wait_for()
                assert chip.get_attribute("data-log-state") == "missing"
                assert chip.locator(".chip-warn").inner_text() == "log missing"
                assert f"log file {missing} does not exist" in (chip.get_attribute("title") or "")
                ok_chip = page.locator(f'.chip[data-view="{NODE_A}"]')
                assert ok_chip.get_attribute("data-log-state") == "ok"
                assert ok_chip.locator(".chip-warn").count() == 0
                assert " · up " in (ok_chip.get_attribute("title") or "")  # the API's startedAt
                title = f"Log File Missing: {NODE_B}"
                page.locator('[data-testid="alert"] .alert-title', has_text=title).wait_for()
                assert errors == []
            finally:
                browser.close()
    finally:
        bg.close()
