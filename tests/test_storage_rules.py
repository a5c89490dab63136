"""Storage alert rules: the seed's table, titles and messages, exactly."""

from __future__ import annotations

import pytest

from storj_monitor.alerts.log_rules import (
    failed_audit_condition,
    node_offline_condition,
    node_problem_condition,
    ping_failed_condition,
)
from storj_monitor.alerts.storage_rules import (
    disk_forecast_condition,
    disk_usage_condition,
    storage_alerts_payload,
    storage_conditions,
)
from storj_monitor.model import AlertCondition, Event, LogRecord, StorageSnapshot
from storj_monitor.settings import defaults
from storj_monitor.thresholds import thresholds_from

S = defaults()
TH = thresholds_from(S)


def snap(used_percent: float, free: float) -> dict:
    return {"used_percent": used_percent, "available_bytes": free}


def test_seed_critical_example_exactly() -> None:
    c = disk_usage_condition("My-Node", snap(96.5, 70_000_000_000), TH)
    assert c is not None
    assert c.severity == "critical"
    assert c.title == "Critical Disk Usage on My-Node"
    assert c.message == (
        "Disk is 96.5% full (threshold: 95.0%). Free space: 70.00 GB. "
        "Immediate action required to prevent downtime."
    )


def test_seed_warning_example() -> None:
    c = disk_usage_condition("My-Node", snap(82.3, 354e9), TH)
    assert c is not None and c.severity == "warning"
    assert c.title == "High Disk Usage on My-Node"
    assert c.message.startswith("Disk is 82.3% full (threshold: 80.0%). Free space: 354.00 GB.")


@pytest.mark.parametrize(
    ("pct", "severity"), [(80.0, None), (80.01, "warning"), (95.0, "warning"), (95.01, "critical")]
)
def test_usage_thresholds_are_strictly_greater(pct: float, severity: str | None) -> None:
    c = disk_usage_condition("n", snap(pct, 1e9), TH)
    assert (c.severity if c else None) == severity


def test_usage_thresholds_are_configurable() -> None:
    c = disk_usage_condition(
        "n", snap(70.0, 1e9), thresholds_from(S.replace(storage_warning_percent=60))
    )
    assert c is not None and "threshold: 60.0%" in c.message


def test_unknown_percent_raises_nothing() -> None:
    assert disk_usage_condition("n", {"used_percent": None, "available_bytes": 5}, TH) is None


def forecast(days: float | None, status: str = "filling") -> dict:
    return {
        "status": status,
        "days_until_full": days,
        "days_until_full_low": None if days is None else days * 0.8,
        "days_until_full_high": None if days is None else days * 1.3,
        "growth_rate_bytes_per_day": 10e9,
    }


@pytest.mark.parametrize(
    ("days", "severity", "title"),
    [
        (40.0, None, None),
        (29.9, "warning", "Disk Filling Up on My-Node"),
        (6.5, "critical", "Disk Almost Full on My-Node"),
    ],
)
def test_forecast_rule(days: float, severity: str | None, title: str | None) -> None:
    c = disk_forecast_condition("My-Node", forecast(days), TH)
    assert (c.severity if c else None) == severity
    if c:
        assert c.title == title
        assert c.message.startswith(f"Disk will be full in {days:.1f} days (likely ")
        assert "10.00 GB/day" in c.message


def test_forecast_rule_ignores_non_filling() -> None:
    assert disk_forecast_condition("n", forecast(None, "not filling"), TH) is None
    assert disk_forecast_condition("n", forecast(3.0, "insufficient data"), TH) is None
    assert disk_forecast_condition("n", None, TH) is None


def test_storage_alerts_payload_is_the_seed_shape() -> None:
    conds = storage_conditions("My-Node", snap(96.5, 70e9), forecast(5.0), TH)
    payload = storage_alerts_payload(conds)
    assert payload[0] == {
        "severity": "critical",
        "title": "Critical Disk Usage on My-Node",
        "message": "Disk is 96.5% full (threshold: 95.0%). Free space: 70.00 GB. "
        "Immediate action required to prevent downtime.",
    }
    assert [p["severity"] for p in payload] == ["critical", "critical"]
    assert all(set(p) == {"severity", "title", "message"} for p in payload)


def event(**kw: object) -> Event:
    base: dict[str, object] = {
        "timestamp": 100.0,
        "node_name": "My-Node",
        "action": "GET_AUDIT",
        "status": "failed",
        "size": 0,
        "satellite_id": "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6",
        "piece_id": "PIECE",
        "remote_ip": "1.2.3.4",
        "error": "file does not exist",
        "error_category": "file does not exist",
    }
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def test_failed_audit_condition() -> None:
    c = failed_audit_condition(event())
    assert c is not None and c.severity == "critical" and c.kind == "audit_failed"
    assert c.title == "Failed Audit on My-Node"
    assert c.key == "audit_failed:121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"
    timeout = failed_audit_condition(
        event(error="context deadline exceeded", error_category="timeout")
    )
    assert timeout is not None and timeout.severity == "warning"
    assert failed_audit_condition(event(status="success")) is None
    assert failed_audit_condition(event(action="GET")) is None


