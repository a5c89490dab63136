"""Latency alert rules (p99 of the last hour), table-driven."""

from __future__ import annotations

import pytest

from storj_monitor.alerts.latency_rules import (
    latency_condition,
    latency_conditions,
    seconds_text,
)

W, C = 5000.0, 10000.0


@pytest.mark.parametrize(
    ("p99", "count", "severity"),
    [
        (4999.0, 1000, None),
        (5000.0, 1000, None),  # "above" the threshold, not at it
        (5000.1, 1000, "warning"),
        (9999.0, 1000, "warning"),
        (10000.0, 1000, "warning"),
        (10000.5, 1000, "critical"),
        (60000.0, 19, None),  # too few operations for a p99
        (60000.0, 20, "critical"),
        (None, 1000, None),
    ],
)
def test_p99_thresholds(p99: float | None, count: int, severity: str | None) -> None:
    cond = latency_condition(
        "My-Node", "get", {"count": count, "p99": p99}, warning_ms=W, critical_ms=C
    )
    assert (cond.severity if cond else None) == severity


def test_warning_title_and_message() -> None:
    cond = latency_condition(
        "My-Node", "get", {"count": 1234, "p99": 6234.0, "p95": 3000.0}, warning_ms=W, critical_ms=C
    )
    assert cond is not None
    assert cond.kind == "latency" and cond.key == "latency:get"
    assert cond.title == "High GET Latency on My-Node"
    assert cond.message == (
        "p99 latency over the last hour is 6.2 s (threshold: 5.0 s) across 1,234 operations."
    )
    assert cond.details["p99_ms"] == 6234.0 and cond.details["threshold_ms"] == W


def test_critical_title() -> None:
    cond = latency_condition(
        "My-Node", "repair", {"count": 50, "p99": 12500.0}, warning_ms=W, critical_ms=C
    )
    assert cond is not None
    assert cond.title == "Critical Repair Latency on My-Node"
    assert cond.message.startswith(
        "p99 latency over the last hour is 12.5 s (threshold: 10.0 s) across 50 operations."
    )


def test_conditions_per_category_skip_all() -> None:
    stats = {
        "get": {"count": 100, "p99": 6000.0},
        "put": {"count": 100, "p99": 100.0},
        "audit": {"count": 100, "p99": 11000.0},
        "repair": {"count": 0, "p99": None},
        "all": {"count": 300, "p99": 11000.0},
    }
    conds = latency_conditions("N", stats, warning_ms=W, critical_ms=C)
    assert [(c.key, c.severity) for c in conds] == [
        ("latency:get", "warning"),
        ("latency:audit", "critical"),
    ]


@pytest.mark.parametrize(("ms", "text"), [(850.0, "850 ms"), (1000.0, "1.0 s"), (6234.0, "6.2 s")])
def test_seconds_text(ms: float, text: str) -> None:
    assert seconds_text(ms) == text


def test_warning_condition_every_field() -> None:
    stats = {"count": 1234, "p99": 6234.567, "p95": 3000.0, "p50": 800.0}
    cond = latency_condition("My-Node", "get", stats, warning_ms=W, critical_ms=C)
    assert cond is not None
    assert (cond.node_name, cond.kind, cond.key, cond.severity) == (
        "My-Node",
        "latency",
        "latency:get",
        "warning",
    )
    assert cond.details == {
        "category": "get",
        "p99_ms": 6234.57,
        "p95_ms": 3000.0,
        "p50_ms": 800.0,
        "count": 1234,
        "threshold_ms": W,
        "window_hours": 1,
    }


def test_critical_message_adds_the_likely_cause() -> None:
    stats = {"count": 50, "p99": 12500.0}
    cond = latency_condition("My-Node", "audit", stats, warning_ms=W, critical_ms=C)
    assert cond is not None and cond.severity == "critical"
    assert cond.title == "Critical Audit Latency on My-Node"
    assert cond.message == (
        "p99 latency over the last hour is 12.5 s (threshold: 10.0 s) across 50 operations."
        " Clients are likely losing races for pieces: check disk and network load."
    )
    assert cond.details["threshold_ms"] == C and cond.details["p50_ms"] is None


def test_unknown_category_is_upper_cased_in_the_title() -> None:
    stats = {"count": 50, "p99": 6000.0}
    cond = latency_condition("N", "get_repair", stats, warning_ms=W, critical_ms=C)
    assert cond is not None and cond.title == "High GET_REPAIR Latency on N"


@pytest.mark.parametrize(("count", "fires"), [(None, False), (0, False), (1, True)])
def test_min_operations_of_zero_still_needs_one_operation(count: int | None, fires: bool) -> None:
    stats = {"count": count, "p99": 6000.0}
    cond = latency_condition("N", "get", stats, warning_ms=W, critical_ms=C, min_operations=0)
    assert (cond is not None) == fires


def test_conditions_keep_going_after_a_missing_category() -> None:
    stats = {"put": {"count": 100, "p99": 6000.0}, "repair": {"count": 100, "p99": 6000.0}}
    conds = latency_conditions("N", stats, warning_ms=W, critical_ms=C, min_operations=100)
    assert [(c.node_name, c.key) for c in conds] == [("N", "latency:put"), ("N", "latency:repair")]
    assert latency_conditions("N", stats, warning_ms=W, critical_ms=C, min_operations=101) == []


@pytest.mark.parametrize(("ms", "text"), [(999.4, "999 ms"), (1949.0, "1.9 s"), (1951.0, "2.0 s")])
def test_seconds_text_rounding(ms: float, text: str) -> None:
    assert seconds_text(ms) == text


def test_hold_inside_the_hysteresis_band_below_warning() -> None:
    def cond(p99: float) -> object:
        stats = {"count": 100, "p99": p99}
        return latency_condition(
            "My-Node", "put", stats, warning_ms=W, critical_ms=C, hysteresis_ms=500.0
        )

    held = cond(4600.0)
    assert held is not None
    assert (held.node_name, held.kind, held.key, held.severity, held.hold) == (  # type: ignore[attr-defined]
        "My-Node",
        "latency",
        "latency:put",
        "warning",
        True,
    )
    assert cond(4500.0) is None  # the band is open at its far end
    assert cond(5000.0).hold  # type: ignore[union-attr]  # at warning: not an alert yet
    assert cond(5000.1).hold is False  # type: ignore[union-attr]
    no_band = latency_condition(
        "N", "put", {"count": 100, "p99": 4600.0}, warning_ms=W, critical_ms=C
    )
    assert no_band is None
    conds = latency_conditions(
        "N",
        {"get": {"count": 100, "p99": 4600.0}},
        warning_ms=W,
        critical_ms=C,
        hysteresis_ms=500.0,
    )
    assert [(c.key, c.hold) for c in conds] == [("latency:get", True)]


def test_no_hysteresis_band_by_default() -> None:
    stats = {"get": {"count": 100, "p99": W - 0.5}}
    assert latency_conditions("N", stats, warning_ms=W, critical_ms=C) == []
