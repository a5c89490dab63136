"""payout_replies: cents and micro-dollars become USD once, old nodes give partial figures."""

from __future__ import annotations

import pytest

from storj_monitor.analytics.earnings import Prices, satellite_earnings
from storj_monitor.payout_replies import (
    held_history_from_api,
    node_estimate_from_api,
    payout_history_from_api,
    periods_from_api,
    prices_from_price_model,
    satellite_month_from_api,
)

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
# Reference part B.2, shortened to two days.
SATELLITE_REPLY = {
    "id": SAT,
    "storageDaily": [
        {"atRestTotal": 47661203391418.56, "atRestTotalBytes": 1985883474642.44, "intervalInHours": 24, "intervalStart": "2026-08-01T00:00:00Z", "calculated": False},
        {"atRestTotal": 45692750022387.2, "atRestTotalBytes": 1986641305321.18, "intervalInHours": 23, "intervalStart": "2026-08-02T00:00:00Z", "calculated": False},
    ],
    "bandwidthDaily": [
        {"egress": {"repair": 3102556160, "audit": 41326592, "usage": 24381923328}, "ingress": {"repair": 8251498496, "usage": 55413211136}, "delete": 0, "intervalStart": "2026-08-01T00:00:00Z"},
        {"egress": {"repair": 2871130368, "audit": 38207488, "usage": 26640281600}, "ingress": {"repair": 7930142720, "usage": 49820041216}, "delete": 0, "intervalStart": "2026-08-02T00:00:00Z"},
    ],
    "priceModel": {"EgressBandwidth": 200, "RepairBandwidth": 200, "AuditBandwidth": 200, "DiskSpace": 150},
    "nodeJoinedAt": "2024-09-04T07:13:40.520Z",
}  # fmt: skip


def test_price_model_cents_become_dollars() -> None:
    p = prices_from_price_model({"EgressBandwidth": 2000, "RepairBandwidth": 1000, "AuditBandwidth": 1000, "DiskSpace": 150})
    assert p == Prices(20.0, 10.0, 10.0, 1.5)
    assert prices_from_price_model(None) == Prices()
    assert prices_from_price_model({"EgressBandwidth": "x", "DiskSpace": -5}) == Prices()


def test_satellite_reply_gives_the_node_formula() -> None:
    sat = satellite_month_from_api(SATELLITE_REPLY, satellite_name="us1.storj.io:7777")
    assert sat.satellite_id == SAT
    assert [d.egress_usage for d in sat.bandwidth] == [24381923328, 26640281600]
    assert [s.hours for s in sat.storage] == [24, 23]
    e = satellite_earnings(sat, "2026-08")
    egress = 24381923328 + 26640281600
    repair_audit = 3102556160 + 41326592 + 2871130368 + 38207488
    byte_hours = 47661203391418.56 + 45692750022387.2
    # The node's estimate in cents (reference B.5 / C), divided by 100 once.
    node_cents = egress * 200 / 1e12 + repair_audit * 200 / 1e12 + byte_hours / 720 * 150 / 1e12
    assert e.gross_usd == pytest.approx(node_cents / 100)
    assert e.months_since_join == 23
    assert e.held_rate_percent == 0


def test_old_node_reply_gives_partial_figures() -> None:
    old = {"id": SAT, "storageDaily": None, "bandwidthDaily": [{"egress": None, "intervalStart": "2026-08-01T00:00:00Z"}, {"intervalStart": None}]}
    sat = satellite_month_from_api(old, satellite_name="us1")
    assert sat.storage == ()
    assert len(sat.bandwidth) == 1 and sat.bandwidth[0].egress_usage == 0
    assert sat.joined_at is None
    e = satellite_earnings(sat, "2026-08")
    assert (e.gross_usd, e.months_since_join, e.held_rate_percent) == (0.0, None, 0)
    with pytest.raises(ValueError):
        satellite_month_from_api("<html>", satellite_name="x")


def test_estimated_payout_cents_become_dollars() -> None:
    est = node_estimate_from_api({
        "currentMonth": {"payout": 525.83, "held": 12.5},
        "previousMonth": {"payout": 760.27},
        "currentMonthExpectations": 760,
    })  # fmt: skip
    assert est.current_month_net_usd == pytest.approx(5.2583)
    assert est.current_month_held_usd == pytest.approx(0.125)
    assert est.previous_month_net_usd == pytest.approx(7.6027)
    assert est.month_end_expectation_usd == pytest.approx(7.60)
    empty = node_estimate_from_api({"currentMonth": None})
    assert empty.current_month_net_usd is None and empty.month_end_expectation_usd is None


def test_payout_history_micro_dollars_become_dollars() -> None:
    rows = payout_history_from_api("2026-07", [
        {"satelliteID": SAT, "satelliteURL": "us1.storj.io:7777", "age": 24, "earned": 7296681, "held": 0, "heldPercent": 0, "disposed": 0, "paid": 7296681, "receipt": "zksync-era:0x5e", "distributed": 7296681},
        {"satelliteID": "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE", "satelliteURL": "saltlake.tardigrade.io:7777", "age": 3, "earned": 412163, "held": 206081, "heldPercent": 50, "paid": 206082, "distributed": 0},
        {"satelliteURL": "no id"},
    ])  # fmt: skip
    assert len(rows) == 2
    assert rows[0].earned_usd == pytest.approx(7.296681)
    assert rows[0].paid_usd == pytest.approx(7.296681)
    assert rows[0].receipt == "zksync-era:0x5e"
    assert rows[1].held_usd == pytest.approx(0.206081)
    assert rows[1].held_percent == 50
    assert rows[1].disposed_usd == 0.0 and rows[1].distributed_usd == 0.0
    assert payout_history_from_api("2026-07", None) == []


def test_held_history_and_periods() -> None:
    held = held_history_from_api([
        {"satelliteID": SAT, "satelliteName": "us1.storj.io:7777", "totalHeld": 8971590, "totalDisposed": 4485795, "joinedAt": "2024-09-04T07:14:00Z"},
    ])  # fmt: skip
    assert held[0].total_held_usd == pytest.approx(8.97159)
    assert held[0].total_disposed_usd == pytest.approx(4.485795)
    assert held[0].joined_at is not None
    assert periods_from_api(["2024-10", "2024-09", "bad", 5, "2024-10"]) == ["2024-09", "2024-10"]
    assert periods_from_api(None) == []