def test_ping_failed_and_offline_conditions() -> None:
    rec = LogRecord(100.0, "My-Node", "ping_failed", "ERROR", "ping satellite failed ", "1wF",
                    fields={"error": "connection refused"})  # fmt: skip
    c = ping_failed_condition(rec)
    assert c is not None and c.severity == "warning" and "connection refused" in c.message
    assert node_offline_condition("n", "http://x", None, 1000, 900) is None
    assert node_offline_condition("n", "http://x", 200, 1000, 900) is None
    off = node_offline_condition("n", "http://x", 100, 1000, 900, "HTTP 500")
    assert off is not None and off.severity == "critical" and "15 minutes" in off.message


@pytest.mark.parametrize(
    ("kind", "level", "message", "severity"),
    [
        ("disk_space", "WARN", "Disk space is less than requested. Allocated space is", "warning"),
        ("disk_space", "ERROR", "Total disk space is less than required minimum", "critical"),
        ("storage_check", "ERROR", "error verifying writability of storage directory", "critical"),
        ("storage_check", "INFO", "writability check done", None),
        ("fatal", "ERROR", "failure during run", "critical"),
        ("orders", "INFO", "finished", None),
    ],
)
def test_node_problem_conditions(kind: str, level: str, message: str, severity: str | None) -> None:
    found = node_problem_condition(
        LogRecord(1.0, "My-Node", kind, level, message, fields={"error": "boom"})
    )
    assert (found[0].severity if found else None) == severity
    if found:
        cond, resolve_after = found
        assert cond.key == kind and "My-Node" in cond.title and cond.message.endswith("boom")
        assert resolve_after > 0


# -- exact fields and thresholds at equality -----------------------------------------------------


def fields(c: AlertCondition | None) -> tuple | None:
    return None if c is None else (c.node_name, c.kind, c.key, c.severity, c.title)


@pytest.mark.parametrize(
    ("pct", "expected"),
    [
        (80.0, None),
        (
            80.000001,
            ("My-Node", "disk_usage", "disk_usage", "warning", "High Disk Usage on My-Node"),
        ),
        (95.0, ("My-Node", "disk_usage", "disk_usage", "warning", "High Disk Usage on My-Node")),
        (
            95.000001,
            ("My-Node", "disk_usage", "disk_usage", "critical", "Critical Disk Usage on My-Node"),
        ),
    ],
)
def test_usage_condition_fields_at_the_thresholds(pct: float, expected: tuple | None) -> None:
    assert fields(disk_usage_condition("My-Node", snap(pct, 1e9), TH)) == expected


def test_usage_condition_details_and_messages() -> None:
    crit = disk_usage_condition("My-Node", snap(96.123, 70e9), TH)
    assert crit is not None
    assert crit.details == {"used_percent": 96.12, "available_bytes": 70e9, "threshold": 95.0}
    warn = disk_usage_condition("My-Node", snap(82.346, 354e9), TH)
    assert warn is not None
    assert warn.details == {"used_percent": 82.35, "available_bytes": 354e9, "threshold": 80.0}
    assert warn.message == (
        "Disk is 82.3% full (threshold: 80.0%). Free space: 354.00 GB. Plan to add capacity soon."
    )


def test_usage_condition_reads_a_storage_snapshot_object() -> None:
    s = StorageSnapshot(0.0, "My-Node", 2_000_000_000_000, 1_930_000_000_000, 70_000_000_000,
                        0, 96.5, 0.0, 3.5)  # fmt: skip
    c = disk_usage_condition("My-Node", s, TH)
    assert c is not None and c.severity == "critical"
    assert "Free space: 70.00 GB." in c.message
    assert c.details["available_bytes"] == 70_000_000_000
    assert disk_usage_condition("My-Node", object(), TH) is None  # no used_percent at all


def test_usage_condition_without_free_space_says_zero() -> None:
    c = disk_usage_condition("My-Node", {"used_percent": 99.0}, TH)
    assert c is not None and "Free space: 0.00 GB." in c.message
    assert c.details["available_bytes"] is None


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (30.0, None),
        (29.999, "warning"),
        (7.0, "warning"),
        (6.999, "critical"),
        (0.0, "critical"),
    ],
)
def test_forecast_thresholds_at_exactly_7_and_30_days(days: float, expected: str | None) -> None:
    c = disk_forecast_condition("My-Node", forecast(days), TH)
    assert (c.severity if c else None) == expected


