"""The Earnings card in headless Chromium against a real Monitor and the fake node API.

Node Alpha has the fake API (this month from its replies, closed months from its payout
history); node Beta has none (its month is estimated from its log). The card's figures must be
the REST API's, the month selector must switch to a closed month, and at phone width (375 px)
nothing may stick out sideways. A screenshot of the card at phone width is saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dashboard_support import NODE_A, SCREENSHOTS, BackgroundMonitor, wait_until
from test_dashboard import Page, kpi, number

pytestmark = [pytest.mark.browser]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundMonitor]:
    bg = BackgroundMonitor(tmp_path_factory.mktemp("earnings"))
    try:
        bg.start()
        bg.wait_ingested()
        yield bg
    finally:
        bg.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from dashboard_support import CHROMIUM, CHROMIUM_ARGS

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _history_ready(server: BackgroundMonitor) -> Any:
    body = server.get(f"/api/earnings/history?view={NODE_A}")
    return body and len({r["period"] for r in body["data"]}) >= 2 and body


def test_card_shows_the_api_figures_and_a_closed_month(
    browser: Any, server: BackgroundMonitor
) -> None:
    wait_until(lambda: _history_ready(server))
    p = Page(browser, server.base)
    try:
        pg = p.page
        pg.locator(f'#views [data-view="{NODE_A}"]').click()
        card = pg.locator("#card-earnings")
        card.locator('[data-testid="earnings-satellites"]').wait_for()
        body = server.get(f"/api/earnings?view={NODE_A}")
        node = body["data"][0]
        assert node["source"] == "api"
        net = number(kpi(card, "earn-net"))
        assert net == pytest.approx(node["total"]["net_usd"], abs=0.006)
        assert number(kpi(card, "earn-gross")) == pytest.approx(
            node["total"]["gross_usd"], abs=0.006
        )
        ours = number(kpi(card, "earn-projection"))
        assert ours == pytest.approx(node["projection"]["month_end_net_usd"], abs=0.006)
        theirs = number(kpi(card, "earn-node-estimate"))
        assert theirs == pytest.approx(
            node["node_estimate"]["month_end_expectation_usd"], abs=0.006
        )
        rows = card.locator('[data-testid="earnings-satellites"] tbody tr')
        assert rows.count() == 4
        assert "comes back in" in card.locator('[data-testid="earn-held-back"]').inner_text()
        card.locator('[data-testid="earnings-chart"] canvas').first.wait_for()
        # This month's traffic per day (the log's last half hour: today only).
        card.locator('[data-testid="earnings-daily-chart"] canvas').first.wait_for()
        if node["comparison"] and node["comparison"]["explanation"]:
            assert card.locator('[data-testid="earn-explanation"]').is_visible()
        assert "from the node API" in pg.locator("#earnings-note").inner_text()

        # A closed month: what the node was paid.
        last = sorted({r["period"] for r in _history_ready(server)["data"]})[-1]
        pg.locator("#earnings-period").select_option(last)
        closed = server.get(f"/api/earnings?view={NODE_A}&period={last}")["data"][0]
        wait_until(lambda: "payout history" in pg.locator("#earnings-note").inner_text())
        wait_until(
            lambda: (
                number(kpi(card, "earn-net"))
                == pytest.approx(closed["total"]["net_usd"], abs=0.006)
            )
        )
        card.locator('[data-testid="earnings-daily-chart"] .empty').wait_for()
        assert not p.errors(), p.errors()
    finally:
        p.close()


def test_aggregate_and_phone_width(browser: Any, server: BackgroundMonitor) -> None:
    wait_until(lambda: _history_ready(server))
    p = Page(browser, server.base, width=375)
    try:
        pg = p.page
        card = pg.locator("#card-earnings")
        card.locator('[data-testid="earnings-satellites"]').wait_for()
        body = server.get("/api/earnings")
        assert {n["source"] for n in body["data"]} == {"api", "log"}
        total = sum(n["total"]["net_usd"] for n in body["data"])
        wait_until(lambda: number(kpi(card, "earn-net")) == pytest.approx(total, abs=0.02))
        # Beta's API never answered: its log estimate says whose prices it used.
        assert [n.get("prices_source") for n in body["data"] if n["source"] == "log"] == [
            "defaults"
        ]
        wait_until(lambda: "production prices" in pg.locator("#earnings-note").inner_text())
        card.locator('[data-testid="earnings-chart"] canvas').first.wait_for()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        card.scroll_into_view_if_needed()
        card.screenshot(path=str(SCREENSHOTS / "earnings-phone.png"))
        overflow = pg.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"page is {overflow}px wider than the phone"
        box = card.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 376
        assert not p.errors(), p.errors()
    finally:
        p.close()
