"""Storage of nodes known only through their log, in a browser: without an allocation the card
shows the free space, its trend and what is unknown (never "Used 0.0 %" and an empty chart);
with a configured allocation it shows the percentage used."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, free_port, wait_until
from storj_monitor.model import NodeSpec
from storj_monitor.services.log_watch import log_snapshot
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store
from storj_monitor.store.snapshots import insert_storage_snapshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")
ALLOCATION = 2_000_000_000_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    from storj_monitor.services.monitor import Monitor

    port, dead = free_port(), free_port()
    settings = defaults().replace(
        db_path=str(tmp_path / "m.db"), host="127.0.0.1", port=port,
        node_api_poll_interval=0.5, node_api_timeout=0.5, node_api_retries=0,
    )  # fmt: skip
    now = time.time()
    with Store(settings.db_path) as store:

        def seed(conn: Any) -> None:  # 2 days of log samples, free space falling 20 GB/day
            for i in range(96):
                ts = now - (96 - i) * 1800
                free = int(300e9 + 20e9 * (96 - i) * 1800 / 86400)
                insert_storage_snapshot(conn, log_snapshot("NoAlloc", ts, free))
                insert_storage_snapshot(conn, log_snapshot("Alloc", ts, free, ALLOCATION))

        store.write_sync(seed)
    nodes = []
    for name, allocation in (("NoAlloc", None), ("Alloc", ALLOCATION)):
        log = tmp_path / f"{name}.log"
        log.write_text("")
        nodes.append(NodeSpec(name, str(log), f"http://127.0.0.1:{dead}", allocation=allocation))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monitor = Monitor(settings, nodes)
    asyncio.run_coroutine_threadsafe(monitor.start(), loop).result(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(monitor.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_storage_from_the_log_with_and_without_allocation(server: str) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto(server + "/")
            page.wait_for_selector('#conn[data-state="connected"]')
            card = page.locator("#card-storage")

            page.locator('.chip[data-view="NoAlloc"]').click()
            unknown = card.locator('[data-testid="storage-unknown"]')
            unknown.wait_for()
            assert unknown.inner_text() == "used/total unknown without the node API (set allocation)"
            assert "0.0 %" not in card.inner_text()
            assert card.locator('[data-testid="storage-gauge"]').count() == 0
            free = card.locator('[data-testid="storage-free"] .kpi-value').inner_text()
            assert free.endswith("GB") and float(free.split()[0]) == pytest.approx(300, abs=1)
            growth = card.locator('[data-testid="storage-growth"] .kpi-value').inner_text()
            assert growth.startswith("−") and growth.endswith("/day")  # free space shrinks
            card.locator('[data-testid="storage-chart"] canvas').first.wait_for()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            card.screenshot(path=str(SCREENSHOTS / "storage-log-only.png"))

            page.locator('.chip[data-view="Alloc"]').click()
            used = card.locator('[data-testid="storage-used"] .kpi-value')
            wait_until(lambda: used.count() and "%" in used.inner_text())
            assert float(used.inner_text().split()[0]) == pytest.approx(85.0, abs=0.2)
            assert card.locator('[data-testid="storage-unknown"]').count() == 0
            card.screenshot(path=str(SCREENSHOTS / "storage-log-allocation.png"))
            errors = [m for m in console if m.startswith(("error", "pageerror")) or "failed" in m]
            assert not errors, errors
        finally:
            browser.close()
