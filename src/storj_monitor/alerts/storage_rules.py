"""Storage alert rules (seed 2.2), pure: a snapshot and a forecast in, conditions out.

| condition          | severity | threshold (setting)              |
|--------------------|----------|----------------------------------|
| disk > 95 % full   | critical | STORAGE_CRITICAL_PERCENT         |
| disk > 80 % full   | warning  | STORAGE_WARNING_PERCENT          |
| full in < 7 days   | critical | STORAGE_FORECAST_CRITICAL_DAYS   |
| full in < 30 days  | warning  | STORAGE_FORECAST_WARNING_DAYS    |

Titles and messages are the seed's ("Critical Disk Usage on My-Node" / "Disk is 96.5% full
(threshold: 95.0%). Free space: 70.00 GB. Immediate action required to prevent downtime.").
Free space in messages is in decimal GB (1e9 bytes), as in that example (3.5 % of 2 TB).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storj_monitor.model import AlertCondition

#: Alert kinds these rules own (the engine's reconcile scope).
STORAGE_KINDS = frozenset({"disk_usage", "disk_forecast"})
GB = 1e9


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def disk_usage_condition(node_name: str, snapshot: Any, settings: Any) -> AlertCondition | None:
    """Percent-full rule on one snapshot (dict or StorageSnapshot); None when below warning."""
    used_percent = _get(snapshot, "used_percent")
    if used_percent is None:
        return None
    free_gb = (_get(snapshot, "available_bytes") or 0) / GB
    critical = float(settings.storage_critical_percent)
    warning = float(settings.storage_warning_percent)
    details = {
        "used_percent": round(used_percent, 2),
        "available_bytes": _get(snapshot, "available_bytes"),
    }
    if used_percent > critical:
        return AlertCondition(
            node_name=node_name,
            kind="disk_usage",
            key="disk_usage",
            severity="critical",
            title=f"Critical Disk Usage on {node_name}",
            message=(
                f"Disk is {used_percent:.1f}% full (threshold: {critical:.1f}%). "
                f"Free space: {free_gb:.2f} GB. Immediate action required to prevent downtime."
            ),
            details={**details, "threshold": critical},
        )
    if used_percent > warning:
        return AlertCondition(
            node_name=node_name,
            kind="disk_usage",
            key="disk_usage",
            severity="warning",
            title=f"High Disk Usage on {node_name}",
            message=(
                f"Disk is {used_percent:.1f}% full (threshold: {warning:.1f}%). "
                f"Free space: {free_gb:.2f} GB. Plan to add capacity soon."
            ),
            details={**details, "threshold": warning},
        )
    return None


def disk_forecast_condition(
    node_name: str, forecast: Mapping[str, Any] | None, settings: Any
) -> AlertCondition | None:
    """Days-until-full rule on a forecast from ``analytics.capacity``; None when far enough."""
    if not forecast or forecast.get("status") != "filling":
        return None
    days = forecast.get("days_until_full")
    if days is None:
        return None
    critical = float(settings.storage_forecast_critical_days)
    warning = float(settings.storage_forecast_warning_days)
    rate_gb = (forecast.get("growth_rate_bytes_per_day") or 0.0) / GB
    low, high = forecast.get("days_until_full_low"), forecast.get("days_until_full_high")
    range_text = ""
    if low is not None:
        range_text = (
            f" (likely {low:.1f}–{high:.1f} days)"
            if high is not None
            else f" (at least {low:.1f} days)"
        )
    details = {
        "days_until_full": days,
        "days_until_full_low": low,
        "days_until_full_high": high,
        "growth_rate_bytes_per_day": forecast.get("growth_rate_bytes_per_day"),
    }
    if days < critical:
        return AlertCondition(
            node_name=node_name,
            kind="disk_forecast",
            key="disk_forecast",
            severity="critical",
            title=f"Disk Almost Full on {node_name}",
            message=(
                f"Disk will be full in {days:.1f} days{range_text} at {rate_gb:.2f} GB/day "
                f"(threshold: {critical:.0f} days). Immediate action required to prevent downtime."
            ),
            details={**details, "threshold": critical},
        )
    if days < warning:
        return AlertCondition(
            node_name=node_name,
            kind="disk_forecast",
            key="disk_forecast",
            severity="warning",
            title=f"Disk Filling Up on {node_name}",
            message=(
                f"Disk will be full in {days:.1f} days{range_text} at {rate_gb:.2f} GB/day "
                f"(threshold: {warning:.0f} days). Plan capacity expansion."
            ),
            details={**details, "threshold": warning},
        )
    return None


def storage_conditions(
    node_name: str, snapshot: Any, forecast: Mapping[str, Any] | None, settings: Any
) -> list[AlertCondition]:
    """Every storage condition true now: usage first, then forecast (seed order)."""
    out = []
    usage = disk_usage_condition(node_name, snapshot, settings) if snapshot is not None else None
    if usage is not None:
        out.append(usage)
    fc = disk_forecast_condition(node_name, forecast, settings)
    if fc is not None:
        out.append(fc)
    return out


def storage_alerts_payload(conditions: list[AlertCondition]) -> list[dict[str, str]]:
    """The seed's ``storage_alerts`` list: ``[{"severity", "title", "message"}]``."""
    return [
        {"severity": c.severity, "title": c.title, "message": c.message}
        for c in conditions
        if c.kind in STORAGE_KINDS
    ]
