"""Growth rate and days-until-full on synthetic traces (analytics.capacity is pure)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.analytics.capacity import (
    DAY,
    GIB,
    _thin,
    days_until,
    fit_series,
    forecast_days_until_full,
    growth_rate,
    segment_labels,
    spike_mask,
    theil_sen_slope,
)

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


# -- the numbers pinned: exact values on exact traces, the formulas against their definitions ---


def exact_trace(rate_per_day: float, span_s: float, n: int, free_end: float = 1e12) -> list[dict]:
    """Noise-free free space falling at ``rate_per_day`` over ``span_s`` seconds up to NOW."""
    times = np.linspace(NOW - span_s, NOW, n)
    return [
        {"timestamp": float(t), "available_bytes": free_end + rate_per_day * (NOW - t) / DAY}
        for t in times
    ]


@pytest.mark.parametrize(
    ("span_s", "widen"),
    [
        (7 * DAY, 0.25 * (1 / 7) ** 0.5),
        (DAY, 0.25),
        (6 * 3600.0, 0.5),
        (3600.0, 0.9),  # 0.25 × √24 = 1.22: capped at ±90 %
    ],
)
def test_exact_trace_gives_exact_rate_and_a_symmetric_span_widened_range(
    span_s: float, widen: float
) -> None:
    rate = 12_345_678_901.0
    g = growth_rate(exact_trace(rate, span_s, 40), NOW)
    assert g["status"] == "ok" and g["method"] == "theil-sen"
    assert g["growth_rate_bytes_per_day"] == pytest.approx(rate, rel=1e-9)
    # every pairwise slope is the same, so Sen's interval is a point: only the widening is left
    assert g["growth_rate_bytes_per_day_low"] == pytest.approx(rate * (1 - widen), rel=1e-9)
    assert g["growth_rate_bytes_per_day_high"] == pytest.approx(rate * (1 + widen), rel=1e-9)
    assert g["growth_rate_gb_per_day"] == round(g["growth_rate_bytes_per_day"] / GIB, 3)
    assert g["growth_rate_gb_per_day"] == 11.498
    assert (g["data_points"], g["segments"], g["outliers"]) == (40, 1, 0)
    assert g["span_days"] == round(span_s / DAY, 4)


def test_span_days_is_rounded_to_four_places() -> None:
    g = growth_rate(exact_trace(1e10, 2 * DAY + 1.0, 10), NOW)
    assert g["span_days"] == 2.0
    g = growth_rate(exact_trace(1e10, 2 * DAY + 100.0, 10), NOW)
    assert g["span_days"] == 2.0012


def test_insufficient_data_result_exactly() -> None:
    expected = {
        "growth_rate_bytes_per_day": None,
        "growth_rate_gb_per_day": None,
        "growth_rate_bytes_per_day_low": None,
        "growth_rate_bytes_per_day_high": None,
        "data_points": 0,
        "span_days": 0.0,
        "segments": 0,
        "outliers": 0,
        "method": "theil-sen",
        "status": "insufficient data",
    }
    assert growth_rate([], NOW) == expected
    f = forecast_days_until_full([], NOW)
    assert f == {
        **expected,
        "days_until_full": None,
        "days_until_full_low": None,
        "days_until_full_high": None,
        "free_bytes": None,
    }


@pytest.mark.parametrize(
    ("n", "span_s", "status"),
    [(3, 3600.0, "ok"), (2, 3600.0, "insufficient data"), (3, 3599.0, "insufficient data")],
)
def test_minimum_three_points_and_one_hour_at_equality(n: int, span_s: float, status: str) -> None:
    assert growth_rate(exact_trace(1e10, span_s, n), NOW)["status"] == status


def test_default_window_is_seven_days() -> None:
    snaps = exact_trace(1e10, 7 * DAY, 8) + exact_trace(1e10, 7.5 * DAY, 2)[:1]
    assert growth_rate(snaps, NOW)["data_points"] == 8
    assert forecast_days_until_full(snaps, NOW)["data_points"] == 8
    assert forecast_days_until_full(snaps, NOW, window_days=8)["data_points"] == 9


def test_rate_is_the_median_slope_not_a_bound_of_its_range() -> None:
    snaps = trace(20e9, noise=3e9, step=3600.0, seed=9)
    t, y = fit_series(snaps)
    fit = theil_sen_slope(t, y, segment_labels(t, y))
    assert fit is not None
    g = growth_rate(snaps, NOW)
    assert g["growth_rate_bytes_per_day"] == fit[0] * DAY
    assert fit[1] < fit[0] < fit[2]
    assert g["growth_rate_bytes_per_day_low"] <= fit[1] * DAY
    assert g["growth_rate_bytes_per_day_high"] >= fit[2] * DAY


def test_trash_growing_gradually_is_not_growth() -> None:
    # Pieces stay put; 5 GB a day move into the trash (free space shrinks by the same).
    snaps = [
        {**s, "trash_bytes": 5e9 * (s["timestamp"] - (NOW - 7 * DAY)) / DAY}
        for s in exact_trace(5e9, 7 * DAY, 50)
    ]
    g = growth_rate(snaps, NOW)
    assert g["growth_rate_bytes_per_day"] == pytest.approx(0.0, abs=1e-3)
    assert forecast_days_until_full(snaps, NOW)["status"] == "not filling"
    # pieces growing 10 GB/day while trash grows 5 GB/day: 10 GB/day is the growth
    both = [
        {**s, "trash_bytes": 5e9 * (s["timestamp"] - (NOW - 7 * DAY)) / DAY}
        for s in exact_trace(15e9, 7 * DAY, 50)
    ]
    assert growth_rate(both, NOW)["growth_rate_bytes_per_day"] == pytest.approx(10e9, rel=1e-9)


def test_fit_series_exactly() -> None:
    rows = [
        {"timestamp": 30.0, "available_bytes": 100, "trash_bytes": 7},
        {"timestamp": 10.0, "available_bytes": 300, "trash_bytes": None},
        {"timestamp": 20.0, "available_bytes": None},
        {"timestamp": None, "available_bytes": 5},
        {"timestamp": 40.0, "available_bytes": 50},
    ]
    t, y = fit_series(rows)
    assert t.tolist() == [10.0, 30.0, 40.0]
    assert y.tolist() == [-300.0, -107.0, -50.0]
    t, y = fit_series([])
    assert t.shape == (0,) and y.shape == (0,)


def test_forecast_free_space_comes_from_the_latest_row_that_has_it() -> None:
    snaps = exact_trace(10e9, 7 * DAY, 20, free_end=500e9)
    snaps.append({"timestamp": NOW + 10.0, "available_bytes": None})
    f = forecast_days_until_full(snaps, NOW + 10.0)
    assert f["free_bytes"] == 500e9
    assert f["days_until_full"] == 50.0
    g = forecast_days_until_full(snaps, NOW, free_bytes=123e9)
    assert g["free_bytes"] == 123e9 and g["days_until_full"] == 12.3


def test_forecast_days_are_rounded_to_two_places() -> None:
    f = forecast_days_until_full(exact_trace(3e9, 7 * DAY, 30, free_end=100e9), NOW)
    assert f["days_until_full"] == 33.33
    widen = 0.25 * (1 / 7) ** 0.5
    assert f["days_until_full_low"] == round(100 / 3 / (1 + widen), 2)
    assert f["days_until_full_high"] == round(100 / 3 / (1 - widen), 2)
    assert f["status"] == "filling"


def test_full_disk_is_zero_days_and_slow_growth_still_fills() -> None:
    f = forecast_days_until_full(exact_trace(10e9, 7 * DAY, 30, free_end=0.0), NOW)
    assert f["status"] == "filling" and f["days_until_full"] == 0.0
    slow = forecast_days_until_full(exact_trace(0.5, 7 * DAY, 30, free_end=1e6), NOW)
    assert slow["status"] == "filling"
    assert slow["days_until_full"] == pytest.approx(2e6, rel=1e-6)


def test_days_until() -> None:
    assert days_until(100.0, 10.0) == 10.0
    assert days_until(10.0, 0.5) == 20.0
    assert days_until(0.0, 10.0) == 0.0
    assert days_until(-5.0, 10.0) == 0.0
    assert days_until(5.0, 0.0) is None
    assert days_until(5.0, -1.0) is None
    assert days_until(5.0, None) is None


def test_thin_keeps_both_ends_evenly() -> None:
    assert _thin(np.arange(10), 10).tolist() == list(range(10))
    assert _thin(np.arange(11), 10).tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert _thin(np.arange(1000), 5).tolist() == [0, 250, 500, 749, 999]


# reference definitions, written from the docstrings with plain loops


def ref_theil_sen(t: list[float], y: list[float], labels: list[int]) -> tuple[float, float, float]:
    slopes = sorted(
        (y[j] - y[i]) / (t[j] - t[i])
        for i in range(len(t))
        for j in range(i + 1, len(t))
        if labels[i] == labels[j] and t[j] > t[i]
    )
    n = len(slopes)
    median = (slopes[(n - 1) // 2] + slopes[n // 2]) / 2
    var_s = sum(m * (m - 1) * (2 * m + 5) / 18 for m in (labels.count(v) for v in set(labels)))
    c = 1.6449 * var_s**0.5
    lo = max(int(np.floor((n - c) / 2)), 0)
    hi = min(int(np.ceil((n + c) / 2)), n - 1)
    return median, slopes[lo], slopes[hi]


def ref_spikes(t: list[float], y: list[float], hw: int = 5) -> list[bool]:
    n = len(t)
    if n < 2 * hw + 1:
        return [False] * n
    rates = [(y[i + 1] - y[i]) / (t[i + 1] - t[i]) for i in range(n - 1) if t[i + 1] > t[i]]
    rate = float(np.median(rates)) if rates else 0.0
    r = [y[i] - rate * (t[i] - t[0]) for i in range(n)]
    med = [
        float(np.median([r[min(max(k, 0), n - 1)] for k in range(i - hw, i + hw + 1)]))
        for i in range(n)
    ]
    dev = [abs(r[i] - med[i]) for i in range(n)]
    sigma = 1.4826 * float(np.median(dev))
    return [d > max(6 * sigma, 1e9 / 2) for d in dev]


def ref_segments(t: list[float], y: list[float]) -> list[int]:
    n = len(t)
    if n < 3 or not any(t[i + 1] > t[i] for i in range(n - 1)):
        return [0] * n
    rate = float(np.median([(y[i + 1] - y[i]) / (t[i + 1] - t[i])
                            for i in range(n - 1) if t[i + 1] > t[i]]))  # fmt: skip
    resid = [(y[i + 1] - y[i]) - rate * (t[i + 1] - t[i]) for i in range(n - 1)]
    centre = float(np.median(resid))
    sigma = 1.4826 * float(np.median([abs(r - centre) for r in resid]))
    labels = [0]
    for r in resid:
        labels.append(labels[-1] + (abs(r) > max(8 * sigma, 1e9)))
    return labels


series = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.5, 1.0, 60.0, 300.0, 3600.0]),  # time step (s)
        st.integers(-30, 30).map(lambda k: k * 1e8),  # noise (bytes)
        st.sampled_from([0.0, 0.0, 0.0, 0.0, 2e9, -5e9, 4e10]),  # spike or step (bytes)
        st.booleans(),  # a spike (one point) or a step (stays)
    ),
    min_size=0,
    max_size=30,
)


def build(points: list[tuple[float, float, float, bool]], rate: float) -> tuple:
    t, y, now, level = [], [], 0.0, 0.0
    for dt, noise, jump, is_spike in points:
        now += dt
        if not is_spike:
            level += jump
        t.append(now)
        y.append(rate * now + level + noise + (jump if is_spike else 0.0))
    return np.array(t), np.array(y)


@settings(max_examples=300, deadline=None)
@given(series, st.sampled_from([0.0, 1e5, 3e6, -2e5]))
def test_spikes_and_segments_match_their_definitions(points: list, rate: float) -> None:
    t, y = build(points, rate)
    assert spike_mask(t, y).tolist() == ref_spikes(t.tolist(), y.tolist())
    labels = segment_labels(t, y)
    assert labels.tolist() == ref_segments(t.tolist(), y.tolist())
    assert labels.dtype.kind == "i"


@settings(max_examples=300, deadline=None)
@given(series, st.sampled_from([0.0, 1e5, 3e6]), st.integers(1, 3))
def test_theil_sen_matches_its_definition(points: list, rate: float, cuts: int) -> None:
    t, y = build(points, rate)
    labels = np.array([min(i * cuts // max(len(t), 1), cuts - 1) for i in range(len(t))])
    got = theil_sen_slope(t, y, labels)
    pairs = sum(
        1 for i in range(len(t)) for j in range(i + 1, len(t))
        if labels[i] == labels[j] and t[j] > t[i]
    )  # fmt: skip
    if pairs == 0:
        assert got is None
        return
    assert got is not None
    slope, low, high, npairs = got
    assert npairs == pairs
    assert (slope, low, high) == pytest.approx(ref_theil_sen(t.tolist(), y.tolist(),
                                                             labels.tolist()), rel=1e-12)  # fmt: skip
    if len(set(labels.tolist())) == 1:
        assert theil_sen_slope(t, y) == got


def test_spike_mask_edges_and_equalities() -> None:
    t = np.arange(21) * 300.0
    flat = np.zeros(21)
    at_limit = flat.copy()
    at_limit[10] = 0.5e9  # exactly MIN_STEP_BYTES / 2 away: not a spike
    assert not spike_mask(t, at_limit).any()
    over = flat.copy()
    over[10] = 0.5e9 + 1
    assert spike_mask(t, over).tolist() == [i == 10 for i in range(21)]
    # eleven points are enough for the filter, ten are not
    eleven = np.zeros(11)
    eleven[5] = 5e9
    assert spike_mask(t[:11], eleven).tolist() == [i == 5 for i in range(11)]
    assert not spike_mask(t[:10], eleven[:10]).any()
    # a spike riding a steep trend is found only after the trend is taken out
    steep = t * 1e8 / 300.0
    steep[5] += 5e9
    assert spike_mask(t, steep).tolist() == [i == 5 for i in range(21)]
    # negative levels near the start: the window is padded with the edge value, not zeros
    low = np.full(21, -3e12)
    low[3] += 2e9
    assert spike_mask(t, low).tolist() == [i == 3 for i in range(21)]
    # a real step (many points on each side) is not a spike
    step = np.where(np.arange(22) < 11, 0.0, -5e9)
    assert not spike_mask(np.arange(22) * 300.0, step).any()
    # all samples at one instant: no rate, no crash
    assert not spike_mask(np.zeros(12), np.zeros(12)).any()


def test_segment_step_at_exactly_one_gigabyte_is_not_a_step() -> None:
    t = np.arange(10) * 300.0
    y = np.zeros(10)
    y[5:] += 1e9
    assert segment_labels(t, y).tolist() == [0] * 10
    y[5:] += 1
    assert segment_labels(t, y).tolist() == [0] * 5 + [1] * 5


def test_a_single_spike_is_dropped_before_the_fit() -> None:
    snaps = exact_trace(10e9, 7 * DAY, 21)
    snaps[10]["available_bytes"] -= 50e9
    g = growth_rate(snaps, NOW)
    assert g["outliers"] == 1 and g["data_points"] == 21
    assert g["segments"] == 1  # kept, the spike would cut the trace into three segments
    assert g["growth_rate_bytes_per_day"] == pytest.approx(10e9, rel=1e-9)


def test_range_is_sens_interval_where_it_is_wider_than_the_span_term() -> None:
    # eight daily samples with 5 GB of noise: Sen's 90 % interval is wider than ±9.4 %
    snaps = trace(20e9, noise=5e9, step=DAY, seed=2)
    t, y = fit_series(snaps)
    fit = theil_sen_slope(t, y, segment_labels(t, y))
    assert fit is not None
    slope, low, high = fit[0] * DAY, fit[1] * DAY, fit[2] * DAY
    spread = slope * 0.25 * (1 / 7) ** 0.5
    assert low < slope - spread and high > slope + spread
    g = growth_rate(snaps, NOW)
    assert g["growth_rate_bytes_per_day"] == slope
    assert g["growth_rate_bytes_per_day_low"] == low
    assert g["growth_rate_bytes_per_day_high"] == high
