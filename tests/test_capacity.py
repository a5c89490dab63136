"""Growth rate and days-until-full on synthetic traces (analytics.capacity is pure)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.analytics.capacity import DAY, GIB, forecast_days_until_full, segment_labels

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
TOTAL = 4e12


def trace(
    rate_per_day: float,
    *,
    days: float = 7.0,
    step: float = 300.0,
    noise: float = 0.0,
    used0: float = 2e12,
    seed: int = 0,
    times: np.ndarray | None = None,
) -> list[dict]:
    rng = np.random.default_rng(seed)
    if times is None:
        times = np.arange(NOW - days * DAY, NOW + 1, step)
    out = []
    for t in times:
        used = used0 + rate_per_day * (t - (NOW - days * DAY)) / DAY + rng.normal(0, noise)
        out.append({"timestamp": float(t), "available_bytes": TOTAL - used, "trash_bytes": 0})
    return out


def truth(snaps: list[dict], rate: float, used0: float = 2e12, days: float = 7.0) -> float:
    used_now = used0 + rate * days
    return (TOTAL - used_now) / rate


def test_linear_with_noise_within_ten_percent() -> None:
    snaps = trace(20e9, noise=2e9)
    f = forecast_days_until_full(snaps, NOW)
    assert f["status"] == "filling" and f["method"] == "theil-sen"
    assert f["days_until_full"] == pytest.approx(truth(snaps, 20e9), rel=0.10)
    assert f["growth_rate_bytes_per_day"] == pytest.approx(20e9, rel=0.05)
    assert f["growth_rate_gb_per_day"] == pytest.approx(20e9 / GIB, rel=0.05)
    assert f["data_points"] == len(snaps)
    assert f["days_until_full_low"] <= f["days_until_full"] <= f["days_until_full_high"]


def test_seed_example_rate_in_gib() -> None:
    snaps = trace(10737418240, days=7, step=3 * 3600)
    f = forecast_days_until_full(snaps, NOW)
    assert f["growth_rate_gb_per_day"] == pytest.approx(10.0, abs=0.01)
    assert f["data_points"] == 57


def test_trash_purge_does_not_flip_the_forecast() -> None:
    # Pieces grow 10 GB/day; 60 GB of trash sits there and is emptied on day 4: free space
    # jumps up by 60 GB while trash drops by 60 GB.
    snaps = trace(10e9)
    for s in snaps:
        purged = s["timestamp"] >= NOW - 3 * DAY
        s["trash_bytes"] = 0 if purged else 60e9
        s["available_bytes"] -= 0 if purged else 60e9
    f = forecast_days_until_full(snaps, NOW)
    assert f["status"] == "filling"
    assert f["growth_rate_bytes_per_day"] == pytest.approx(10e9, rel=0.05)
    assert f["days_until_full"] == pytest.approx(truth(snaps, 10e9), rel=0.10)


def test_step_down_without_trash_info_is_cut_out() -> None:
    # Log-derived samples know only free space: a 200 GB drop in usage (garbage collection
    # done) at day 3 must not make the node look like it is shrinking.
    snaps = trace(10e9, noise=1e8)
    for s in snaps:
        if s["timestamp"] >= NOW - 4 * DAY:
            s["available_bytes"] += 200e9
        s["trash_bytes"] = None
    f = forecast_days_until_full(snaps, NOW)
    assert f["status"] == "filling"
    assert f["growth_rate_bytes_per_day"] == pytest.approx(10e9, rel=0.05)
    used_now = 2e12 + 70e9 - 200e9
    assert f["days_until_full"] == pytest.approx((TOTAL - used_now) / 10e9, rel=0.10)


def test_plateau_is_not_filling() -> None:
    f = forecast_days_until_full(trace(0.0, noise=5e8), NOW)
    assert f["status"] in ("not filling", "filling")
    if f["status"] == "filling":  # noise may give a tiny positive slope: then it is far away
        assert f["days_until_full"] > 365
    flat = forecast_days_until_full(trace(0.0), NOW)
    assert flat["status"] == "not filling" and flat["days_until_full"] is None


def test_shrinking_is_not_filling_never_negative() -> None:
    f = forecast_days_until_full(trace(-5e9, noise=1e8), NOW)
    assert f["status"] == "not filling"
    assert f["days_until_full"] is None and f["growth_rate_bytes_per_day"] < 0


def test_irregular_sampling_with_gaps() -> None:
    rng = np.random.default_rng(7)
    times = np.sort(rng.uniform(NOW - 7 * DAY, NOW, 400))
    times = times[(times < NOW - 5 * DAY) | (times > NOW - 3.5 * DAY)]  # a 1.5-day gap
    times = np.append(times, NOW)
    snaps = trace(30e9, noise=1e9, times=times, seed=3)
    f = forecast_days_until_full(snaps, NOW)
    assert f["days_until_full"] == pytest.approx(truth(snaps, 30e9), rel=0.10)


def test_outliers_are_ignored() -> None:
    snaps = trace(15e9, noise=5e8, seed=5)
    rng = np.random.default_rng(11)
    for i in rng.choice(len(snaps), size=len(snaps) // 20, replace=False):
        snaps[i]["available_bytes"] += rng.choice([-1, 1]) * 500e9
    f = forecast_days_until_full(snaps, NOW)
    assert f["days_until_full"] == pytest.approx(truth(snaps, 15e9), rel=0.02)
    assert f["outliers"] >= len(snaps) // 20 - 2 and f["segments"] == 1


def test_few_hours_give_a_wide_range() -> None:
    snaps = trace(20e9, days=3 / 24, step=300, noise=2e8)
    f = forecast_days_until_full(snaps, NOW)
    assert f["status"] == "filling"
    assert f["days_until_full"] == pytest.approx(truth(snaps, 20e9, days=3 / 24), rel=0.15)
    low, high = f["days_until_full_low"], f["days_until_full_high"]
    assert high is None or high / low > 1.8
    week = forecast_days_until_full(trace(20e9, noise=2e8), NOW)
    assert week["days_until_full_high"] / week["days_until_full_low"] < 1.5


def test_insufficient_data() -> None:
    assert forecast_days_until_full([], NOW)["status"] == "insufficient data"
    two = trace(10e9, days=1, step=DAY)
    assert forecast_days_until_full(two, NOW)["status"] == "insufficient data"
    short = trace(10e9, days=0.01, step=60)
    assert forecast_days_until_full(short, NOW)["status"] == "insufficient data"


def test_window_excludes_old_and_future_snapshots() -> None:
    old = trace(-50e9, days=30, step=3600)  # shrinking long ago
    recent = [s for s in trace(10e9, step=3600) if s["timestamp"] > NOW - 6 * DAY]
    old = [s for s in old if s["timestamp"] < NOW - 8 * DAY]
    f = forecast_days_until_full(old + recent, NOW, window_days=7)
    assert f["growth_rate_bytes_per_day"] == pytest.approx(10e9, rel=0.02)


def test_segment_labels_split_on_a_jump() -> None:
    t = np.arange(10) * 300.0
    y = np.arange(10) * 1e6
    y[5:] += 5e10
    assert list(segment_labels(t, y)) == [0] * 5 + [1] * 5


@settings(max_examples=60, deadline=None)
@given(
    rate=st.floats(1e8, 1e12),
    free=st.floats(1e10, 1e13),
    n=st.integers(5, 80),
    hours=st.floats(2, 24 * 10),
)
def test_exact_linear_gives_exact_days(rate: float, free: float, n: int, hours: float) -> None:
    times = np.linspace(NOW - hours * 3600, NOW, n)
    snaps = [
        {"timestamp": float(t), "available_bytes": free + rate * (NOW - t) / DAY} for t in times
    ]
    f = forecast_days_until_full(snaps, NOW, window_days=11)
    assert f["status"] == "filling"
    assert f["days_until_full"] == pytest.approx(free / rate, rel=1e-3, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 7 * DAY), st.floats(0, 1e13)), min_size=0, max_size=60))
def test_never_negative_days(points: list[tuple[float, float]]) -> None:
    snaps = [{"timestamp": NOW - dt, "available_bytes": free} for dt, free in points]
    f = forecast_days_until_full(snaps, NOW)
    assert f["status"] in ("filling", "not filling", "insufficient data")
    for key in ("days_until_full", "days_until_full_low", "days_until_full_high"):
        assert f[key] is None or f[key] >= 0
    if f["status"] != "filling":
        assert f["days_until_full"] is None
