"""Storage alert rules (seed 2.2), pure: a snapshot and a forecast in, conditions out.

| condition          | severity | threshold (table row / setting)                  |
|--------------------|----------|--------------------------------------------------|
| disk > 95 % full   | critical | ``disk_usage`` / STORAGE_CRITICAL_PERCENT        |
| disk > 80 % full   | warning  | ``disk_usage`` / STORAGE_WARNING_PERCENT         |
| full in < 7 days   | critical | ``disk_forecast`` / STORAGE_FORECAST_CRITICAL_DAYS |
| full in < 30 days  | warning  | ``disk_forecast`` / STORAGE_FORECAST_WARNING_DAYS |

Limits come from the :class:`~storj_monitor.thresholds.ThresholdTable` (the page colours its
gauges from the same table). Titles and messages are the seed's ("Critical Disk Usage on
My-Node" / "Disk is 96.5% full (threshold: 95.0%). Free space: 70.00 GB. Immediate action
required to prevent downtime."). Free space in messages is in decimal GB (1e9 bytes), as in
that example (3.5 % of 2 TB).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storj_monitor.model import AlertCondition
from storj_monitor.thresholds import ThresholdTable

#: Alert kinds these rules own (the engine's reconcile scope).
STORAGE_KINDS = frozenset({"disk_usage", "disk_forecast"})
GB = 1e9

_USAGE_TEXT = {
    "critical": ("Critical Disk Usage on {node}", "Immediate action required to prevent downtime."),
    "warning": ("High Disk Usage on {node}", "Plan to add capacity soon."),
}
_FORECAST_TEXT = {
    "critical": ("Disk Almost Full on {node}", "Immediate action required to prevent downtime."),
    "warning": ("Disk Filling Up on {node}", "Plan capacity expansion."),
}


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def disk_usage_condition(
    node_name: str, snapshot: Any, thresholds: ThresholdTable
) -> AlertCondition | None:
    """Percent-full rule on one snapshot (dict or StorageSnapshot); None when below warning."""
    used_percent = _get(snapshot, "used_percent")
    hit = thresholds["disk_usage"].breach(used_percent)
    if hit is None:
        return None
    severity, limit = hit
    free = _get(snapshot, "available_bytes")
    title, advice = _USAGE_TEXT[severity]
    return AlertCondition(
        node_name=node_name,
        kind="disk_usage",
        key="disk_usage",
        severity=severity,
        title=title.format(node=node_name),
        message=(
            f"Disk is {used_percent:.1f}% full (threshold: {limit:.1f}%). "
            f"Free space: {(free or 0) / GB:.2f} GB. {advice}"
        ),
        details={
            "used_percent": round(used_percent, 2),
            "available_bytes": free,
            "threshold": limit,
        },
    )


def disk_forecast_condition(
    node_name: str, forecast: Mapping[str, Any] | None, thresholds: ThresholdTable
) -> AlertCondition | None:
    """Days-until-full rule on a forecast from ``analytics.capacity``; None when far enough."""
    if not forecast or forecast.get("status") != "filling":
        return None
    days = forecast.get("days_until_full")
    hit = thresholds["disk_forecast"].breach(days)
    if hit is None or days is None:
        return None
    severity, limit = hit
    rate_gb = (forecast.get("growth_rate_bytes_per_day") or 0.0) / GB
    low, high = forecast.get("days_until_full_low"), forecast.get("days_until_full_high")
    range_text = ""
    if low is not None:
        range_text = (
            f" (likely {low:.1f}–{high:.1f} days)"
            if high is not None
            else f" (at least {low:.1f} days)"
        )
    title, advice = _FORECAST_TEXT[severity]
    return AlertCondition(
        node_name=node_name,
        kind="disk_forecast",
        key="disk_forecast",
        severity=severity,
        title=title.format(node=node_name),
        message=(
            f"Disk will be full in {days:.1f} days{range_text} at {rate_gb:.2f} GB/day "
            f"(threshold: {limit:.0f} days). {advice}"
        ),
        details={
            "days_until_full": days,
            "days_until_full_low": low,
            "days_until_full_high": high,
            "growth_rate_bytes_per_day": forecast.get("growth_rate_bytes_per_day"),
            "threshold": limit,
        },
    )


def storage_conditions(
    node_name: str,
    snapshot: Any,
    forecast: Mapping[str, Any] | None,
    thresholds: ThresholdTable,
) -> list[AlertCondition]:
    """Every storage condition true now: usage first, then forecast (seed order); a value
    inside a threshold's hysteresis band adds a ``hold`` condition instead."""
    out: list[AlertCondition] = []
    usage = disk_usage_condition(node_name, snapshot, thresholds) if snapshot is not None else None
    if usage is not None:
        out.append(usage)
    elif snapshot is not None and thresholds["disk_usage"].holds(_get(snapshot, "used_percent")):
        out.append(AlertCondition.holding(node_name, "disk_usage", "disk_usage"))
    fc = disk_forecast_condition(node_name, forecast, thresholds)
    if fc is not None:
        out.append(fc)
    elif (
        forecast
        and forecast.get("status") == "filling"
        and thresholds["disk_forecast"].holds(forecast.get("days_until_full"))
    ):
        out.append(AlertCondition.holding(node_name, "disk_forecast", "disk_forecast"))
    return out


def storage_alerts_payload(conditions: list[AlertCondition]) -> list[dict[str, str]]:
    """The seed's ``storage_alerts`` list: ``[{"severity", "title", "message"}]`` (conditions
    past their threshold; a value inside the hysteresis band is not one)."""
    return [
        {"severity": c.severity, "title": c.title, "message": c.message}
        for c in conditions
        if c.kind in STORAGE_KINDS and not c.hold
    ]
