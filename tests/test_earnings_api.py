"""Earnings over the wire: WS/REST payloads, history import, old nodes, CSV, metrics.

A real Monitor on 127.0.0.1:0 polls two fake node APIs over real HTTP: ``A`` a current node,
``Old`` an old one (no /api/heldamount: 404; satellite replies without ``priceModel`` and
``nodeJoinedAt`` and with ``storageDaily: null``). The fakes' money replies and the monitor's
clock are both fixed at ``NOW`` (2026-12-10 15:30 UTC, a 31-day month).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from dashboard_support import free_port
from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.model import Event, NodeSpec, StorageSnapshot
from storj_monitor.services.monitor import Monitor
from storj_monitor.settings import defaults
from storj_monitor.store.rollups import write_rollups
from storj_monitor.store.snapshots import insert_storage_snapshot
from storj_monitor.web.metrics import MonitorCollector
from web_harness import Conversation, poll_until

pytestmark = pytest.mark.timeout(60)

NOW = datetime(2026, 12, 10, 15, 30, tzinfo=UTC).timestamp()
D1 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0
TB = 1e12


@dataclass
class Run:
    monitor: Monitor
    base: str
    apis: dict[str, FakeNodeApi]

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"


@contextlib.asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[Run]:
    states = {"A": scenario("healthy"), "Old": scenario("healthy")}
    states["Old"].old_node = True
    apis: dict[str, FakeNodeApi] = {}
    for name, state in states.items():
        state.now = NOW
        apis[name] = await FakeNodeApi(state).start()
    logs = {name: tmp_path / f"{name}.log" for name in states}
    for path in logs.values():
        path.write_text("", encoding="utf-8")
    settings = defaults().replace(
        db_path=str(tmp_path / "monitor.db"), host="127.0.0.1", port=0,
        stats_push_interval=0.2, node_api_poll_interval=0.2, node_api_timeout=2.0,
        node_api_retries=0,
    )  # fmt: skip
    nodes = [NodeSpec(n, str(logs[n]), apis[n].url) for n in states]
    logs["LogOnly"] = tmp_path / "logonly.log"
    logs["LogOnly"].write_text("", encoding="utf-8")
    nodes.append(NodeSpec("LogOnly", str(logs["LogOnly"]), f"http://127.0.0.1:{free_port()}"))
    monitor = Monitor(settings, nodes, clock=lambda: NOW)
    try:
        await monitor.start()
        assert monitor.web is not None and monitor.runtime is not None
        run = Run(monitor, f"http://127.0.0.1:{monitor.web.port}", apis)

        async def ready() -> bool:
            rt = monitor.runtime
            assert rt is not None
            return all(rt.earnings[n].current is not None for n in states) and (
                rt.earnings["A"].imported_rows > 0
            )

        await poll_until(ready)
        yield run
    finally:
        await monitor.stop()
        for api in apis.values():
            await api.stop()


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url) as resp:
        return resp.status, await resp.json()


async def test_earnings_data_over_ws_and_rest(tmp_path: Path) -> None:
    async with (
        running(tmp_path) as run,
        aiohttp.ClientSession() as session,
        session.ws_connect(run.ws_url) as ws,
    ):
        talk = Conversation(ws)
        await talk.until(lambda m: m.get("type") == "init")
        assert {"get_earnings_data", "get_earnings_history", "get_traffic_daily"} <= set(
            (await talk.seen_or_until(lambda m: m.get("type") == "init"))["requests"]
        )
        msg = await talk.request({"type": "get_earnings_data", "view": ["A"]})
        assert msg["type"] == "earnings_data" and msg["period"] == "2026-12"
        assert msg["view"] == ["A"] and len(msg["data"]) == 1
        node = msg["data"][0]
        assert node["node_name"] == "A" and node["source"] == "api"
        assert len(node["satellites"]) == 4
        # USD, not cents: $2 per TB of egress, $1.50 per TB-month; a cents slip is 100× off.
        for sat in node["satellites"]:
            assert sat["egress_usd"] == pytest.approx(sat["egress_bytes"] / TB * 2.0)
            assert sat["storage_usd"] == pytest.approx(sat["storage_tb_months"] * 1.5)
            assert sat["net_usd"] == pytest.approx(
                sat["gross_usd"] - sat["held_usd"] + sat["held_returned_usd"]
            )
        est = node["node_estimate"]
        assert node["total"]["net_usd"] == pytest.approx(est["current_month_net_usd"], rel=0.01)
        assert 1.0 < node["total"]["net_usd"] < 100.0
        # Elapsed hours, not whole days; December has 31 days.
        proj = node["projection"]
        assert proj["elapsed_hours"] == pytest.approx(9 * 24 + 15.5)
        assert proj["hours_in_month"] == 744
        assert proj["low_usd"] <= proj["month_end_net_usd"] <= proj["high_usd"]
        held = {h["satellite_id"]: h for h in node["held_back"]}
        saltlake = held["1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"]
        assert saltlake["total_held_usd"] > 0 and saltlake["return_period"] == "2027-12"
        assert saltlake["joined_at"] == "2026-09-10T00:00:00Z"

        # The REST twin answers the same object.
        status, rest = await _get(session, f"{run.base}/api/earnings?view=A")
        assert status == 200 and rest["type"] == "earnings_data"
        assert rest["data"][0]["total"] == node["total"]

        # A closed month comes from the imported payout history (what the node was paid).
        status, nov = await _get(session, f"{run.base}/api/earnings?view=A&period=2026-11")
        assert status == 200 and nov["period"] == "2026-11"
        closed = nov["data"][0]
        assert closed["source"] == "history" and closed["projection"] is None
        assert len(closed["satellites"]) == 4
        status, hist = await _get(
            session, f"{run.base}/api/earnings/history?view=A&from=2026-11&to=2026-11"
        )
        assert closed["total"]["net_usd"] == pytest.approx(sum(r["paid_usd"] for r in hist["data"]))
        # Micro-dollars became USD: a month of this node is dollars, not millions.
        assert all(0 < r["earned_usd"] < 100 for r in hist["data"])

        # Bad requests: a month that does not exist, one in the future.
        for period, text in (("2026-13", "YYYY-MM"), ("2027-01", "future")):
            status, err = await _get(session, f"{run.base}/api/earnings?period={period}")
            assert status == 400 and text in err["error"]
        bad = await talk.request({"type": "get_earnings_data", "period": 202611})
        assert bad["type"] == "error" and "YYYY-MM" in bad["message"]


async def test_history_is_imported_once_and_never_rewritten(tmp_path: Path) -> None:
    async with running(tmp_path) as run, aiohttp.ClientSession() as session:
        rt = run.monitor.runtime
        assert rt is not None
        recorder = rt.earnings["A"]
        status, first = await _get(
            session, f"{run.base}/api/earnings/history?view=A&from=2024-01&to=2026-12"
        )
        assert status == 200 and first["type"] == "earnings_history"
        periods = sorted({r["period"] for r in first["data"]})
        assert periods[0] == "2024-09" and periods[-1] == "2026-11"  # closed months only
        assert len(first["data"]) == recorder.imported_rows
        # Another check adds nothing, even when the node now reports other figures.
        run.apis["A"].state.used_bytes *= 2
        assert await recorder.import_heldamount(NOW) == 0
        assert await recorder.import_heldamount(NOW + DAY) == 0
        status, again = await _get(
            session, f"{run.base}/api/earnings/history?view=A&from=2024-01&to=2026-12"
        )
        assert again["data"] == first["data"]
        # Default range: the 12 months before this one.
        status, default = await _get(session, f"{run.base}/api/earnings/history?view=A")
        assert (default["from"], default["to"]) == ("2025-12", "2026-11")
        assert {r["period"] for r in default["data"]} == {
            "2025-12",
            *(f"2026-{m:02d}" for m in range(1, 12)),
        }

        # CSV: a file the csv module (and a spreadsheet) reads, units in the column names.
        async with session.get(
            f"{run.base}/api/earnings/history?view=A&from=2024-01&to=2026-12&format=csv"
        ) as resp:
            assert resp.status == 200 and resp.content_type == "text/csv"
            assert resp.headers["Content-Disposition"].startswith("attachment;")
            text = await resp.text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == len(first["data"])
        assert {"period", "satellite_id", "earned_usd", "paid_usd", "held_usd"} <= set(rows[0])
        assert float(rows[0]["paid_usd"]) == pytest.approx(first["data"][0]["paid_usd"])
        async with session.get(f"{run.base}/api/earnings/history?format=xml") as resp:
            assert resp.status == 400
        async with session.get(f"{run.base}/api/nodes?format=csv") as resp:
            assert resp.status == 400


async def test_old_node_gives_partial_figures_and_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storj_monitor.earnings")
    async with running(tmp_path) as run, aiohttp.ClientSession() as session:
        rt = run.monitor.runtime
        assert rt is not None
        old = rt.earnings["Old"]
        coordinator = rt.coordinators["Old"]
        await coordinator.refresh()
        assert coordinator.live and not coordinator.listener_failures
        assert old.heldamount_ok is False and old.imported_rows == 0
        assert await old.import_heldamount(NOW + 3600) == 0  # asked again later: still 404
        assert await old.import_heldamount(NOW + 7200) == 0
        status, body = await _get(session, f"{run.base}/api/earnings?view=Old")
        assert status == 200
        node = body["data"][0]
        assert node["source"] == "api" and len(node["satellites"]) == 4
        # Egress from bandwidthDaily at the default prices; no tallies, no join dates.
        assert node["total"]["gross_usd"] > 0
        assert all(s["storage_usd"] == 0 for s in node["satellites"])
        assert all(s["months_since_join"] is None for s in node["satellites"])
        assert node["node_estimate"]["month_end_expectation_usd"] is None
        assert node["node_estimate"]["previous_month_net_usd"] is None
        assert node["comparison"] is None and node["held_back"] == []
        status, hist = await _get(session, f"{run.base}/api/earnings/history?view=Old")
        assert status == 200 and hist["data"] == []
    said = [r.getMessage() for r in caplog.records if "payout history not available" in r.message]
    assert len(said) == 1, said  # logged once, not every poll


async def test_earnings_metrics(tmp_path: Path) -> None:
    async with running(tmp_path) as run:
        assert run.monitor.web is not None and run.monitor.runtime is not None
        registry = CollectorRegistry()
        registry.register(MonitorCollector(run.monitor.web.ctx))
        value = registry.get_sample_value
        current = run.monitor.runtime.earnings["A"].current
        assert current is not None
        name = "storj_monitor_earnings_usd"
        for kind, key in (("gross", "gross_usd"), ("held", "held_usd"), ("net", "net_usd")):
            got = value(name, {"node": "A", "satellite": "total", "kind": kind})
            assert got == pytest.approx(current["total"][key]) and got is not None
        proj = value(name, {"node": "A", "satellite": "total", "kind": "projection"})
        assert proj == pytest.approx(current["projection"]["month_end_net_usd"])
        sid = current["satellites"][0]["satellite_id"]
        assert value(name, {"node": "A", "satellite": sid, "kind": "net"}) == pytest.approx(
            current["satellites"][0]["net_usd"]
        )
        assert 1 < (value(name, {"node": "A", "satellite": "total", "kind": "net"}) or 0) < 100
        assert value(name, {"node": "Old", "satellite": "total", "kind": "gross"})


def ev(ts: float, node: str, action: str, size: int, sat: str = "s1") -> Event:
    return Event(ts, node, action, "success", size, sat, "p", "203.0.113.9")  # type: ignore[arg-type]


async def test_traffic_per_day_and_date_ranges(tmp_path: Path) -> None:
    async with (
        running(tmp_path) as run,
        aiohttp.ClientSession() as session,
        session.ws_connect(run.ws_url) as ws,
    ):
        events = [
            ev(D1 + 10, "A", "GET", 1000), ev(D1 + 3600, "A", "GET_REPAIR", 300),
            ev(D1 + 20, "A", "PUT", 4096), ev(D1 + DAY + 5, "A", "GET_AUDIT", 7),
            ev(D1 + 2 * DAY, "Old", "PUT_REPAIR", 8192), ev(D1 - 10, "A", "GET", 5),
        ]  # fmt: skip
        await run.monitor.store.write(lambda c: write_rollups(c, events))
        talk = Conversation(ws)
        msg = await talk.request({"type": "get_traffic_daily", "view": ["Aggregate"]})
        assert msg["type"] == "traffic_daily"
        assert (msg["from"], msg["to"]) == ("2026-12-01", "2026-12-10")
        days = msg["data"]
        assert [d["date"] for d in days] == [f"2026-12-{d:02d}" for d in range(1, 11)]
        assert days[0] == {
            "date": "2026-12-01", "egress_usage_bytes": 1000, "egress_repair_bytes": 300,
            "egress_audit_bytes": 0, "ingress_usage_bytes": 4096, "ingress_repair_bytes": 0,
        }  # fmt: skip
        assert days[1]["egress_audit_bytes"] == 7 and days[2]["ingress_repair_bytes"] == 8192
        only_a = await talk.request(
            {"type": "get_traffic_daily", "view": ["A"], "from": "2026-11-30", "to": "2026-12-02"}
        )
        assert [d["date"] for d in only_a["data"]] == ["2026-11-30", "2026-12-01", "2026-12-02"]
        assert only_a["data"][0]["egress_usage_bytes"] == 5
        assert only_a["data"][2]["ingress_repair_bytes"] == 0  # Old's day, not in view A
        bad = await talk.request(
            {"type": "get_traffic_daily", "from": "2026-12-05", "to": "2026-12-01"}
        )
        assert bad["type"] == "error" and "'from'" in bad["message"]
        bad = await talk.request({"type": "get_traffic_daily", "from": "12/01/2026"})
        assert bad["type"] == "error" and "YYYY-MM-DD" in bad["message"]

        # traffic_stats over a day range: two whole days.
        stats = await talk.request(
            {"type": "get_traffic_stats", "view": ["A"], "from": "2026-12-01", "to": "2026-12-02"}
        )
        assert stats["type"] == "traffic_stats" and stats["hours"] == 48
        assert stats["data"]["start"] == "2026-12-01T00:00:00Z"
        assert stats["data"]["end"] == "2026-12-03T00:00:00Z"
        assert stats["data"]["operations"]["get"]["success"] == 1

        async with session.get(
            f"{run.base}/api/traffic/daily?view=A&from=2026-12-01&to=2026-12-03&format=csv"
        ) as resp:
            assert resp.status == 200 and resp.content_type == "text/csv"
            rows = list(csv.reader(io.StringIO(await resp.text())))
        assert rows[0] == [
            "date", "egress_usage_bytes", "egress_repair_bytes", "egress_audit_bytes",
            "ingress_usage_bytes", "ingress_repair_bytes",
        ]  # fmt: skip
        assert rows[1] == ["2026-12-01", "1000", "300", "0", "4096", "0"] and len(rows) == 4
        status, geo = await _get(session, f"{run.base}/api/geo?view=A&from=2026-12-01")
        assert status == 200 and geo["hours"] == pytest.approx(9 * 24 + 15.5)


async def test_node_without_api_is_estimated_from_its_log(tmp_path: Path) -> None:
    async with running(tmp_path) as run, aiohttp.ClientSession() as session:
        rt = run.monitor.runtime
        assert rt is not None and rt.earnings["LogOnly"].current is None
        sat = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
        events = [
            ev(D1 + 100, "LogOnly", "GET", 3 * 10**11, sat), ev(D1 + DAY, "LogOnly", "GET", 10**11, sat),
            ev(D1 + 200, "LogOnly", "GET_REPAIR", 5 * 10**10, sat),
            ev(D1 + 300, "LogOnly", "PUT", 10**12, sat),
        ]  # fmt: skip
        await run.monitor.store.write(lambda c: write_rollups(c, events))
        status, body = await _get(session, f"{run.base}/api/earnings?view=LogOnly")
        assert status == 200
        node = body["data"][0]
        assert node["source"] == "log" and node["node_estimate"] is None
        assert node["held_back"] == [] and node["comparison"] is None
        assert node["prices_source"] == "defaults"  # its API never answered
        (row,) = node["satellites"]
        assert row["satellite_id"] == sat and row["held_rate_percent"] is None
        # 0.4 TB of downloads at $2/TB, 0.05 TB of repair at $2/TB: dollars, not cents.
        assert row["egress_usd"] == pytest.approx(0.8) and row["repair_audit_usd"] == pytest.approx(
            0.1
        )
        assert node["projection"]["elapsed_hours"] == pytest.approx(9 * 24 + 15.5)

        # With a disk snapshot, storage for all satellites: 2 TB stored (less trash) so far.
        snap = StorageSnapshot(NOW - 60, "LogOnly", 3 * 10**12, 2_100_000_000_000, 9 * 10**11,
                               10**11, 70.0, 3.3, 30.0, "log")  # fmt: skip
        await run.monitor.store.write(lambda c: insert_storage_snapshot(c, snap))
        status, body = await _get(session, f"{run.base}/api/earnings?view=LogOnly")
        storage = body["data"][0]["satellites"][-1]
        assert storage["satellite_name"] == "all satellites (storage from the disk)"
        hours = 9 * 24 + 15.5
        assert storage["storage_usd"] == pytest.approx(2.0 * hours / 720 * 1.5)


async def test_a_restart_without_the_api_keeps_the_nodes_last_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node's priceModel ($3/TB egress here) outlives a restart during which its API is
    down: the log's egress is priced as the node last said, and the payload says so."""
    from storj_monitor.demo import fake_payouts

    model = {**fake_payouts.PRICE_MODEL, "EgressBandwidth": 300}  # cents per TB
    monkeypatch.setattr(fake_payouts, "PRICE_MODEL", model)
    state = scenario("healthy")
    state.now = NOW
    api = await FakeNodeApi(state).start()
    log = tmp_path / "p.log"
    log.write_text("", encoding="utf-8")
    settings = defaults().replace(
        db_path=str(tmp_path / "monitor.db"), host="127.0.0.1", port=0,
        node_api_poll_interval=0.2, node_api_timeout=2.0, node_api_retries=0,
    )  # fmt: skip
    first = Monitor(settings, [NodeSpec("P", str(log), api.url)], clock=lambda: NOW)
    try:
        await first.start()
        rt = first.runtime
        assert rt is not None
        async def priced() -> bool:
            return rt.earnings["P"].prices is not None

        await poll_until(priced)
        assert rt.earnings["P"].prices.egress_usd_per_tb == pytest.approx(3.0)  # type: ignore[union-attr]
    finally:
        await first.stop()
        await api.stop()
    down = f"http://127.0.0.1:{free_port()}"
    second = Monitor(settings, [NodeSpec("P", str(log), down)], clock=lambda: NOW)
    try:
        await second.start()
        assert second.web is not None
        sat = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
        await second.store.write(lambda c: write_rollups(c, [ev(D1 + 100, "P", "GET", 5 * 10**11, sat)]))
        async with aiohttp.ClientSession() as session:
            status, body = await _get(
                session, f"http://127.0.0.1:{second.web.port}/api/earnings?view=P"
            )
        assert status == 200
        node = body["data"][0]
        assert (node["source"], node["prices_source"]) == ("log", "stored")
        row = next(r for r in node["satellites"] if r["satellite_id"] == sat)
        assert row["egress_usd"] == pytest.approx(0.5 * 3.0)  # not the default $2/TB
    finally:
        await second.stop()
