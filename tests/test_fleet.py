"""Fleet view and node identity: ``get_fleet_status`` / ``/api/fleet`` and the ``identity``,
``started_at``, ``uptime_seconds`` fields of node objects, against a real Monitor with three
nodes — A (fake node API answering), B (fake API answering HTTP 500), C (no API data: identity
from its log's start-up and version lines) — plus the pure row functions."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dashboard_support import free_port
from storj_monitor.demo.fake_node_api import NODE_ID, FakeNodeApi, scenario
from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.model import NodeSpec, iso_utc
from storj_monitor.services.monitor import Monitor
from storj_monitor.settings import defaults
from storj_monitor.store.fleet import log_identity
from storj_monitor.web import ws
from storj_monitor.web.fleet import (
    earnings_by_node,
    lowest_score,
    node_identity,
    node_status,
    success_rates,
)
from web_harness import Conversation, poll_until

pytestmark = pytest.mark.timeout(60)

C_NODE_ID = "12ZQbQ8WWFEfKNE9dP78B1frhJ8PmyYmr8occLEf1mQ1ovgVWy"
SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@contextlib.asynccontextmanager
async def three_nodes(tmp_path: Path) -> AsyncIterator[tuple[Monitor, str, dict[str, Path]]]:
    logs = {n: tmp_path / f"{n}.log" for n in "ABC"}
    for p in logs.values():
        p.write_text("", encoding="utf-8")
    api_a = await FakeNodeApi(scenario("healthy")).start()
    api_b = await FakeNodeApi(scenario("http500")).start()
    settings = defaults().replace(
        db_path=str(tmp_path / "monitor.db"),
        host="127.0.0.1",
        port=0,
        stats_push_interval=0.2,
        node_api_poll_interval=0.2,
        node_api_timeout=1.0,
        node_api_retries=0,
    )
    nodes = [
        NodeSpec("A", str(logs["A"]), api_a.url),
        NodeSpec("B", str(logs["B"]), api_b.url),
        # C's API port: nothing listens there
        NodeSpec("C", str(logs["C"]), f"http://127.0.0.1:{free_port()}"),
    ]
    monitor = Monitor(settings, nodes)
    try:
        await monitor.start()
        assert monitor.web is not None
        yield monitor, f"http://127.0.0.1:{monitor.web.port}", logs
    finally:
        await monitor.stop()
        await api_a.stop()
        await api_b.stop()


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_fleet_rows_and_identity_of_three_nodes(tmp_path: Path) -> None:
    async with three_nodes(tmp_path) as (_monitor, base, logs), aiohttp.ClientSession() as s:
        now = time.time()
        started_c = float(int(now - 3600))
        gen = LogGenerator(seed=3)
        _append(logs["C"], [
            f"{_stamp(started_c - 5)}\tINFO\tConfiguration loaded\t{{\"Location\": \"/app/config/config.yaml\"}}",
            f"{_stamp(started_c)}\tINFO\tNode {C_NODE_ID} started",
            f"{_stamp(started_c + 1)}\tWARN\tversion\tversion not allowed/outdated\t"
            '{"current version": "v1.150.0", "minimum allowed version": "v1.155.2"}',
        ])  # fmt: skip
        lines: list[str] = []
        for status in ("success", "success", "success", "failed"):
            lines += gen.transfer("GET", status, error="boom", at=now - 30, latency=0.1)  # type: ignore[arg-type]
        for _ in range(2):
            lines += gen.transfer("PUT", "success", at=now - 30, latency=0.1)
        _append(logs["C"], lines)
        _append(logs["A"], [gen.failure_line("GET_AUDIT", at=now - 20, satellite_id=SAT)])

        async def fleet() -> Any:
            body = await _get(s, base + "/api/fleet")
            rows = {r["node_name"]: r for r in body["data"]}
            ready = (
                rows["A"]["open_alerts"] >= 1
                and rows["A"]["lowest_score"] is not None
                and rows["A"]["used_percent"] is not None
                and rows["B"]["api_state"] == "down"
                and rows["C"]["identity"] is not None
                and rows["C"]["identity"]["version"] is not None
                and rows["C"]["success_rates"]["upload"] is not None
            )
            return body if ready else None

        body = await poll_until(fleet)
        assert body["type"] == "fleet_status" and body["view"] == ["Aggregate"]
        rows = {r["node_name"]: r for r in body["data"]}
        assert list(rows) == ["A", "B", "C"]

        a, b, c = rows["A"], rows["B"], rows["C"]
        # A: identity from the API's /api/sno/ reply (fake_node_api.dashboard_json)
        assert a["identity"]["source"] == "api"
        assert a["identity"]["node_id"] == NODE_ID
        assert (a["version"], a["identity"]["allowed_version"]) == ("1.162.3", "1.155.2")
        assert a["up_to_date"] is True and a["identity"]["quic_status"] == "OK"
        assert a["identity"]["last_contact"].endswith("Z")
        assert a["started_at"] == "2026-08-19T03:12:55Z"
        started_a = datetime(2026, 8, 19, 3, 12, 55, tzinfo=UTC).timestamp()
        assert abs(a["uptime_seconds"] - (time.time() - started_a)) < 120
        # A: the failed audit opened an alert; status is its severity
        active = (await _get(s, base + "/api/alerts/active?view=A"))["data"]
        assert a["open_alerts"] == len(active) >= 1
        severities = {x["severity"] for x in active}
        assert a["status"] == ("critical" if "critical" in severities else "warning")
        assert a["worst_alert_severity"] in severities
        storage = (await _get(s, base + "/api/storage?view=A"))["data"][0]
        assert a["used_percent"] == storage["used_percent"]
        assert a["days_until_full"] == storage["days_until_full"]
        reputation = (await _get(s, base + "/api/reputation?view=A"))["data"]
        lowest = min(
            (r[f"{k}_score"], r["satellite_id"])
            for r in reputation
            for k in ("audit", "suspension", "online")
            if r[f"{k}_score"] is not None
        )
        assert (a["lowest_score"]["value"], a["lowest_score"]["satellite_id"]) == lowest
        assert a["earnings_net_usd"] is None or "get_earnings_data" in ws.HANDLERS

        # B: the API answers 500: no identity, status warning from the API state
        assert b["identity"] is None and b["version"] is None and b["uptime_seconds"] is None
        assert b["api_state"] == "down" and b["status"] in ("warning", "critical")
        assert b["success_rates"] == {"download": None, "upload": None, "audit": None}

        # C: no API data: identity from the log's lines
        assert c["identity"] == {
            "node_id": C_NODE_ID,
            "version": "1.150.0",
            "allowed_version": "1.155.2",
            "up_to_date": False,
            "quic_status": None,
            "last_contact": None,
            "source": "log",
        }
        # uptime is services/node_watch's: a start sequence begins with "Configuration loaded"
        assert c["started_at"] in (iso_utc(started_c - 5), iso_utc(started_c))
        assert 3500 < c["uptime_seconds"] < 3600 + 120
        assert c["success_rates"] == {"download": 75.0, "upload": 100.0, "audit": None}
        assert c["open_alerts"] == 0

        # the node objects of /api/nodes carry the same identity
        nodes = {n["name"]: n for n in (await _get(s, base + "/api/nodes"))["data"]}
        assert nodes["A"]["identity"] == a["identity"]
        assert nodes["C"]["identity"] == c["identity"]
        assert nodes["C"]["started_at"] == c["started_at"]
        assert nodes["B"]["identity"] is None

        # a view of one node: one row; the WebSocket answers the same
        one = await _get(s, base + "/api/fleet?view=C")
        assert [r["node_name"] for r in one["data"]] == ["C"] and one["view"] == ["C"]
        async with s.ws_connect(base.replace("http", "ws") + "/ws") as sock:
            conv = Conversation(sock)
            init = await conv.until(lambda m: m["type"] == "init")
            assert "get_fleet_status" in init["requests"]
            assert {n["name"]: n["identity"] for n in init["nodes"]}["C"] == c["identity"]
            reply = await conv.request({"type": "get_fleet_status", "view": ["A", "C"]})
            assert reply["type"] == "fleet_status"
            assert [r["node_name"] for r in reply["data"]] == ["A", "C"]
            bad = await conv.request({"type": "get_fleet_status", "view": ["nope"]})
            assert bad["type"] == "error"


async def test_fleet_reads_earnings_when_the_request_exists(tmp_path: Path) -> None:
    """Branch earn's ``get_earnings_data``: its ``total.net_usd`` fills the column."""
    added = "get_earnings_data" not in ws.HANDLERS
    if added:

        @ws.handler("get_earnings_data", "earnings_data", (ws.VIEW,))
        async def fake(ctx: Any, p: dict[str, Any], _c: Any) -> dict[str, Any]:
            return {"view": p["view_label"], "data": [
                {"node_name": n, "total": {"net_usd": 1.25 * (i + 1)}}
                for i, n in enumerate(p["view"])]}  # fmt: skip

    try:
        async with three_nodes(tmp_path) as (_m, base, _logs), aiohttp.ClientSession() as s:
            body = await _get(s, base + "/api/fleet?view=A&view=C")
            got = {r["node_name"]: r["earnings_net_usd"] for r in body["data"]}
            if added:
                assert got == {"A": 1.25, "C": 2.5}
            else:  # branch earn is in: the column is earnings_data's total.net_usd

                async def both() -> Any:
                    fleet = await _get(s, base + "/api/fleet?view=A&view=C")
                    earned = await _get(s, base + "/api/earnings?view=A&view=C")
                    net = {e["node_name"]: e["total"]["net_usd"] for e in earned["data"]}
                    rows = {r["node_name"]: r["earnings_net_usd"] for r in fleet["data"]}
                    return (rows, net) if rows["A"] is not None and rows == net else None

                rows, net = await poll_until(both)
                assert rows == net and isinstance(rows["A"], float)
    finally:
        if added:
            del ws.HANDLERS["get_earnings_data"]


