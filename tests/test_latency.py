"""Pure latency statistics: percentiles, per-category stats, slow operations, histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics import latency, sketch
from storj_monitor.model import Event

T0 = 1_736_000_000.0  # 2025-01-04T14:13:20Z


def ev(action: str, duration: float | None, t: float = T0, **kw: object) -> Event:
    return Event(
        timestamp=t,
        node_name="My-Node",
        action=action,
        status=kw.get("status", "success"),  # type: ignore[arg-type]
        size=1024,
        satellite_id=kw.get("satellite_id", "12EayRS2"),  # type: ignore[arg-type]
        piece_id=kw.get("piece_id", "abc123"),  # type: ignore[arg-type]
        remote_ip="1.2.3.4",
        duration_ms=duration,
        duration_source="precise" if duration is not None else None,
    )


@pytest.mark.parametrize(
    ("values", "percentiles", "expected"),
    [
        ([1, 2, 3, 4], [50], {"p50": 2.0}),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [50, 95, 99], {"p50": 5.0, "p95": 10.0, "p99": 10.0}),
        (list(range(1, 101)), [50, 95, 99], {"p50": 50.0, "p95": 95.0, "p99": 99.0}),
        ([7.5], [0, 50, 100], {"p0": 7.5, "p50": 7.5, "p100": 7.5}),
        ([], [50, 99], {"p50": None, "p99": None}),
        ([3, None, 1, float("nan"), 2], [50], {"p50": 2.0}),
        ([1, 2, 3], [99.9], {"p99.9": 3.0}),
    ],
)
def test_calculate_percentiles(values, percentiles, expected) -> None:
    assert latency.calculate_percentiles(values, percentiles) == expected


def test_calculate_percentiles_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        latency.calculate_percentiles([1.0], [101])


@given(
    st.lists(st.floats(0, 1e7, allow_nan=False), min_size=1, max_size=400),
    st.lists(st.floats(0, 100), min_size=1, max_size=5),
)
def test_percentiles_equal_numpy_inverted_cdf(values: list[float], ps: list[float]) -> None:
    got = latency.calculate_percentiles(values, ps)
    for p in ps:
        exact = float(np.percentile(np.array(values), p, method="inverted_cdf"))
        assert got[latency.percentile_key(p)] == pytest.approx(exact)


def test_analyze_latency_data_per_category() -> None:
    events = [
        ev("GET", 100),
        ev("GET", 200),
        ev("GET", 300),
        ev("PUT", 1000),
        ev("GET_AUDIT", 50),
        ev("GET_REPAIR", 400),
        ev("PUT_REPAIR", 600),
        ev("GET", None),  # INFO level: no duration, not a zero
        ev("PUT_GRACEFUL_EXIT", 5),  # only in "all"
    ]
    stats = latency.analyze_latency_data(events)
    assert set(stats) == {"get", "put", "audit", "repair", "all"}
    assert stats["get"] == {
        "count": 3,
        "mean": 200.0,
        "median": 200.0,
        "p50": 200.0,
        "p95": 300.0,
        "p99": 300.0,
        "min": 100.0,
        "max": 300.0,
    }
    assert stats["repair"]["count"] == 2 and stats["repair"]["max"] == 600.0
    assert stats["audit"]["p99"] == 50.0
    assert stats["all"]["count"] == 8
    assert stats["all"]["min"] == 5.0


def test_analyze_accepts_seed_dicts_and_empty_categories() -> None:
    stats = latency.analyze_latency_data([{"action": "PUT", "duration_ms": 12.345}])
    assert stats["put"]["mean"] == 12.35  # rounded to 2 decimals
    assert stats["get"] == {"count": 0, **dict.fromkeys(latency.STAT_KEYS[1:])}


def test_detect_slow_operations_slowest_first_with_limit() -> None:
    events = [
        ev("GET", d, T0 + i, piece_id=f"p{i}")
        for i, d in enumerate([100, 8456, 5000, 12000, 6000, None])
    ]
    slow = latency.detect_slow_operations(events, threshold_ms=5000, limit=2)
    assert slow == [
        {
            "timestamp": "2025-01-04T14:13:23Z",
            "action": "GET",
            "duration_ms": 12000.0,
            "piece_id": "p3",
            "satellite_id": "12EayRS2",
            "status": "success",
        },
        {
            "timestamp": "2025-01-04T14:13:21Z",
            "action": "GET",
            "duration_ms": 8456.0,
            "piece_id": "p1",
            "satellite_id": "12EayRS2",
            "status": "success",
        },
    ]
    assert [s["duration_ms"] for s in latency.detect_slow_operations(events)] == [12000, 8456, 6000]
    assert latency.detect_slow_operations(events, limit=0) == []


def test_build_histogram_buckets() -> None:
    h = latency.build_histogram([0, 50, 99.9, 100, 250, 250, None], bucket_size_ms=100)
    assert h == {
        "buckets": [
            {"start_ms": 0.0, "end_ms": 100.0, "count": 3},
            {"start_ms": 100.0, "end_ms": 200.0, "count": 1},
            {"start_ms": 200.0, "end_ms": 300.0, "count": 2},
        ],
        "bucket_size_ms": 100,
        "total": 6,
    }


def test_build_histogram_rejects_bad_bucket() -> None:
    with pytest.raises(ValueError):
        latency.build_histogram([1.0], bucket_size_ms=0)


@given(
    st.lists(st.floats(-10, 1e6, allow_nan=False), max_size=300),
    st.floats(0.5, 5000),
)
def test_histogram_counts_add_up(values: list[float], size: float) -> None:
    h = latency.build_histogram(values, size)
    assert h["total"] == len(values) == sum(b["count"] for b in h["buckets"])
    starts = [b["start_ms"] for b in h["buckets"]]
    assert starts == sorted(starts)
    for v in values:  # every value lies in a listed bucket
        k = max(0, math.floor(v / size))
        assert any(b["start_ms"] == round(k * size, 2) for b in h["buckets"])


@given(st.lists(st.floats(1, 1e6, allow_nan=False), min_size=1, max_size=400))
def test_stats_from_sketch_close_to_exact(values: list[float]) -> None:
    exact = latency.stats_from_values(values)
    approx = latency.stats_from_sketch(
        sketch.from_values(values),
        count=len(values),
        sum_ms=sum(values),
        min_ms=min(values),
        max_ms=max(values),
    )
    assert approx["count"] == exact["count"]
    assert approx["min"] == exact["min"] and approx["max"] == exact["max"]
    assert approx["mean"] == pytest.approx(exact["mean"], abs=0.011)
    for key in ("median", "p50", "p95", "p99"):
        # 1 % of the sketch plus the 2-decimal rounding of both
        assert abs(approx[key] - exact[key]) <= 0.01 * exact[key] + 0.0101


def test_histogram_from_sketch_totals() -> None:
    values = [10.0, 120.0, 130.0, 5000.0]
    h = latency.histogram_from_sketch(sketch.from_values(values), 100)
    assert h["total"] == 4
    assert [(b["start_ms"], b["count"]) for b in h["buckets"]] == [(0, 1), (100, 2), (5000, 1)]


def test_stats_from_sketch_exactly() -> None:
    hist = (np.array([sketch.ZERO_INDEX, 100, 200], np.int16), np.array([1, 2, 97], np.int64))
    v100, v200 = sketch.bucket_value(100), sketch.bucket_value(200)
    stats = latency.stats_from_sketch(hist, count=100, sum_ms=5000.0, min_ms=0.0, max_ms=50.0)
    assert v200 > 50.0
    assert stats == {
        "count": 100,
        "mean": 50.0,
        "median": 50.0,  # clamped to the exact maximum
        "p50": 50.0,
        "p95": 50.0,
        "p99": 50.0,
        "min": 0.0,
        "max": 50.0,
    }
    low = (np.array([100, 200], np.int16), np.array([60, 40], np.int64))
    stats = latency.stats_from_sketch(low, count=100, sum_ms=1234.567, min_ms=None, max_ms=None)
    assert (stats["p50"], stats["p95"], stats["min"]) == (round(v100, 2), round(v200, 2), None)
    assert stats["mean"] == 12.35
    empty = latency.empty_stats()
    assert latency.stats_from_sketch(hist, count=0, sum_ms=0.0, min_ms=None, max_ms=None) == empty
    assert latency.stats_from_sketch(sketch.EMPTY, count=5, sum_ms=1.0, min_ms=0, max_ms=1) == empty


def test_histogram_from_sketch_exactly() -> None:
    hist = sketch.from_values([10.0, 120.0, 130.0, 5000.0])
    assert latency.histogram_from_sketch(hist) == latency.histogram_from_sketch(hist, 100)
    h = latency.histogram_from_sketch(hist, 1000.0)
    assert h == {
        "buckets": [
            {"start_ms": 0.0, "end_ms": 1000.0, "count": 3},
            {"start_ms": 5000.0, "end_ms": 6000.0, "count": 1},
        ],
        "bucket_size_ms": 1000.0,
        "total": 4,
    }
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="bucket_size_ms must be > 0"):
            latency.histogram_from_sketch(hist, bad)


def test_stats_from_sketch_percentiles_and_min_clamp() -> None:
    hist = (np.array([100, 200, 300], np.int16), np.array([96, 3, 1], np.int64))
    v100, v200, v300 = (sketch.bucket_value(i) for i in (100, 200, 300))
    stats = latency.stats_from_sketch(hist, count=100, sum_ms=1.0, min_ms=None, max_ms=None)
    assert (stats["p50"], stats["p95"], stats["p99"]) == (
        round(v100, 2),
        round(v100, 2),
        round(v200, 2),
    )
    assert v300 > v200
    floor = v100 + 1.0  # the exact minimum lies above the first bucket's value: clamp up
    stats = latency.stats_from_sketch(hist, count=100, sum_ms=1.0, min_ms=floor, max_ms=None)
    assert (stats["p50"], stats["min"]) == (round(floor, 2), round(floor, 2))


def test_percentiles_accept_numpy_arrays_and_validate_empty_input() -> None:
    got = latency.calculate_percentiles(np.array([3.0, np.nan, 1.0, 2.0]), [0, 50, 100])
    assert got == {"p0": 1.0, "p50": 2.0, "p100": 3.0}
    assert latency.calculate_percentiles([], [0, 100]) == {"p0": None, "p100": None}
    for bad in (-0.5, 100.5):
        with pytest.raises(ValueError, match=rf"^percentile {bad} is outside 0\.\.100$"):
            latency.calculate_percentiles([], [bad])


def test_histogram_defaults_and_messages() -> None:
    assert latency.build_histogram([]) == {"buckets": [], "bucket_size_ms": 100, "total": 0}
    h = latency.build_histogram([150.0, -3.0])
    assert h["bucket_size_ms"] == 100
    assert [(b["start_ms"], b["end_ms"], b["count"]) for b in h["buckets"]] == [
        (0.0, 100.0, 1),
        (100.0, 200.0, 1),
    ]
    with pytest.raises(ValueError, match=r"^bucket_size_ms must be > 0, got 0$"):
        latency.build_histogram([1.0], 0)
    half = latency.histogram_from_sketch(sketch.from_values([0.7]), 0.5)
    assert half["buckets"] == [{"start_ms": 0.5, "end_ms": 1.0, "count": 1}]


def test_slow_operations_defaults_are_5000_ms_and_ten() -> None:
    events = [
        {"timestamp": 1.0 + i, "action": "GET", "duration_ms": 5000.5 + i, "status": "success"}
        for i in range(12)
    ]
    events.append({"timestamp": 0.0, "action": "GET", "duration_ms": 5000.0})
    slow = latency.detect_slow_operations(events)
    assert len(slow) == 10
    assert slow[-1]["duration_ms"] == 5002.5
    just_over = latency.detect_slow_operations(events[:1] + events[-1:])
    assert [s["duration_ms"] for s in just_over] == [5000.5]


def test_timestamps_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "EST+5")  # a POSIX zone string: needs no tz database
    time.tzset()
    try:
        assert time.timezone == 5 * 3600
        assert latency.iso_z(1736000000.7) == "2025-01-04T14:13:20Z"
    finally:
        monkeypatch.undo()
        time.tzset()
