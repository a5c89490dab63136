"""Browser test of the fleet view with 50 nodes: the "All nodes" table sorts by any column (mouse
and keyboard), the node chips collapse into a picker that filters and keeps shift-click
multi-select, a single-node view shows the node's identity line, the Reputation card names the
node on every row of a multi-node view, and the page stays usable at phone width
(screenshots in ``$TMPDIR/storj_monitor-screenshots``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    BackgroundMonitor,
    wait_until,
)
from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.model import NodeSpec, StorageSnapshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]

sync_api = pytest.importorskip("playwright.sync_api")
TIMEOUT_MS = 20_000
KINDS = ("nas", "pi", "vps", "home", "cloud")
#: 50 nodes; the first five have a (shared) fake node API, the others none that answers.
NAMES = [f"{KINDS[i % 5]}-{i:02d}" for i in range(50)]
WITH_API = 5


class FleetMonitor(BackgroundMonitor):
    """A Monitor with 50 nodes: a little traffic each, a disk snapshot each (used 10..59 %)."""

    def settings(self) -> Any:
        return super().settings().replace(node_api_poll_interval=2.0)

    async def _start(self) -> None:
        from storj_monitor.services.monitor import Monitor
        from storj_monitor.store.database import Store
        from storj_monitor.store.snapshots import insert_storage_snapshot

        if self.api is None:
            self.api = await FakeNodeApi(scenario("healthy")).start()
            gen = LogGenerator(seed=5, debug=False, background_per_hour=0)
            now = time.time()
            self.fleet_logs = {}
            for i, name in enumerate(NAMES):
                path = self.tmp_path / f"{name}.log"
                lines: list[str] = []
                for k in range(i % 7 + 1):
                    status = "failed" if k == 3 else "success"
                    lines += gen.transfer("GET", status, error="boom", at=now - 120, latency=0.1)  # type: ignore[arg-type]
                path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                self.fleet_logs[name] = path
            snaps = [
                StorageSnapshot(now - 60, name, 10**12, (10 + i) * 10**10, (90 - i) * 10**10,
                                0, 10.0 + i, 0.0, 90.0 - i)
                for i, name in enumerate(NAMES)
            ]  # fmt: skip

            def seed(conn: Any) -> None:
                for s in snaps:
                    insert_storage_snapshot(conn, s)

            with Store(self.settings().db_path) as store:
                store.write_sync(seed)
        nodes = [
            NodeSpec(
                name,
                str(self.fleet_logs[name]),
                self.api.url if i < WITH_API else f"http://127.0.0.1:{self.dead_api_port}",
            )
            for i, name in enumerate(NAMES)
        ]
        self.monitor = Monitor(self.settings(), nodes)
        await self.monitor.start()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetMonitor]:
    bg = FleetMonitor(tmp_path_factory.mktemp("fleet"))
    try:
        bg.start()

        def ready() -> bool:
            rows = (bg.get("/api/fleet") or {}).get("data") or []
            return len(rows) == 50 and all(
                r["identity"] is not None and r["lowest_score"] for r in rows[:WITH_API]
            )

        wait_until(ready, step=0.3)
        yield bg
    finally:
        bg.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any, base: str, width: int) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector('#conn[data-state="connected"]')
    return context, page, errors


def column(page: Any, index: int, attr: str = "value") -> list[Any]:
    """The cells of a fleet table column: data-value (numbers; None when unknown) or text."""
    cells = page.locator('[data-testid="fleet-table"] tbody tr').evaluate_all(
        f"(rows) => rows.map((r) => {{ const c = r.children[{index}];"
        f" return {'c.dataset.value ?? null' if attr == 'value' else 'c.textContent'}; }})"
    )
    return [float(c) if attr == "value" and c is not None else c for c in cells]


def test_fleet_table_sorts_and_picker_filters(browser: Any, server: FleetMonitor) -> None:
    context, page, errors = open_page(browser, server.base, 1400)
    try:
        rows = page.locator('[data-testid="fleet-table"] tbody tr')
        page.wait_for_function(
            "document.querySelectorAll('[data-testid=\"fleet-table\"] tbody tr').length === 50"
        )
        # the chips collapsed: "All nodes" plus the picker toggle, no 50 chips
        assert page.locator("#views .views-chips .chip").count() == 1
        assert page.locator('[data-testid="picker-toggle"]').is_visible()

        # sort by node name: click the header, then again to reverse
        node_head = page.locator('th[data-key="node"] button')
        node_head.click()
        assert page.locator('th[data-key="node"]').get_attribute("aria-sort") == "ascending"
        assert column(page, 0, "text") == sorted(NAMES, key=str.lower)
        node_head.click()
        assert column(page, 0, "text") == sorted(NAMES, key=str.lower, reverse=True)

        # sort by disk used with the keyboard: focus the header button, press Enter
        page.locator('th[data-key="disk"] button').focus()
        page.keyboard.press("Enter")
        assert page.locator('th[data-key="disk"]').get_attribute("aria-sort") == "descending"
        used = column(page, 4)
        # seeded 15..59 % (nodes without an API), the fake API's figure for the others
        assert None not in used and used == sorted(used, reverse=True) and used[-1] == 15.0
        page.keyboard.press("Space")  # focus stayed on the header: reverse
        assert column(page, 4) == sorted(used)

        # success rates sort with unknowns last
        page.locator('th[data-key="dl"] button').click()
        rates = column(page, 7)
        known = [r for r in rates if r is not None]
        assert known and known == sorted(known, reverse=True)
        assert rates[: len(known)] == known
        assert rows.count() == 50

        # the picker filters; Enter on a match shows that node alone
        page.locator('[data-testid="picker-toggle"]').click()
        page.locator('[data-testid="picker-filter"]').fill("vps")
        items = page.locator('[data-testid="picker-list"] button')
        assert items.count() == 10
        assert all(t.startswith("vps-") for t in items.all_inner_texts())
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        wait_until(lambda: page.evaluate("window.storjMonitor.view.join(',')") == "vps-02")
        assert not page.locator("#card-fleet").is_visible()
        ident = page.locator("#node-identity")
        ident.locator('[data-testid="ident-node-id"]').wait_for()
        assert "Version" in ident.inner_text() and "Uptime" in ident.inner_text()

        # shift-click in the picker adds a node to the view; chips show the view's nodes
        page.locator('[data-testid="picker-toggle"]').click()
        page.locator('[data-testid="picker-filter"]').fill("pi-01")
        page.locator('[data-testid="picker-list"] button').first.click(modifiers=["Shift"])
        wait_until(lambda: page.evaluate("window.storjMonitor.view.join(',')") == "vps-02,pi-01")
        assert page.locator(".picker-panel").is_visible()  # still open to add more
        chips = page.locator("#views .views-chips .chip").all_inner_texts()
        assert [c.strip() for c in chips][1:] == ["pi-01", "vps-02"]
        assert page.locator("#node-identity").is_hidden()
        # Reputation card of a multi-node view: every row names its node
        page.keyboard.press("Escape")
        page.locator('[data-testid="reputation-table"]').wait_for()
        names = page.locator('[data-testid="reputation-node"]').all_inner_texts()
        body_rows = page.locator('[data-testid="reputation-table"] tbody tr').count()
        assert len(names) == body_rows > 0
        assert {n.split(" ·")[0] for n in names} == {"vps-02", "pi-01"}

        # back to all nodes: the table is there again
        page.locator('#views .chip[data-view="Aggregate"]').click()
        page.locator('[data-testid="fleet-table"]').wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "fleet-desktop.png"), full_page=False)
        assert not errors, errors
    finally:
        context.close()


def test_fleet_at_phone_width(browser: Any, server: FleetMonitor) -> None:
    context, page, errors = open_page(browser, server.base, 375)
    try:
        page.wait_for_function(
            "document.querySelectorAll('[data-testid=\"fleet-table\"] tbody tr').length === 50"
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"page is {overflow}px wider than the screen"
        # the table scrolls inside its card; the node column stays readable
        wrap = page.locator(".fleet-wrap").bounding_box()
        assert wrap is not None and wrap["x"] >= 0 and wrap["x"] + wrap["width"] <= 376
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shots: list[Path] = [
            SCREENSHOTS / "fleet-phone.png",
            SCREENSHOTS / "fleet-phone-picker.png",
        ]
        page.screenshot(path=str(shots[0]))
        page.locator('[data-testid="picker-toggle"]').click()
        page.locator('[data-testid="picker-filter"]').fill("home")
        assert page.locator('[data-testid="picker-list"] button').count() == 10
        panel = page.locator(".picker-panel").bounding_box()
        assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 376
        page.screenshot(path=str(shots[1]))
        page.locator('[data-testid="picker-list"] button').first.click()
        wait_until(lambda: page.evaluate("window.storjMonitor.view.join(',')") == "home-03")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1
        page.screenshot(path=str(SCREENSHOTS / "fleet-phone-node.png"))
        assert all(s.stat().st_size > 5_000 for s in shots)
        assert not errors, errors
    finally:
        context.close()