# --- pure parts ------------------------------------------------------------------------------


def test_lowest_score_names_its_satellite() -> None:
    rows = [
        {"satellite_id": "s1", "satellite_name": "us1", "audit_score": 99.0,
         "suspension_score": 100.0, "online_score": 97.5, "online_status": "ok"},
        {"satellite_id": "s2", "satellite_name": "eu1", "audit_score": 96.1,
         "audit_status": "warning", "suspension_score": None, "online_score": 99.0},
    ]  # fmt: skip
    assert lowest_score(rows) == {
        "kind": "audit", "value": 96.1, "status": "warning", "satellite_id": "s2",
        "satellite_name": "eu1",
    }  # fmt: skip
    assert lowest_score([]) is None
    assert lowest_score([{"audit_score": None, "suspension_score": None}]) is None


@pytest.mark.parametrize(
    ("severities", "api", "expected"),
    [
        ([], "live", "ok"),
        ([], "none", "ok"),
        ([], "down", "warning"),
        (["info"], "live", "ok"),
        (["warning", "info"], "live", "warning"),
        (["warning", "critical"], "down", "critical"),
    ],
)
def test_node_status(severities: list[str], api: str, expected: str) -> None:
    assert node_status([{"severity": s} for s in severities], api) == expected


def test_success_rates_by_column() -> None:
    counts = [("GET", "success", 9), ("GET", "canceled", 1), ("GET_AUDIT", "success", 4),
              ("PUT", "failed", 2), ("PUT", "success", 2), ("DELETE", "success", 50)]  # fmt: skip
    assert success_rates(counts) == {"download": 90.0, "upload": 50.0, "audit": 100.0}


