"""analytics/earnings.py against figures worked out by hand (reference part C)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import astuple
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
    period_of,
    project_month,
    satellite_earnings,
    total,
)

DAY = 86_400.0
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


# --- every term of the range, the month's edges and the projection's corner cases ----------

LEFT_29 = (29 + 29**2 / 2) ** 0.5  # sqrt(d + d²/n) for 29 days left and n = 2 complete days


def sat_of(**kw: object) -> SatelliteMonth:
    """A satellite joined long ago (nothing held) with only the given days."""
    base: dict[str, object] = dict(
        satellite_id=SAT, satellite_name="us1", joined_at=ts("2020-01-01T00:00:00")
    )
    base.update(kw)
    return SatelliteMonth(**base)  # type: ignore[arg-type]


def test_range_from_every_part_of_a_day_net_of_the_held_share() -> None:
    # Joined in August: Dec is month 4, half is held. A Nov 30 day comes first in the list:
    # it belongs to no December figure and must not stop the days after it being read.
    sat = sat_of(
        joined_at=ts("2026-08-15T00:00:00"),
        bandwidth=[
            DayBandwidth(ts("2026-11-30T00:00:00"), 10**12, 10**12, 10**12),
            DayBandwidth(day(1), 100 * 10**9, 50 * 10**9, 50 * 10**9),  # 0.20 + 0.20 $
            DayBandwidth(day(2), 300 * 10**9, 150 * 10**9, 150 * 10**9),  # 0.60 + 0.60 $
        ],
        storage=[
            DayStorage(day(1), 24e12, 24),  # 1 TB for a day: 24/720 × 1.5 = 0.05 $
            DayStorage(day(2), 1.5e12, 0.5),  # 3 TB on average over a half-hour tally: 0.15 $
        ],
    )  # fmt: skip
    (e,), proj = project_month([sat], "2026-12", now=day(3))
    assert (e.egress_usd, e.repair_audit_usd) == (pytest.approx(0.8), pytest.approx(0.8))
    assert e.storage_usd == pytest.approx(25.5 / 720 * 1.5)
    assert e.net_usd == pytest.approx((1.6 + 25.5 / 720 * 1.5) / 2)
    # traffic 1.60 $ in 48 h, storage over the 24.5 tallied hours; half of it kept
    projected = (1.6 * 744 / 48 + 25.5 / 720 * 1.5 * 744 / 24.5) / 2
    assert proj.month_end_net_usd == pytest.approx(projected, rel=1e-12)
    # Day nets kept: 0.45/2 and 1.35/2 $: sd = 0.225·√2; 29 days left.
    half = 1.645 * 0.225 * 2**0.5 * LEFT_29
    assert proj.low_usd == pytest.approx(projected - half, rel=1e-9)
    assert proj.high_usd == pytest.approx(projected + half, rel=1e-9)


def test_an_empty_tally_adds_nothing_to_its_day() -> None:
    sat = sat_of(
        bandwidth=[DayBandwidth(day(1), 100 * 10**9), DayBandwidth(day(2), 100 * 10**9)],
        storage=[DayStorage(day(1), 0.0, 0.0), DayStorage(day(2), 24e12, 24)],
    )
    (e,), proj = project_month([sat], "2026-12", now=day(3))
    assert e.storage_usd == pytest.approx(0.05)
    projected = 0.4 * 744 / 48 + 0.05 * 744 / 24  # 6.20 + 1.55
    assert proj.month_end_net_usd == pytest.approx(projected)
    half = 1.645 * 0.025 * 2**0.5 * LEFT_29  # days of 0.20 and 0.25 $
    assert (proj.low_usd, proj.high_usd) == (
        pytest.approx(projected - half, rel=1e-9), pytest.approx(projected + half, rel=1e-9),
    )  # fmt: skip


def test_the_months_edges_are_half_open() -> None:
    # Nov 30 and Jan 1 carry a lot; only Dec 1 is December's.
    nov30, jan1 = ts("2026-11-30T00:00:00"), ts("2027-01-01T00:00:00")
    sat = sat_of(
        bandwidth=[DayBandwidth(t, 10**12) for t in (nov30, jan1)] + [DayBandwidth(day(1), 10**11)],
        storage=[DayStorage(t, 5e12 * 24, 24) for t in (nov30, day(1), jan1)],
    )
    (e,), proj = project_month([sat], "2026-12", now=day(2))
    assert (e.egress_bytes, e.storage_byte_hours) == (10**11, 5e12 * 24)
    # 0.20 $ of traffic in 24 h and 0.25 $ of storage in 24 tallied hours, × 31
    assert proj.month_end_net_usd == pytest.approx(0.45 * 31)
    # One complete day: the range runs from what is earned to as far above the projection.
    assert (proj.low_usd, proj.high_usd) == (pytest.approx(0.45), pytest.approx(0.45 * 61))


def test_unknown_join_date_holds_nothing_and_counts_from_the_month_start() -> None:
    (e,), proj = project_month([december(joined_at=None)], "2026-12", now=NOW)
    assert (e.months_since_join, e.held_rate_percent, e.held_usd) == (None, 0, 0.0)
    assert e.net_usd == pytest.approx(3.2755)
    assert proj.month_end_net_usd == pytest.approx(6.882 + 3.10)


def test_every_figure_of_a_disqualified_and_a_paying_satellite() -> None:
    dq_id = "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"
    dq = december(satellite_id=dq_id, satellite_name="eu1", joined_at=ts("2026-08-01T00:00:00"),
                  disqualified=True)  # fmt: skip
    (e_dq, e_good), proj = project_month([dq, december()], "2026-12", now=NOW)
    assert astuple(e_dq) == pytest.approx(
        (dq_id, "eu1", 1_025 * 10**9, 0.0, 112_750_000_000, 0.0, 4.8e14, 4.8e14 / 720 / 1e12,
         0.0, 0.0, 50, 0.0, 0.0, 0.0, 4, True)
    )  # fmt: skip
    assert astuple(e_good) == pytest.approx(
        (SAT, "us1.storj.io:7777", 1_025 * 10**9, 2.05, 112_750_000_000, 0.2255, 4.8e14,
         4.8e14 / 720 / 1e12, 1.0, 3.2755, 0, 0.0, 0.0, 3.2755, 35, False)
    )  # fmt: skip
    # The disqualified satellite listed first does not stop the others being projected.
    assert proj.month_end_net_usd == pytest.approx(6.882 + 3.10)


def test_month_sixteen_return_is_in_the_projection() -> None:
    sat = december(joined_at=ts("2025-09-10T00:00:00"), total_held_usd=40.0)
    (e,), proj = project_month([sat], "2026-12", now=NOW)
    assert e.held_returned_usd == pytest.approx(20.0)
    assert proj.month_end_net_usd == pytest.approx(6.882 + 3.10 + 20.0)
    # Nothing known to have been held: nothing comes back.
    unknown = satellite_earnings(december(joined_at=ts("2025-09-10T00:00:00")), "2026-12")
    assert (unknown.held_returned_usd, unknown.net_usd) == (0.0, pytest.approx(3.2755))


def test_two_satellites_add_up_day_by_day() -> None:
    steady = sat_of(satellite_id="A", bandwidth=[DayBandwidth(day(d), 10**11) for d in (1, 2)])
    varied = sat_of(
        satellite_id="B", bandwidth=[DayBandwidth(day(1), 10**11), DayBandwidth(day(2), 3 * 10**11)]
    )
    _, proj = project_month([varied, steady], "2026-12", now=day(3))
    projected = 0.4 * 744 / 48 + 0.8 * 744 / 48  # 6.20 + 12.40
    assert proj.month_end_net_usd == pytest.approx(projected)
    half = 1.645 * 0.2 * 2**0.5 * LEFT_29  # summed days of 0.40 and 0.80 $
    assert (proj.low_usd, proj.high_usd) == (
        pytest.approx(projected - half, rel=1e-9), pytest.approx(projected + half, rel=1e-9),
    )  # fmt: skip
    # Early in the month the range starts at what both have earned (0.20 + 0.10 $).
    early = [sat_of(bandwidth=[DayBandwidth(day(1), 10**11)]),
             sat_of(bandwidth=[DayBandwidth(day(1), 5 * 10**10)])]  # fmt: skip
    _, proj = project_month(early, "2026-12", now=ts("2026-12-01T12:00:00"))
    assert proj.month_end_net_usd == pytest.approx(0.3 * 62)
    assert (proj.low_usd, proj.high_usd) == (pytest.approx(0.3), pytest.approx(0.3 * 62 * 2 - 0.3))


def test_range_in_the_last_half_day_and_at_the_month_end() -> None:
    two_days = sat_of(bandwidth=[DayBandwidth(day(29), 10**11), DayBandwidth(day(30), 3 * 10**11)])
    _, proj = project_month([two_days], "2026-12", now=ts("2026-12-31T12:00:00"))
    projected = 0.8 * 744 / 732
    half = 1.645 * 0.2 * 2**0.5 * (0.5 + 0.25 / 2) ** 0.5  # half a day left
    assert proj.month_end_net_usd == pytest.approx(projected)
    # projected − half is below the 0.80 $ already earned: the range starts there.
    assert (proj.low_usd, proj.high_usd) == (0.8, pytest.approx(projected + half, rel=1e-9))
    # At the end (or after it) the month is known: no range.
    for now in (day(31) + DAY, day(31) + 40 * DAY):
        _, proj = project_month([two_days], "2026-12", now=now)
        assert (proj.month_end_net_usd, proj.low_usd, proj.high_usd) == pytest.approx((0.8,) * 3)
        assert proj.elapsed_hours == 744
    # Under two complete days, half a day left: from what is earned to as far above.
    last = sat_of(bandwidth=[DayBandwidth(day(31), 10**11)])
    _, proj = project_month([last], "2026-12", now=ts("2026-12-31T12:00:00"))
    projected = 0.2 * 744 / 732
    assert (proj.month_end_net_usd, proj.low_usd, proj.high_usd) == pytest.approx(
        (projected, 0.2, 2 * projected - 0.2)
    )
    # ... and none at the end, even though storage extrapolates beyond what was tallied.
    tallied = sat_of(storage=[DayStorage(day(31), 24e12, 24)])  # 0.05 $ for one day of 1 TB
    _, proj = project_month([tallied], "2026-12", now=day(31) + DAY)
    assert (proj.month_end_net_usd, proj.low_usd, proj.high_usd) == pytest.approx((1.55,) * 3)


def test_nothing_seen_projects_nothing() -> None:
    _, proj = project_month([sat_of()], "2026-12", now=NOW)
    assert (proj.month_end_net_usd, proj.low_usd, proj.high_usd) == (0.0, 0.0, 0.0)
    # A month that has not started: no elapsed hours, nothing to extrapolate, no error.
    (e,), proj = project_month([december()], "2027-01", now=NOW)
    assert (e.net_usd, proj.month_end_net_usd, proj.low_usd, proj.high_usd) == (0.0, 0.0, 0.0, 0.0)
    assert (proj.elapsed_hours, proj.hours_in_month) == (0.0, 744.0)


def test_first_half_hour_and_last_half_hour() -> None:
    # 30 min into the month: 0.02 $ of GET so far and a half-hour tally of 1 TB.
    sat = sat_of(
        bandwidth=[DayBandwidth(day(1), 10**10)], storage=[DayStorage(day(1), 0.5e12, 0.5)]
    )
    (e,), proj = project_month([sat], "2026-12", now=day(1) + 1800)
    assert e.storage_usd == pytest.approx(0.5 / 720 * 1.5)
    # 0.02 × 744 / 0.5 h of traffic; 1 TB kept all month pays 744/720 × 1.5 = 1.55 $
    assert proj.month_end_net_usd == pytest.approx(0.02 * 744 / 0.5 + 1.55)
    # Joined 30 min before the month ends, seen for 15 min: traffic doubles; 75 % held.
    late = sat_of(joined_at=ts("2026-12-31T23:30:00"), bandwidth=[DayBandwidth(day(31), 10**10)])
    (e,), proj = project_month([late], "2026-12", now=ts("2026-12-31T23:45:00"))
    assert (e.held_rate_percent, e.net_usd) == (75, pytest.approx(0.005))
    assert (proj.month_end_net_usd, proj.low_usd, proj.high_usd) == pytest.approx(
        (0.01, 0.005, 0.015)
    )


@pytest.fixture
def far_east_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local zone at UTC+14: months must still be UTC months."""
    monkeypatch.setenv("TZ", "<+14>-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_east_zone")
