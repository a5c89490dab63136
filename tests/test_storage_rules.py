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
from storj_monitor.model import Event, LogRecord
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
