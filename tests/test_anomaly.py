"""Latency spike detection: robust z-score of the recent p95 against hourly p95s."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.anomaly import median, robust_z, spike_condition, spike_conditions

BASE = [800.0 + (i % 7) * 20 for i in range(168)]  # hourly p95s around 860 ms


@pytest.mark.parametrize(
    ("recent", "count", "baseline", "fires"),
    [
        (3000.0, 500, BASE, True),
        (900.0, 500, BASE, False),  # normal
        (3000.0, 10, BASE, False),  # too few recent operations
        (3000.0, 500, BASE[:10], False),  # too little history
        (None, 500, BASE, False),
        (1000.0, 500, [860.0] * 48, False),  # flat baseline: +16 % is not a spike
        (2000.0, 500, [860.0] * 48, True),  # flat baseline: 2.3x is
        (100.0, 500, BASE, False),  # faster is never a spike
    ],
)
def test_spike_rule(recent: float | None, count: int, baseline: list[float], fires: bool) -> None:
    cond = spike_condition("My-Node", "get", recent, count, baseline, z_threshold=3.5)
    assert (cond is not None) == fires
    if cond:
        assert cond.kind == "latency_spike" and cond.severity == "info"
        assert cond.key == "latency_spike:get"
        assert cond.title == "GET Latency Spike on My-Node"
        assert "p95 latency over the last 15 minutes is" in cond.message
        assert cond.details["z_score"] >= 3.5


def test_spike_robust_to_outlier_hours() -> None:
    baseline = BASE[:-5] + [20000.0] * 5  # a few terrible hours do not hide a spike
    cond = spike_condition("N", "put", 4000.0, 100, baseline, z_threshold=3.5)
    assert cond is not None


def test_spike_conditions_per_category() -> None:
    recent = {"get": {"count": 100, "p95": 5000.0}, "put": {"count": 100, "p95": 850.0}}
    conds = spike_conditions("N", recent, {"get": BASE, "put": BASE}, z_threshold=3.5)
    assert [c.key for c in conds] == ["latency_spike:get"]


def test_robust_z_values() -> None:
    z, med, mad = robust_z(10.0, [1.0, 2.0, 3.0, 4.0, 5.0])  # type: ignore[misc]
    assert med == 3.0 and mad == 1.0
    assert z == pytest.approx(0.6745 * 7)
    assert robust_z(1.0, []) is None


@given(st.lists(st.floats(1, 1e6), min_size=1, max_size=50), st.floats(1, 1e6))
def test_robust_z_is_finite_and_signed(baseline: list[float], value: float) -> None:
    z, med, _ = robust_z(value, baseline)  # type: ignore[misc]
    assert z == z and abs(z) != float("inf")
    assert (z > 0) == (value > med) or value == med


# -- exact values and every threshold at equality ----------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [([5.0], 5.0), ([3.0, 1.0], 2.0), ([4.0, 1.0, 9.0], 4.0), ([1.0, 2.0, 10.0, 20.0], 6.0)],
)
def test_median_odd_and_even(values: list[float], expected: float) -> None:
    assert median(values) == expected


def test_median_of_nothing_raises() -> None:
    with pytest.raises(ValueError, match=r"^median of no values$"):
        median([])


def test_robust_z_skips_missing_and_infinite_and_floors_mad() -> None:
    scored = robust_z(12.0, [10.0, None, float("nan"), float("inf"), 10.0, 10.0])  # type: ignore[list-item]
    assert scored is not None
    z, med, mad = scored
    assert (med, mad) == (10.0, 0.1)  # MAD 0 floored at 1 % of the median
    assert z == pytest.approx(0.6745 * 2.0 / 0.1)
    z0, med0, mad0 = robust_z(1.0, [0.0, 0.0, 0.0])  # type: ignore[misc]
    assert (med0, mad0) == (0.0, 1e-9) and z0 == pytest.approx(0.6745 / 1e-9)
    assert robust_z(1.0, [None, float("nan")]) is None  # type: ignore[list-item]


def spike(recent: float, count: int = 500, baseline: list[float] | None = None, **kw: object):
    base = [1000.0] * 24 if baseline is None else baseline
    return spike_condition("My-Node", "get", recent, count, base, z_threshold=3.5, **kw)  # type: ignore[arg-type]


def test_spike_condition_every_field() -> None:
    baseline = [800.0 + (i % 7) * 20 for i in range(168)]
    cond = spike_condition("My-Node", "audit", 3000.456, 1234, baseline, z_threshold=3.5)
    assert cond is not None
    assert (cond.node_name, cond.kind, cond.key, cond.severity, cond.title) == (
        "My-Node",
        "latency_spike",
        "latency_spike:audit",
        "info",
        "Audit Latency Spike on My-Node",
    )
    med, mad = 860.0, 40.0
    z = 0.6745 * (3000.456 - med) / mad
    assert cond.message == (
        f"p95 latency over the last 15 minutes is 3.0 s, {3000.456 / med:.1f}× the 7-day "
        f"hourly median of 860 ms (robust z-score {z:.1f}, threshold 3.5; 1,234 operations)."
    )
    assert cond.details == {
        "category": "audit",
        "recent_p95_ms": 3000.46,
        "recent_count": 1234,
        "baseline_median_ms": 860.0,
        "baseline_mad_ms": 40.0,
        "baseline_hours": 168,
        "z_score": round(z, 2),
        "z_threshold": 3.5,
    }


def test_spike_details_round_to_two_places() -> None:
    cond = spike(3000.0, baseline=[1234.567] * 24)  # MAD 0, floored at 12.34567
    assert cond is not None
    assert cond.details["baseline_median_ms"] == 1234.57
    assert cond.details["baseline_mad_ms"] == 12.35
    assert cond.details["z_score"] == round(0.6745 * (3000.0 - 1234.567) / 12.34567, 2)


def test_z_exactly_at_the_threshold_is_a_spike() -> None:
    threshold = 0.6745 * (1020.0 - 1000.0) / 10.0  # the same float the rule computes
    cond = spike_condition(
        "N", "get", 1020.0, 500, [1000.0] * 24, z_threshold=threshold, min_ratio=1.0
    )
    assert cond is not None and cond.details["z_score"] == round(threshold, 2)


def test_spike_thresholds_at_equality() -> None:
    # flat baseline 1000 ms: MAD floored at 10 ms; z = 0.6745 × (x − 1000) / 10
    at_ratio = spike(1500.0)  # exactly 1.5× the median (z = 33.7): a spike
    assert at_ratio is not None
    assert spike(1499.99) is None
    z_exact = 1000.0 + 3.5 * 10.0 / 0.6745
    assert spike(z_exact, min_ratio=1.0) is not None  # z exactly 3.5
    assert spike(z_exact - 0.01, min_ratio=1.0) is None
    assert spike(1500.0, count=30) is not None and spike(1500.0, count=29) is None
    assert spike(1500.0, baseline=[1000.0] * 23) is None
    assert spike(1500.0, baseline=[1000.0] * 23, min_baseline_hours=23) is not None


def test_spike_over_a_zero_or_tiny_median_has_no_finite_ratio() -> None:
    cond = spike(50.0, baseline=[0.0] * 24)
    assert cond is not None and "inf× the 7-day hourly median of 0 ms" in cond.message
    tiny = spike(5.0, baseline=[0.5] * 24)
    assert tiny is not None and "10.0× the 7-day hourly median of 0 ms" in tiny.message


@pytest.mark.parametrize(
    ("recent", "text"),
    [(999.4, "999 ms"), (1000.0, "1.0 s"), (1050.5, "1.1 s"), (1949.0, "1.9 s")],
)
def test_spike_message_durations(recent: float, text: str) -> None:
    cond = spike(recent, baseline=[100.0] * 24)
    assert cond is not None
    assert cond.message.startswith(f"p95 latency over the last 15 minutes is {text}, ")
    assert spike(recent, baseline=[100.0] * 24, recent_minutes=5.5).message.startswith(  # type: ignore[union-attr]
        f"p95 latency over the last 5.5 minutes is {text}, "
    )


def test_unknown_category_is_upper_cased() -> None:
    cond = spike_condition("N", "get_repair", 5000.0, 100, [1000.0] * 24, z_threshold=3.5)
    assert cond is not None and cond.title == "GET_REPAIR Latency Spike on N"


def test_spike_conditions_pass_thresholds_and_skip_missing() -> None:
    recent = {
        "get": {"count": 10, "p95": 5000.0},
        "put": {"count": None, "p95": 5000.0},
        "audit": {"count": 40, "p95": 5000.0},
        "repair": {"count": 40, "p95": 5000.0},
    }
    baseline = {"get": [1000.0] * 10, "put": [1000.0] * 10, "audit": [1000.0] * 10}
    conds = spike_conditions(
        "N", recent, baseline, z_threshold=3.5, min_baseline_hours=10, min_operations=10
    )
    assert [(c.node_name, c.key) for c in conds] == [
        ("N", "latency_spike:get"),
        ("N", "latency_spike:audit"),
    ]
    strict = spike_conditions(
        "N", recent, baseline, z_threshold=3.5, min_baseline_hours=11, min_operations=10
    )
    assert strict == []
    assert spike_conditions("N", {"get": {"count": 40, "p95": 5000.0}}, {}, z_threshold=3.5) == []
    unknown_count = {"get": {"count": None, "p95": 5000.0}}
    assert (
        spike_conditions(
            "N", unknown_count, {"get": [1000.0] * 24}, z_threshold=3.5, min_operations=1
        )
        == []
    )