def test_months_are_utc_whatever_the_local_zone() -> None:
    assert datetime.fromtimestamp(ts("2026-12-31T12:00:00")).day == 1  # the zone is in force
    assert month_bounds("2026-12") == (ts("2026-12-01T00:00:00"), ts("2027-01-01T00:00:00"))
    assert period_of(ts("2026-12-31T23:59:59")) == "2026-12"
    assert period_of(ts("2027-01-01T00:00:00")) == "2027-01"
    assert months_since_join(ts("2026-09-30T23:59:00"), "2026-12") == 3
    assert months_since_join(ts("2026-12-31T23:59:00"), "2027-01") == 1


def test_bad_period_message() -> None:
    with pytest.raises(ValueError, match=r"period must be YYYY-MM, got '2026-13'"):
        month_bounds("2026-13")


@given(st.integers(1971, 2999), st.integers(1, 12))
def test_periods_round_trip(year: int, month: int) -> None:
    period = f"{year:04d}-{month:02d}"
    start, end = month_bounds(period)
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    assert period_of(start) == period_of(end - 1) == period
    assert period_of(end) == following and month_bounds(following)[0] == end
    assert (end - start) / DAY in (28, 29, 30, 31)
    assert months_since_join(start, period) == 0 and months_since_join(end - 1, following) == 1
