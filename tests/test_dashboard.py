"""Browser tests of the dashboard: headless Debian Chromium driven by Playwright, against a real
Monitor following real log files (tmp_path) with a fake node API.

They check that every card shows the numbers the REST API gives, that switching the view,
acknowledging an alert and a monitor restart work, that text from logs (an error text, a node
name) is shown as text and never run as HTML, and that the console stays free of errors.
Screenshots (desktop 1400 px and phone 375 px, dark and light) go to a temporary directory
(``$TMPDIR/storj_monitor-screenshots``, or ``$STORJ_MONITOR_SCREENSHOTS``), named in the
summary at the end of the pytest run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    NODE_A,
    NODE_B,
    SCREENSHOTS,
    XSS_ERROR,
    XSS_SATELLITE,
    BackgroundMonitor,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundMonitor]:
    bg = BackgroundMonitor(tmp_path_factory.mktemp("dashboard"))
    try:
        bg.start()
        bg.wait_ingested()
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


class Page:
    """A page plus everything the console said and any dialog that opened."""

    def __init__(self, browser: Any, base: str, width: int = 1400, theme: str = "dark") -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=theme
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.goto(base + "/")
        self.wait_live()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def wait_live(self) -> None:
        self.page.wait_for_selector('#conn[data-state="connected"]')

    def errors(self) -> list[str]:
        return [c for c in self.console if c.startswith(("error", "pageerror"))]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser: Any, server: BackgroundMonitor) -> Iterator[Page]:
    p = Page(browser, server.base)
    yield p
    errors = p.errors()
    p.close()
    assert not errors, f"browser console errors: {errors}"
    assert not p.dialogs, f"a dialog opened: {p.dialogs}"


def number(text: str) -> float:
    """The first number in a text ("71,953" -> 71953.0, "76.0 %" -> 76.0)."""
    m = re.search(r"-?[\d,]+(\.\d+)?", text)
    assert m, f"no number in {text!r}"
    return float(m.group(0).replace(",", ""))


def kpi(page: Any, testid: str) -> str:
    return page.locator(f'[data-testid="{testid}"] .kpi-value').inner_text()


# --- the cards against the REST API --------------------------------------------------------


def test_every_card_shows_the_rest_numbers(page: Page, server: BackgroundMonitor) -> None:
    pg = page.page
    pg.locator(f'.chip[data-view="{NODE_A}"]').click()
    traffic = server.get("/api/traffic", view=NODE_A, hours=1)["data"]
    pg.wait_for_function(
        "n => document.querySelector('[data-testid=total-ops] .kpi-value')?.textContent"
        ".replace(/,/g, '') === String(n)",
        arg=traffic["total_operations"],
    )
    for cat in ("get", "put", "audit", "repair"):
        expected = traffic["operations"][cat]["success_rate"]
        got = pg.locator(f'[data-testid="rate-{cat}"]').get_attribute("data-rate")
        assert float(got) == pytest.approx(expected), cat
    sats = pg.locator('[data-testid="satellite-table"] tbody tr')
    assert sats.count() == len(traffic["satellites"])

    storage = server.get("/api/storage", view=NODE_A)["data"][0]
    pg.wait_for_selector('[data-testid="storage-used"]')
    assert number(kpi(pg, "storage-used")) == pytest.approx(round(storage["used_percent"], 1))
    if storage["days_until_full"] is not None:
        assert number(kpi(pg, "storage-days")) == pytest.approx(
            round(storage["days_until_full"], 1), abs=0.11
        )
    assert pg.locator('[data-testid="storage-chart"] canvas').count() >= 1

    reputation = server.get("/api/reputation", view=NODE_A)["data"]
    pg.wait_for_selector('[data-testid="reputation-table"]')
    for row in reputation:
        cells = pg.locator(
            f'[data-testid="reputation-table"] tr:has(span[title="{row["satellite_id"]}"]) .score'
        )
        assert float(cells.nth(0).get_attribute("data-value")) == pytest.approx(row["audit_score"])
        left = pg.locator(
            f'[data-testid="reputation-table"] tr:has(span[title="{row["satellite_id"]}"]) '
            '[data-testid="audits-left"]'
        )
        assert int(left.get_attribute("data-value")) == row["failed_audits_until_disqualification"]

    alerts = server.get("/api/alerts", view=NODE_A)["data"]["active"]
    pg.wait_for_function(
        "n => document.querySelectorAll('[data-testid=active-alerts] > li').length === n",
        arg=len(alerts),
    )
    assert pg.locator("#alerts-count").inner_text() == str(len(alerts))

    day = server.get("/api/traffic", view=NODE_A, hours=24)["data"]
    top = day["errors"][0]
    first = pg.locator('[data-testid="error-categories"] li').first
    first.wait_for()
    assert first.get_attribute("data-category") == top["category"]
    assert int(first.get_attribute("data-count")) == top["count"]

    geo = [
        c
        for c in server.get("/api/geo", view=NODE_A, hours=24)["data"]["countries"]
        if c["country"]
    ]
    if geo:
        country = pg.locator('[data-testid="country-list"] li').first
        country.wait_for()
        assert country.get_attribute("data-country") == geo[0]["country"]
        assert int(country.get_attribute("data-count")) == geo[0]["operations"]
        assert pg.locator('[data-testid="world-map"] path.country').count() > 100

    latency = server.get("/api/latency", view=NODE_A, hours=1)
    if latency is not None and "data" in latency:
        stats = latency["data"]["statistics"]
        table = pg.locator('[data-testid="latency-percentiles"]')
        table.wait_for()
        for label, cat in (("Download", "get"), ("Upload", "put"), ("Audit", "audit")):
            if not stats[cat]["count"]:
                continue
            cells = table.locator("tbody tr", has_text=label).first.locator("td")
            assert int(cells.nth(1).get_attribute("data-value")) == stats[cat]["count"]
            for i, key in ((2, "p50"), (3, "p95"), (4, "p99")):
                assert float(cells.nth(i).get_attribute("data-value")) == pytest.approx(
                    stats[cat][key]
                ), (cat, key)
        histogram = server.get("/api/latency/histogram", view=NODE_A, hours=1)["data"]
        assert histogram["total"] > 0
        note = pg.locator("#card-latency .card-note").inner_text()
        assert f"{histogram['total']:,} ops" in note
    else:
        # A build without latency queries: the card says so (as text), never zeros.
        pg.locator("#card-latency .empty").wait_for()


def test_switching_view(page: Page, server: BackgroundMonitor) -> None:
    pg = page.page
    chip = pg.locator(f'.chip[data-view="{NODE_B}"]')
    # The node name is shown as its characters; its markup never became an element.
    assert chip.inner_text().strip() == NODE_B
    assert pg.locator("#views i").count() == 0
    chip.click()
    assert chip.get_attribute("aria-pressed") == "true"
    expected = server.get("/api/traffic", view=NODE_B, hours=1)["data"]["total_operations"]
    pg.wait_for_function(
        "n => document.querySelector('[data-testid=total-ops] .kpi-value')?.textContent"
        ".replace(/,/g, '') === String(n)",
        arg=expected,
    )
    # Node B has no API: storage and reputation say so instead of showing zeros.
    pg.locator('#card-storage [data-empty="no-api"]').wait_for()
    pg.locator('#card-reputation [data-empty="no-api"]').wait_for()
    # Node B logs at INFO level: no transfer durations, and the card says why.
    if server.get("/api/latency", view=NODE_B, hours=1) is not None:
        pg.locator('#card-latency [data-empty="needs-debug"]').wait_for()
        assert "enable DEBUG log level" in pg.locator("#card-latency").inner_text()

    pg.locator('.chip[data-view="Aggregate"]').click()
    total = server.get("/api/traffic", hours=1)["data"]["total_operations"]
    pg.wait_for_function(
        "n => document.querySelector('[data-testid=total-ops] .kpi-value')?.textContent"
        ".replace(/,/g, '') === String(n)",
        arg=total,
    )
    pg.locator('#card-storage [data-testid="storage-gauge"]').wait_for()


def test_live_five_minute_window(page: Page, server: BackgroundMonitor) -> None:
    pg = page.page
    pg.locator(f'.chip[data-view="{NODE_A}"]').click()
    pg.locator("#traffic-window button", has_text="5 min").click()
    server.transfers(NODE_A, 40, "PUT")
    # The live push (stats_update) brings them in without a reload.
    pg.wait_for_function(
        "() => parseInt(document.querySelector('[data-testid=rate-put]')"
        "?.querySelector('.rate-head span:last-child')?.textContent) >= 40"
    )
    assert "5 min" in pg.locator('[data-testid="total-ops"]').inner_text()
    pg.locator('[data-testid="ops-chart"] canvas').wait_for()
    # A new alert arrives through the `alert` broadcast, without waiting for a poll.
    before = pg.locator('[data-testid="active-alerts"] > li').count()
    server.audit_failure(NODE_A, "1LiveAlertSatellitexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    pg.wait_for_function(
        "n => document.querySelectorAll('[data-testid=active-alerts] > li').length > n",
        arg=before,
        timeout=10_000,
    )


def test_error_text_from_the_log_is_shown_as_text(page: Page, server: BackgroundMonitor) -> None:
    pg = page.page
    pg.locator('.chip[data-view="Aggregate"]').click()
    shown = pg.locator('[data-testid="alert-error"]', has_text=XSS_ERROR)
    shown.first.wait_for()
    assert shown.first.inner_text() == f"Error: {XSS_ERROR}"
    assert pg.locator("img[src=x]").count() == 0
    assert pg.evaluate("document.body.innerHTML.includes('<img src=\"x\"')") is False
    assert not page.dialogs
    alert = next(
        a
        for a in server.get("/api/alerts")["data"]["active"]
        if a["details"].get("satellite_id") == XSS_SATELLITE
    )
    assert alert["details"]["error"] == XSS_ERROR


def test_acknowledge_an_alert(page: Page, server: BackgroundMonitor) -> None:
    pg = page.page
    pg.locator('.chip[data-view="Aggregate"]').click()
    active = server.get("/api/alerts")["data"]["active"]
    target = next(a for a in active if not a["acknowledged_at"])
    item = pg.locator(f'[data-testid="active-alerts"] li[data-alert-id="{target["id"]}"]')
    item.locator('[data-testid="ack"]').click()
    item.locator('[data-testid="acked"]').wait_for()
    after = {a["id"]: a for a in server.get("/api/alerts")["data"]["active"]}
    assert after[target["id"]]["acknowledged_at"] is not None


def test_theme_toggle_and_screenshots(browser: Any, server: BackgroundMonitor) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    for width, name in ((1400, "desktop"), (375, "phone")):
        for theme in ("dark", "light"):
            p = Page(browser, server.base, width=width, theme=theme)
            try:
                pg = p.page
                assert pg.evaluate("document.documentElement.dataset.theme") == theme
                pg.locator('[data-testid="ops-chart"] canvas').wait_for()
                pg.locator('[data-testid="storage-chart"] canvas').first.wait_for()
                pg.locator('[data-testid="world-map"] path.country').first.wait_for()
                pg.locator('[data-testid="reputation-table"]').wait_for()
                path = SCREENSHOTS / f"dashboard-{name}-{theme}.png"
                pg.screenshot(path=str(path), full_page=True)
                saved.append(path)
                # The toggle switches to the other theme and remembers it.
                pg.locator("#theme-toggle").click()
                other = "light" if theme == "dark" else "dark"
                assert pg.evaluate("document.documentElement.dataset.theme") == other
                assert pg.evaluate("localStorage.getItem('storj_monitor.theme')") == other
                # Phone width: nothing sticks out sideways.
                overflow = pg.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 1, f"{name}: page is {overflow}px wider than the screen"
                assert not p.errors(), p.errors()
            finally:
                p.close()
    print(f"\nscreenshots saved in {SCREENSHOTS}: {', '.join(s.name for s in saved)}")
    assert all(s.stat().st_size > 10_000 for s in saved)
