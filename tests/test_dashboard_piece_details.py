"""Piece details in a browser: the Traffic card shows piece sizes per bucket and the most
requested pieces over the details window it names ("last 1 h"), says plainly when a window has
no details (older than EVENTS_DETAIL_HOURS), reads sensibly for a node logging at INFO level
and one with no traffic, fits a 390 px phone screen; the map on the Errors card names its
window.

A real Monitor on 127.0.0.1 over a real SQLite file whose events were written through the
store's own pipeline transaction (``write_batch``: raw rows and rollups); nodes have no API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, free_port, wait_until
from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.model import Event, NodeSpec
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store
from storj_monitor.store.events import write_batch

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")

BUSY, INFO, QUIET = "Busy", "InfoLevel", "Quiet"
KNOWN = "EYCP75ZSA4AIJHDUIMJDR2PKD3AOEUK37RO67NWYLWTD5UDYBDIQ"
US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
EU1 = "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs"
PIECE_SIZE = 2_319_360  # bytes: bucket "1 MiB - 4 MiB"
DETAIL_HOURS = 6.0  # events_detail_hours of this monitor
OLD_DAYS = 3  # days back of the traffic no details exist for


def _piece(i: int) -> str:
    return f"P{i:02d}" + "A" * 49


def _events(now: float) -> list[Event]:
    ev: list[Event] = []

    def op(node: str, at: float, action: str, status: str, size: int | None, **kw: Any) -> None:
        ev.append(Event(
            timestamp=at, node_name=node, action=action, status=status,  # type: ignore[arg-type]
            size=size, satellite_id=kw.get("sat", EU1), piece_id=kw.get("piece"),
            remote_ip=kw.get("ip", "8.8.8.8"), error=kw.get("error"),
            error_category=kw.get("error") and "other",
            duration_ms=kw.get("ms"), duration_source="precise" if kw.get("ms") else None,
        ))  # fmt: skip

    # Busy (DEBUG level: durations): the known piece downloaded 7 times (one failed), 10 other
    # pieces 1-3 times, 20 uploads of 9472 bytes ("4 KiB - 16 KiB").
    for k in range(6):
        op(BUSY, now - 1500 + k * 200, "GET", "success", PIECE_SIZE, piece=KNOWN, sat=US1, ms=300)
    op(BUSY, now - 1400, "GET", "failed", None, piece=KNOWN, sat=US1, error="broken pipe", ms=90)
    for i in range(10):
        for k in range(1 + i % 3):
            op(BUSY, now - 2400 + i * 60 + k, "GET", "success", 181_504, piece=_piece(i), ms=120)
    for k in range(20):
        op(BUSY, now - 1800 + k * 30, "PUT", "success", 9472, ms=200)
    # ... and traffic three days ago: totals exist for that day, raw details do not.
    old = now - OLD_DAYS * 86400
    for k in range(30):
        op(BUSY, old + k * 60, "GET", "success", 181_504, piece=_piece(50 + k % 5), ms=120)
    # InfoLevel (INFO level: no durations): uploads only.
    for k in range(12):
        op(INFO, now - 1200 + k * 60, "PUT", "success", 300_000)
    return ev


@dataclass
class Server:
    base: str
    now: float
    logs: dict[str, Path]

    def transfers(self, node: str, n: int) -> None:
        """Append ``n`` uploads that finished just now to a node's log (live traffic)."""
        gen = LogGenerator(seed=5)
        lines = [
            ln
            for _ in range(n)
            for ln in gen.transfer("PUT", "success", at=time.time() - 0.3, latency=0.1)
        ]
        with self.logs[node].open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))

    def get(self, path: str, **params: Any) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    from storj_monitor.services.monitor import Monitor

    port, dead = free_port(), free_port()
    settings = defaults().replace(
        db_path=str(tmp_path / "m.db"), host="127.0.0.1", port=port,
        node_api_poll_interval=0.5, node_api_timeout=0.5, node_api_retries=0,
        events_detail_hours=DETAIL_HOURS,
    )  # fmt: skip
    now = time.time()
    events = _events(now)
    with Store(settings.db_path) as store:
        store.write_sync(lambda conn: write_batch(conn, events, []))
    nodes = []
    logs = {}
    for name in (BUSY, INFO, QUIET):
        log = logs[name] = tmp_path / f"{name}.log"
        log.write_text("")
        nodes.append(NodeSpec(name, str(log), f"http://127.0.0.1:{dead}"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    monitor = Monitor(settings, nodes)
    asyncio.run_coroutine_threadsafe(monitor.start(), loop).result(30)
    try:
        yield Server(f"http://127.0.0.1:{port}", now, logs)
    finally:
        asyncio.run_coroutine_threadsafe(monitor.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _open(browser: Any, server: Server, width: int, **kw: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": 900}, **kw)
    page = context.new_page()
    page.set_default_timeout(20_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.goto(server.base + "/")
    page.wait_for_selector('#conn[data-state="connected"]')
    return context, page, console


def _window(page: Any, hours: str) -> None:
    page.locator(f'#traffic-window button[data-value="{hours}"]').click()


def _label(page: Any) -> str:
    return str(page.locator('#card-traffic [data-testid="details-window"]').inner_text())


def test_piece_details_on_the_traffic_card(server: Server) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context, page, console = _open(
                browser, server, 1400, permissions=["clipboard-read", "clipboard-write"]
            )
            card = page.locator("#card-traffic")
            page.locator(f'.chip[data-view="{BUSY}"]').click()
            rows = card.locator('[data-testid="top-pieces-table"] tbody tr')
            rows.first.wait_for()
            wait_until(lambda: _label(page) == "last 1 h")
            assert rows.count() == 8  # 11 pieces downloaded, the busiest 8 shown
            first = [c.inner_text() for c in rows.first.locator("td").all()]
            assert first[0].startswith(KNOWN[:8]) and KNOWN not in first[0]
            assert rows.first.locator("code").get_attribute("title") == KNOWN
            assert first[1:5] == ["us1", "7", "6", "13.9 MB"]  # 6 x 2,319,360 B successful
            seen = re.fullmatch(r"(\d+) min ago", first[5])  # the last download: 500 s ago
            assert seen and 8 <= int(seen.group(1)) <= 15, first[5]
            # the copy button puts the full piece id on the clipboard
            rows.first.locator(".copy-btn").click()
            assert page.evaluate("navigator.clipboard.readText()") == KNOWN
            assert rows.first.locator(".copy-btn").get_attribute("data-copied") == "yes"
            sizes = card.locator('[data-testid="size-buckets"]')
            big = sizes.locator('li[data-bucket="1 MiB - 4 MiB"]')
            assert (big.get_attribute("data-get"), big.get_attribute("data-put")) == ("6", "0")
            small = sizes.locator('li[data-bucket="4 KiB - 16 KiB"]')
            assert (small.get_attribute("data-get"), small.get_attribute("data-put")) == ("0", "20")
            assert small.locator(".sz-value").inner_text() == "0 / 20"
            mid = sizes.locator('li[data-bucket="64 KiB - 256 KiB"]')
            assert mid.get_attribute("data-get") == "19"  # 10 pieces, 1-3 downloads each
            assert sizes.locator("li").count() == 8

            # 24 h: the details stop at EVENTS_DETAIL_HOURS and say so
            _window(page, "24")
            wait_until(lambda: _label(page) == "last 6 h of 24 h")
            title = page.locator('#card-traffic [data-testid="details-window"]').get_attribute(
                "title"
            )
            assert "raw operations are kept for 6 h" in (title or "")
            _window(page, "6")
            wait_until(lambda: _label(page) == "last 6 h")

            # A day with traffic but no raw rows left: the server's reply for that day says
            # details_window_hours 0 (the page never asks for past days itself, so the real
            # reply is fed through the card's message path).
            day = (
                dt.datetime.fromtimestamp(server.now - OLD_DAYS * 86400, dt.UTC).date().isoformat()
            )
            reply = server.get("/api/traffic", view=BUSY, **{"from": day, "to": day})
            assert reply["data"]["details_window_hours"] == 0
            assert reply["data"]["total_operations"] >= 1 and reply["data"]["top_pieces"] == []
            _window(page, "24")
            wait_until(lambda: _label(page).startswith("last 6 h"))
            text = page.evaluate(
                """(reply) => {
                    window.storjMonitor.ws.dispatch("traffic_stats", {...reply, hours: 24});
                    return document.querySelector('#card-traffic [data-testid="piece-details"]').innerText;
                }""",
                reply,
            )
            assert "No piece details for this window" in text
            assert "exist only for the last 6 h" in text
            assert not re.search(r"\blast 0|NaN|undefined", text), text

            # The map names its window (24 h asked, addresses kept 6 h), and none for old days.
            caption = page.locator('#card-errors [data-testid="map-window"]')
            wait_until(lambda: caption.inner_text() != "")
            assert caption.inner_text() == (
                "Map and countries: last 6 h of 24 h (raw operations are kept for 6 h)"
            )
            geo = server.get("/api/geo", view=BUSY, **{"from": day, "to": day})
            assert geo["data"]["window_hours"] == 0
            old = page.evaluate(
                """(reply) => {
                    window.storjMonitor.ws.dispatch("geo_stats", reply);
                    return document.querySelector('#card-errors [data-testid="map-window"]').innerText;
                }""",
                geo,
            )
            assert old == (
                "No remote addresses for this window: they are kept for the last 6 h only "
                "(EVENTS_DETAIL_HOURS)."
            )

            # 5 min (live traffic from the log): the details are those of the last hour
            server.transfers(BUSY, 3)
            _window(page, "0.08333333333333333")
            wait_until(lambda: _label(page) == "last 1 h")
            assert rows.first.locator("code").get_attribute("title") == KNOWN

            # A node logging at INFO level (no durations), uploads only: sizes, no "DEBUG" hint.
            _window(page, "1")
            wait_until(lambda: _label(page) == "last 1 h")
            page.locator(f'.chip[data-view="{INFO}"]').click()
            put = card.locator('[data-testid="size-buckets"] li[data-bucket="256 KiB - 1 MiB"]')
            put.wait_for()
            assert put.get_attribute("data-put") == "12"
            pieces = card.locator('[data-testid="top-pieces"]').inner_text()
            assert "No downloads" in pieces and "in the last 1 h" in pieces
            assert card.locator('[data-empty="needs-debug"]').count() == 0
            # A node with no traffic: one empty state, no details section.
            page.locator(f'.chip[data-view="{QUIET}"]').click()
            card.locator('[data-empty="no-traffic"]').wait_for()
            assert card.locator('[data-testid="piece-details"]').count() == 0
            errors = [m for m in console if m.startswith(("error", "pageerror"))]
            assert not errors, errors
            context.close()
        finally:
            browser.close()


def test_piece_details_fit_a_phone_in_both_themes(server: Server) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context, page, console = _open(browser, server, 390)
            page.locator(f'.chip[data-view="{BUSY}"]').click()
            card = page.locator("#card-traffic")
            table = card.locator('[data-testid="top-pieces-table"]')
            table.locator("tbody tr").first.wait_for()
            wait_until(lambda: _label(page) == "last 1 h")
            colours = []
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for _ in range(2):
                theme = page.evaluate("document.documentElement.dataset.theme")
                sizes = page.evaluate(
                    """() => {
                        const el = (s) => document.querySelector(s);
                        const card = el('#card-traffic');
                        const wrap = el('#card-traffic [data-testid="top-pieces-table"]').parentElement;
                        const list = el('#card-traffic .size-list');
                        return {
                          page: document.documentElement.scrollWidth,
                          card: [card.scrollWidth, card.clientWidth, card.getBoundingClientRect().right],
                          table: [wrap.scrollWidth, wrap.clientWidth],
                          list: [list.scrollWidth, list.clientWidth],
                        };
                    }"""
                )
                assert sizes["page"] <= 390, sizes
                assert sizes["card"][0] <= sizes["card"][1] and sizes["card"][2] <= 390, sizes
                assert sizes["table"][0] <= sizes["table"][1], sizes  # no sideways scrolling
                assert sizes["list"][0] <= sizes["list"][1], sizes
                # the narrow table keeps piece, count, successful, egress and last seen
                head = table.locator("th").all()
                visible = [th.inner_text() for th in head if th.is_visible()]
                assert visible == ["Piece", "Requests", "OK", "Egress", "Last seen"]
                colours.append(page.evaluate(
                    "getComputedStyle(document.querySelector('#card-traffic .sz-bar.get > span')).backgroundColor"
                ))  # fmt: skip
                card.locator('[data-testid="piece-details"]').screenshot(
                    path=str(SCREENSHOTS / f"piece-details-390-{theme}.png")
                )
                page.locator("#theme-toggle").click()
            assert colours[0] != colours[1]  # the bars follow the theme's colours
            errors = [m for m in console if m.startswith(("error", "pageerror"))]
            assert not errors, errors
            context.close()
        finally:
            browser.close()
