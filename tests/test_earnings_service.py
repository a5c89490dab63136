"""services/earnings: the earnings_data node object from API replies, the log, or history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storj_monitor.analytics.earnings import DayBandwidth
from storj_monitor.demo.fake_node_api import (
    SATELLITES,
    estimated_payout_json,
    satellite_json,
    scenario,
)
from storj_monitor.services.earnings import (
    SATELLITE_FIELDS,
    ApiMoney,
    LogMoney,
    compare,
    from_api,
    from_history,
    from_log,
)

NOW = datetime(2026, 12, 10, 15, 30, tzinfo=UTC).timestamp()
D1 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()


def fake_money(disqualified: frozenset[str] = frozenset()) -> ApiMoney:
    state = scenario("healthy")
    state.now = NOW
    for sid in disqualified:
        state.satellites[sid].disqualified = "2026-12-02T00:00:00Z"
    return ApiMoney(
        satellites={sid: satellite_json(state, sid) for sid in SATELLITES},
        names=SATELLITES, disqualified=disqualified, estimate=estimated_payout_json(state),
    )  # fmt: skip


def test_api_payload_shape_units_and_agreement_with_the_node() -> None:
    node = from_api("n1", "2026-12", NOW, fake_money(), held={})
    assert node["source"] == "api" and node["period"] == "2026-12"
    assert [set(s) for s in node["satellites"]] == [set(SATELLITE_FIELDS)] * 4
    est = node["node_estimate"]
    # USD, not cents: the node's current month net agrees with ours within 1 %.
    assert node["total"]["net_usd"] == pytest.approx(est["current_month_net_usd"], rel=0.01)
    assert 1 < node["total"]["net_usd"] < 100
    proj = node["projection"]
    assert proj["hours_in_month"] == 744 and proj["elapsed_hours"] == pytest.approx(231.5)
    assert proj["low_usd"] <= proj["month_end_net_usd"] <= proj["high_usd"]
    cmp = node["comparison"]
    assert cmp["node_usd"] == pytest.approx(est["month_end_expectation_usd"])
    # The fake's tallies lag two days, so the node's linear extrapolation is lower than ours.
    assert cmp["difference_usd"] > 0 and cmp["explanation"] is not None


def test_odd_satellite_reply_drops_only_itself() -> None:
    money = fake_money()
    sats = dict(money.satellites)
    first = next(iter(sats))
    sats[first] = "<html>"
    node = from_api("n1", "2026-12", NOW, ApiMoney(sats, money.names, estimate=None), held={})
    assert len(node["satellites"]) == 3
    assert node["node_estimate"] is None and node["comparison"] is None


def test_log_payload_without_api() -> None:
    days = {
        "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S": [DayBandwidth(D1, 10**12)],
        "": [DayBandwidth(D1, 5 * 10**11)],
    }
    node = from_log("n1", "2026-12", D1 + 86400, LogMoney(days, stored_bytes=3e12, names=SATELLITES))
    assert node["source"] == "log" and node["node_estimate"] is None
    names = [s["satellite_name"] for s in node["satellites"]]
    assert names == ["unknown satellite", "us1.storj.io:7777", "all satellites (storage from the disk)"]
    assert [s["egress_usd"] for s in node["satellites"]] == [pytest.approx(1.0), pytest.approx(2.0), 0.0]
    # 3 TB for 24 h: 3e12 × 24 / 720 / 1e12 TB-months × $1.50
    assert node["satellites"][2]["storage_usd"] == pytest.approx(3 * 24 / 720 * 1.5)
    assert all(s["held_rate_percent"] is None for s in node["satellites"])
    assert node["total"]["net_usd"] == pytest.approx(3.0 + 0.15)
    assert node["projection"]["month_end_net_usd"] == pytest.approx(3.15 * 31)
    past = from_log("n1", "2026-11", D1 + 86400, LogMoney({}, stored_bytes=None))
    assert past["projection"] is None and past["satellites"] == []


def test_history_payload() -> None:
    rows = [{"satellite_id": "a", "satellite_name": "a:7777", "earned_usd": 4.0, "held_usd": 1.0,
             "held_percent": 25.0, "disposed_usd": 0.5, "paid_usd": 3.5, "age_months": 8}]
    node = from_history("n1", "2026-10", rows)
    assert node["source"] == "history"
    assert node["total"]["gross_usd"] == 4.0 and node["total"]["net_usd"] == 3.5
    assert node["total"]["held_returned_usd"] == 0.5


def test_compare_within_five_percent_needs_no_explanation() -> None:
    payload = {"node_estimate": {"month_end_expectation_usd": 10.0},
               "projection": {"month_end_net_usd": 10.4}}
    assert compare(payload)["explanation"] is None
    payload["projection"] = {"month_end_net_usd": 10.6}
    assert compare(payload)["explanation"] is not None
    assert compare({"node_estimate": None, "projection": None}) is None
