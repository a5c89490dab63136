"""store/earnings: payout history kept once, held totals replaced, the log's daily egress."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from storj_monitor.model import Event
from storj_monitor.payout_replies import HeldTotal, PaidMonth
from storj_monitor.store import earnings as se
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.rollups import write_rollups
from storj_monitor.store.schema import migrate

DAY = 86_400.0
D0 = 1_796_083_200.0  # 2026-12-01T00:00:00Z


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "e.db")
    migrate(c)
    yield c
    c.close()


def paid(period: str, sat: str, paid_usd: float) -> PaidMonth:
    return PaidMonth(period, sat, f"{sat}.example:7777", 5, paid_usd, 0.0, 0.0, 0.0, paid_usd, paid_usd, "")


def test_closed_months_are_written_once_and_never_rewritten(conn: sqlite3.Connection) -> None:
    first = [paid("2026-10", "a", 1.5), paid("2026-11", "a", 2.0)]
    assert transaction(conn, lambda c: se.insert_paid_months(c, "n1", first, D0)) == 2
    # A later import with other figures for a stored month changes nothing stored.
    later = [paid("2026-11", "a", 99.0), paid("2026-11", "b", 3.0)]
    assert transaction(conn, lambda c: se.insert_paid_months(c, "n1", later, D0)) == 1
    rows = se.payout_history(conn, ["n1"], "2026-01", "2026-12")
    assert [(r["period"], r["satellite_id"], r["paid_usd"]) for r in rows] == [
        ("2026-10", "a", 1.5), ("2026-11", "a", 2.0), ("2026-11", "b", 3.0),
    ]  # fmt: skip
    assert se.stored_periods(conn, "n1") == {"2026-10", "2026-11"}
    assert se.payout_history(conn, ["n1"], "2026-11", "2026-11")[0]["period"] == "2026-11"
    assert se.payout_history(conn, ["n2"], "2026-01", "2026-12") == []


def test_held_totals_are_replaced(conn: sqlite3.Connection) -> None:
    old = [HeldTotal("a", "a:7777", 4.0, 0.0, D0)]
    transaction(conn, lambda c: se.replace_held_totals(c, "n1", old, D0))
    new = [HeldTotal("a", "a:7777", 5.0, 2.5, D0)]
    transaction(conn, lambda c: se.replace_held_totals(c, "n1", new, D0 + 1))
    assert se.held_totals(conn, ["n1"]) == [
        {"node_name": "n1", "satellite_id": "a", "satellite_name": "a:7777",
         "total_held_usd": 5.0, "total_disposed_usd": 2.5, "joined_at": D0},
    ]  # fmt: skip


def ev(ts: float, action: str, size: int, sat: str = "s1", status: str = "success") -> Event:
    return Event(ts, "n1", action, status, size, sat, "p", "203.0.113.9")  # type: ignore[arg-type]


def test_daily_egress_and_traffic_from_the_log(conn: sqlite3.Connection) -> None:
    events = [
        ev(D0 + 10, "GET", 1000), ev(D0 + 3600 * 5, "GET", 500), ev(D0 + 20, "GET_AUDIT", 7),
        ev(D0 + 30, "GET_REPAIR", 300), ev(D0 + 40, "GET", 999, status="failed"),
        ev(D0 + DAY + 50, "GET", 2000), ev(D0 + DAY + 60, "GET", 40, sat="s2"),
        ev(D0 + 70, "PUT", 4096), ev(D0 + 80, "PUT_REPAIR", 8192),
        ev(D0 - 10, "GET", 123_456),  # November: outside
    ]  # fmt: skip
    transaction(conn, lambda c: write_rollups(c, events))
    got = se.daily_egress_from_log(conn, "n1", D0, D0 + 31 * DAY)
    assert {s: [(d.day_start, d.egress_usage, d.egress_repair, d.egress_audit) for d in days]
            for s, days in got.items()} == {
        "s1": [(D0, 1500, 300, 7), (D0 + DAY, 2000, 0, 0)],
        "s2": [(D0 + DAY, 40, 0, 0)],
    }  # fmt: skip
    traffic = se.daily_traffic(conn, ["n1"], D0, D0 + 31 * DAY)
    assert traffic == [
        {"day_start": D0, "egress_usage": 1500, "egress_repair": 300, "egress_audit": 7,
         "ingress_usage": 4096, "ingress_repair": 8192},
        {"day_start": D0 + DAY, "egress_usage": 2040, "egress_repair": 0, "egress_audit": 0,
         "ingress_usage": 0, "ingress_repair": 0},
    ]  # fmt: skip


def test_prices_are_kept_per_node_and_a_bad_row_reads_as_none(tmp_path: Path) -> None:
    from storj_monitor.analytics.earnings import Prices
    from storj_monitor.store.earnings import load_prices, save_prices

    conn = connect(tmp_path / "p.db")
    migrate(conn)
    assert load_prices(conn, "n1") is None
    mine = Prices(egress_usd_per_tb=3.0, repair_usd_per_tb=1.0, audit_usd_per_tb=1.0,
                  storage_usd_per_tb_month=1.25)  # fmt: skip
    transaction(conn, lambda c: save_prices(c, "n1", mine, 100.0))
    transaction(conn, lambda c: save_prices(c, "n1", mine, 200.0))  # one row, replaced
    assert load_prices(conn, "n1") == mine and load_prices(conn, "n2") is None
    assert conn.execute("SELECT COUNT(*), MIN(updated_at) FROM node_info").fetchone() == (1, 100.0)
    conn.execute("UPDATE node_info SET prices = '{\"egress_usd_per_tb\": \"x\"}'")
    assert load_prices(conn, "n1") is None  # unreadable: the defaults apply, no crash
    conn.close()
