"""Latency spike detection: robust z-score of the recent p95 against hourly p95s."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.anomaly import robust_z, spike_condition, spike_conditions

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
