"""The threshold table: built from settings, strict comparisons both ways, one breach shape."""

from __future__ import annotations

import pytest

from storj_monitor.settings import defaults
from storj_monitor.thresholds import thresholds_from

TH = thresholds_from(defaults().replace(storage_warning_percent=70.0))


@pytest.mark.parametrize(
    ("name", "value", "level"),
    [
        ("disk_usage", 70.0, "ok"),
        ("disk_usage", 70.01, "warning"),
        ("disk_usage", 95.0, "warning"),
        ("disk_usage", 95.01, "critical"),
        ("disk_forecast", 30.0, "ok"),
        ("disk_forecast", 29.9, "warning"),
        ("disk_forecast", 6.9, "critical"),
        ("latency", 5000.0, "ok"),
        ("latency", 10000.5, "critical"),
        ("audit_score", 98.0, "ok"),
        ("audit_score", 96.49, "critical"),
        ("online_score", None, "unknown"),
        ("online_score", float("nan"), "unknown"),
    ],
)
def test_levels(name: str, value: float | None, level: str) -> None:
    assert TH[name].level(value) == level


def test_breach_gives_severity_and_the_limit_crossed() -> None:
    assert TH["disk_usage"].breach(76.0) == ("warning", 70.0)
    assert TH["disk_usage"].breach(96.0) == ("critical", 95.0)
    assert TH["audit_score"].breach(99.0) is None


@pytest.mark.parametrize(
    ("name", "value", "holds"),
    [
        ("disk_usage", 69.5, True),  # warning 70, band 1 pp
        ("disk_usage", 69.0, False),
        ("disk_usage", 71.0, False),  # past the threshold: a breach, not a hold
        ("latency", 4600.0, True),  # warning 5000, band 500 ms
        ("latency", 4500.0, False),
        ("audit_score", 98.1, True),  # warning below 98, band 0.2
        ("audit_score", 98.2, False),
        ("disk_forecast", 31.0, True),  # warning below 30 days, band 2
        ("online_score", None, False),
    ],
)
def test_hysteresis_band(name: str, value: float | None, holds: bool) -> None:
    assert TH[name].holds(value) is holds


def test_payload_is_the_table() -> None:
    payload = TH.payload()
    assert list(payload) == [
        "disk_usage", "disk_forecast", "latency", "audit_score", "suspension_score",
        "online_score", "success_rate", "audit_success_rate",
    ]  # fmt: skip
    # The page's success-rate colours: strictly below 95 % amber, below 85 % red (audits
    # 99.5 / 98), the same edges the cards hard-coded before.
    assert TH["success_rate"].level(95.0) == "ok" and TH["success_rate"].level(94.99) == "warning"
    assert TH["success_rate"].level(85.0) == "warning" and TH["success_rate"].level(84.9) == "critical"
    assert TH["audit_success_rate"].level(99.5) == "ok" and TH["audit_success_rate"].level(97.9) == "critical"
    assert payload["disk_usage"]["warning"] == 70.0
    assert payload["suspension_score"]["network_limit"] == 60.0
    assert payload["latency"] == {
        "name": "latency",
        "label": "p99 latency",
        "unit": "ms",
        "warning": 5000.0,
        "critical": 10000.0,
        "direction": "above",
        "network_limit": None,
        "hysteresis": 500.0,
    }