def test_identity_from_the_log() -> None:
    row = {"node_id": "1x", "started_at": 1000.0, "version": "v1.150.0",
           "allowed_version": None, "outdated": None, "version_at": 1001.0}  # fmt: skip
    got = node_identity(None, row)
    assert got == {"node_id": "1x", "version": "1.150.0", "allowed_version": None,
                   "up_to_date": None, "quic_status": None, "last_contact": None,
                   "source": "log"}  # fmt: skip
    assert node_identity(None, {**row, "outdated": True})["up_to_date"] is False  # type: ignore[index]
    assert node_identity(None, None) is None


def test_log_identity_query(tmp_path: Path) -> None:
    import sqlite3

    from storj_monitor.store.schema import migrate

    conn = sqlite3.connect(tmp_path / "x.db")
    migrate(conn)
    rows = [
        (10.0, "N", "startup", "Node 1old started", '{"node_id": "1old"}'),
        (20.0, "N", "startup", "Node 1new started", '{"node_id": "1new"}'),
        (25.0, "N", "startup", "Public server started on [::]:28967", '{"address": "[::]:28967"}'),
        (21.0, "N", "version", "Running on allowed version.", '{"version": "v1.160.3"}'),
        (22.0, "N", "version", "Allowed minimum version from control server.",
         '{"minimum_version": "1.155.0"}'),
        (5.0, "M", "version", "version not allowed/outdated",
         '{"current_version": "v1.1.0", "minimum_allowed_version": "v1.155.0"}'),
        (30.0, "Other", "startup", "Node 1zz started", '{"node_id": "1zz"}'),
    ]  # fmt: skip
    conn.executemany(
        "INSERT INTO log_records (timestamp, node_name, kind, level, message, fields) "
        "VALUES (?, ?, ?, 'INFO', ?, ?)",
        rows,
    )
    got = log_identity(conn, ["N", "M"])
    conn.close()
    assert got["N"] == {"node_id": "1new", "started_at": 20.0, "version": "v1.160.3",
                        "allowed_version": None, "outdated": False, "version_at": 21.0}  # fmt: skip
    assert got["M"] == {"node_id": None, "started_at": None, "version": "v1.1.0",
                        "allowed_version": "v1.155.0", "outdated": True, "version_at": 5.0}  # fmt: skip
    assert "Other" not in got
    assert log_identity(sqlite3.connect(":memory:"), []) == {}


def test_earnings_by_node_skips_odd_items() -> None:
    data = [{"node_name": "A", "total": {"net_usd": 1.5}}, {"node_name": "B", "total": None},
            {"node_name": "C", "total": {"net_usd": True}}, "x", {"total": {"net_usd": 2}}]  # fmt: skip
    assert earnings_by_node(data) == {"A": 1.5}
    assert earnings_by_node(None) == {}