@pytest.mark.parametrize(
    ("days", "severity", "title", "threshold", "tail"),
    [
        (20.0, "warning", "Disk Filling Up on My-Node", 30.0, "Plan capacity expansion."),
        (
            5.0,
            "critical",
            "Disk Almost Full on My-Node",
            7.0,
            "Immediate action required to prevent downtime.",
        ),
    ],
)
def test_forecast_condition_exactly(
    days: float, severity: str, title: str, threshold: float, tail: str
) -> None:
    fc = forecast(days)
    c = disk_forecast_condition("My-Node", fc, TH)
    assert fields(c) == ("My-Node", "disk_forecast", "disk_forecast", severity, title)
    assert c is not None
    assert c.message == (
        f"Disk will be full in {days:.1f} days (likely {days * 0.8:.1f}–{days * 1.3:.1f} days) "
        f"at 10.00 GB/day (threshold: {threshold:.0f} days). {tail}"
    )
    assert c.details == {
        "days_until_full": days,
        "days_until_full_low": days * 0.8,
        "days_until_full_high": days * 1.3,
        "growth_rate_bytes_per_day": 10e9,
        "threshold": threshold,
    }


def test_forecast_range_text_variants() -> None:
    open_ended = {**forecast(5.0), "days_until_full_high": None}
    c = disk_forecast_condition("My-Node", open_ended, TH)
    assert c is not None
    assert c.message.startswith("Disk will be full in 5.0 days (at least 4.0 days) at 10.00 GB/day")
    no_range = {**forecast(5.0), "days_until_full_low": None, "days_until_full_high": None}
    c = disk_forecast_condition("My-Node", no_range, TH)
    assert c is not None and c.message.startswith("Disk will be full in 5.0 days at 10.00 GB/day")
    no_rate = {**forecast(5.0), "growth_rate_bytes_per_day": None}
    c = disk_forecast_condition("My-Node", no_rate, TH)
    assert c is not None and " at 0.00 GB/day " in c.message
    assert c.details["growth_rate_bytes_per_day"] is None
    assert disk_forecast_condition("My-Node", {"status": "filling"}, TH) is None


def test_forecast_thresholds_are_configurable() -> None:
    settings = thresholds_from(
        S.replace(storage_forecast_critical_days=2, storage_forecast_warning_days=10)
    )
    assert disk_forecast_condition("n", forecast(10.0), settings) is None
    c = disk_forecast_condition("n", forecast(2.0), settings)
    assert c is not None and c.severity == "warning" and "(threshold: 10 days)" in c.message
    c = disk_forecast_condition("n", forecast(1.9), settings)
    assert c is not None and c.severity == "critical" and "(threshold: 2 days)" in c.message


def test_storage_conditions_usage_first_then_forecast() -> None:
    assert storage_conditions("n", None, None, TH) == []
    only_fc = storage_conditions("n", None, forecast(20.0), TH)
    assert [(c.node_name, c.kind) for c in only_fc] == [("n", "disk_forecast")]
    both = storage_conditions("n", snap(85.0, 1e9), forecast(20.0), TH)
    assert [(c.kind, c.severity) for c in both] == [
        ("disk_usage", "warning"),
        ("disk_forecast", "warning"),
    ]
    only_usage = storage_conditions("n", snap(85.0, 1e9), forecast(40.0), TH)
    assert [c.kind for c in only_usage] == ["disk_usage"]
    other = AlertCondition("n", "audit_score", "k", "warning", "t", "m")
    assert storage_alerts_payload([*both, other]) == [
        {"severity": c.severity, "title": c.title, "message": c.message} for c in both
    ]


def test_storage_conditions_hold_inside_the_hysteresis_bands() -> None:
    # disk usage: warning above 80 %, band 1 point; forecast: warning below 30 days, band 2 days
    held = storage_conditions("My-Node", snap(79.5, 1e9), forecast(31.0), TH)
    assert [(c.node_name, c.kind, c.key, c.severity, c.hold) for c in held] == [
        ("My-Node", "disk_usage", "disk_usage", "warning", True),
        ("My-Node", "disk_forecast", "disk_forecast", "warning", True),
    ]
    assert storage_conditions("My-Node", snap(79.0, 1e9), forecast(32.0), TH) == []
    assert storage_conditions("My-Node", None, forecast(31.0, "not filling"), TH) == []
    assert storage_conditions("My-Node", {"used_percent": None}, None, TH) == []
    alerting = storage_conditions("My-Node", snap(80.5, 1e9), forecast(29.0), TH)
    assert [(c.kind, c.hold) for c in alerting] == [("disk_usage", False), ("disk_forecast", False)]
