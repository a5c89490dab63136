"""analytics/earnings.py against figures worked out by hand (reference part C)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.earnings import (
    DayBandwidth,
    DayStorage,
    Prices,
    SatelliteMonth,
    held_rate_percent,
    month_bounds,
    months_since_join,
    project_month,
    satellite_earnings,
    total,
)

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def day(d: int) -> float:
    return ts(f"2026-12-{d:02d}T00:00:00")


def december(**kw: object) -> SatelliteMonth:
    """Dec 2026 (31 days): 10 full days of 100 GB GET, 10 GB repair, 1 GB audit, 2 TB stored,
    plus a quarter of Dec 11 at the same rate; joined long ago (nothing held)."""
    bandwidth = [DayBandwidth(day(d), 100 * 10**9, 10 * 10**9, 10**9) for d in range(1, 11)]
    bandwidth.append(DayBandwidth(day(11), 25 * 10**9, 25 * 10**8, 25 * 10**7))
    storage = [DayStorage(day(d), 2e12 * 24, 24) for d in range(1, 11)]
    base: dict[str, object] = dict(
        satellite_id=SAT, satellite_name="us1.storj.io:7777", joined_at=ts("2024-01-15T00:00:00"),
        bandwidth=bandwidth, storage=storage,
    )  # fmt: skip
    base.update(kw)
    return SatelliteMonth(**base)  # type: ignore[arg-type]


NOW = ts("2026-12-11T06:00:00")  # 246 elapsed hours of 744


def test_31_day_month_figures_and_projection_by_elapsed_hours() -> None:
    (e,), proj = project_month([december()], "2026-12", now=NOW)
    assert e.egress_bytes == 1_025 * 10**9
    assert e.egress_usd == pytest.approx(2.05)
    assert e.repair_audit_bytes == 112_750_000_000
    assert e.repair_audit_usd == pytest.approx(0.2255)
    assert e.storage_byte_hours == pytest.approx(4.8e14)
    assert e.storage_tb_months == pytest.approx(4.8e14 / 720 / 1e12)
    assert e.storage_usd == pytest.approx(1.00)
    assert e.gross_usd == pytest.approx(3.2755)
    assert (e.held_rate_percent, e.held_usd, e.net_usd) == (0, 0.0, pytest.approx(3.2755))
    assert e.months_since_join == 35
    assert proj.hours_in_month == 744
    assert proj.elapsed_hours == 246
    # traffic: 2.2755 $ in 246 h → ×744/246 = 6.882; storage: 1.00 $ in 240 tallied h → ×744/240 = 3.10
    assert proj.month_end_net_usd == pytest.approx(6.882 + 3.10)
    # Every complete day earned the same: no spread.
    assert proj.low_usd == pytest.approx(proj.month_end_net_usd)
    assert proj.high_usd == pytest.approx(proj.month_end_net_usd)


def test_projection_is_not_a_whole_days_or_30_day_extrapolation() -> None:
    _, proj = project_month([december()], "2026-12", now=NOW)
    net_so_far = 3.2755
    whole_days_11 = net_so_far / 11 * 31
    thirty_day_month = 2.2755 / 246 * 720 + 1.0 / 240 * 720
    assert abs(proj.month_end_net_usd - whole_days_11) > 0.5
    assert abs(proj.month_end_net_usd - thirty_day_month) > 0.3


def test_a_missing_tally_day_changes_neither_rate_nor_projection() -> None:
    full = december()
    gap = december(storage=[s for s in full.storage if s.day_start != day(5)])
    (e,), proj = project_month([gap], "2026-12", now=NOW)
    assert e.storage_usd == pytest.approx(0.90)  # 9 tallies of 2 TB-days, as the node shows
    _, full_proj = project_month([full], "2026-12", now=NOW)
    assert proj.month_end_net_usd == pytest.approx(full_proj.month_end_net_usd)


def test_node_that_joined_mid_month_extrapolates_from_its_join_time() -> None:
    joined = ts("2026-12-16T12:00:00")
    now = ts("2026-12-21T12:00:00")  # 120 h since joining, 372 payable hours in the month
    sat = SatelliteMonth(
        SAT, "us1", joined_at=joined,
        bandwidth=[DayBandwidth(day(d), 200 * 10**9) for d in range(16, 21)],
        storage=[DayStorage(day(d), 1e12 * 24, 24) for d in range(17, 21)],
    )  # fmt: skip
    (e,), proj = project_month([sat], "2026-12", now=now)
    assert e.months_since_join == 0
    assert e.held_rate_percent == 75
    assert e.gross_usd == pytest.approx(2.0 + 0.2)
    assert e.held_usd == pytest.approx(1.65)
    assert e.net_usd == pytest.approx(0.55)
    # traffic 2.00 × 372/120 = 6.20; storage 0.20 × 372/96 = 0.775; 25 % kept
    assert proj.month_end_net_usd == pytest.approx((6.20 + 0.775) * 0.25)


def test_month_four_holds_half() -> None:
    sat = december(joined_at=ts("2026-09-30T23:59:00"))
    e = satellite_earnings(sat, "2026-12")
    assert e.months_since_join == 3
    assert e.held_rate_percent == 50
    assert e.held_usd == pytest.approx(3.2755 / 2)
    assert e.net_usd == pytest.approx(3.2755 / 2)


def test_month_sixteen_returns_half_of_everything_held() -> None:
    sat = december(joined_at=ts("2025-09-10T00:00:00"), total_held_usd=40.0)
    e = satellite_earnings(sat, "2026-12")
    assert e.months_since_join == 15
    assert e.held_rate_percent == 0
    assert e.held_returned_usd == pytest.approx(20.0)
    assert e.net_usd == pytest.approx(3.2755 + 20.0)
    later = satellite_earnings(sat, "2027-01")
    assert later.held_returned_usd == 0.0


def test_a_disqualified_satellite_counts_nothing() -> None:
    good = december()
    dq = december(satellite_id="1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE", disqualified=True)
    (e_good, e_dq), proj = project_month([good, dq], "2026-12", now=NOW)
    assert e_dq.disqualified
    assert e_dq.egress_bytes == 1_025 * 10**9  # the bytes are still shown
    assert (e_dq.gross_usd, e_dq.held_usd, e_dq.net_usd, e_dq.egress_usd) == (0.0, 0.0, 0.0, 0.0)
    assert total([e_good, e_dq])["net_usd"] == pytest.approx(e_good.net_usd)
    _, alone = project_month([good], "2026-12", now=NOW)
    assert proj.month_end_net_usd == pytest.approx(alone.month_end_net_usd)


def test_range_from_day_to_day_spread() -> None:
    # Ten complete days alternating 0.20 $ and 0.60 $ of GET; now = Dec 11 00:00.
    sat = SatelliteMonth(
        SAT, "us1", joined_at=ts("2020-01-01T00:00:00"),
        bandwidth=[DayBandwidth(day(d), (100 if d % 2 else 300) * 10**9) for d in range(1, 11)],
    )  # fmt: skip
    _, proj = project_month([sat], "2026-12", now=day(11))
    assert proj.month_end_net_usd == pytest.approx(4.0 * 744 / 240)  # 12.40
    # sd = sqrt(10 × 0.2² / 9) = 0.210819; 21 days left: 1.645 × sd × sqrt(21 + 21²/10)
    half = 1.645 * 0.2108185 * (21 + 44.1) ** 0.5
    assert proj.low_usd == pytest.approx(12.4 - half, rel=1e-5)
    assert proj.high_usd == pytest.approx(12.4 + half, rel=1e-5)


def test_early_month_range_runs_from_what_is_earned() -> None:
    sat = december(bandwidth=[DayBandwidth(day(1), 100 * 10**9)], storage=[])
    (e,), proj = project_month([sat], "2026-12", now=ts("2026-12-01T12:00:00"))
    assert proj.month_end_net_usd == pytest.approx(0.2 * 744 / 12)
    assert proj.low_usd == pytest.approx(e.net_usd)
    assert proj.high_usd == pytest.approx(2 * proj.month_end_net_usd - e.net_usd)


def test_prices_come_from_the_satellite() -> None:
    old = Prices(egress_usd_per_tb=20, repair_usd_per_tb=10, audit_usd_per_tb=10)
    e = satellite_earnings(december(prices=old), "2026-12")
    assert e.egress_usd == pytest.approx(20.5)
    assert e.repair_audit_usd == pytest.approx(1.1275)


@pytest.mark.parametrize(
    ("months", "rate"),
    [(0, 75), (2, 75), (3, 50), (5, 50), (6, 25), (8, 25), (9, 0), (14, 0), (15, 0), (40, 0)],
)
def test_held_rate_boundaries(months: int, rate: int) -> None:
    assert held_rate_percent(months) == rate


def test_month_bounds_and_bad_period() -> None:
    assert month_bounds("2026-12") == (ts("2026-12-01T00:00:00"), ts("2027-01-01T00:00:00"))
    assert month_bounds("2028-02")[1] - month_bounds("2028-02")[0] == 29 * 86400
    for bad in ("2026-13", "2026", "abc", "2026-1-1"):
        with pytest.raises(ValueError):
            month_bounds(bad)


@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=31),
    st.integers(0, 30 * 24 - 1),
)
def test_projection_never_below_what_is_earned(daily: list[int], hours: int) -> None:
    sat = SatelliteMonth(
        SAT, "us1", joined_at=ts("2020-01-01T00:00:00"),
        bandwidth=[DayBandwidth(day(1) + i * 86400, b) for i, b in enumerate(daily)],
    )  # fmt: skip
    now = day(1) + max(hours, len(daily) * 24 - 23) * 3600
    (e,), proj = project_month([sat], "2026-12", now=now)
    assert proj.low_usd <= proj.month_end_net_usd + 1e-9 <= proj.high_usd + 2e-9
    assert proj.low_usd >= min(e.net_usd, proj.month_end_net_usd) - 1e-9
    assert months_since_join(ts("2020-01-01T00:00:00"), "2026-12") == 83
