"""Latency alert rules (the seed's "latency alerting", missing there), pure.

| condition                               | severity | threshold (setting)  |
|-----------------------------------------|----------|----------------------|
| p99 of the last hour > critical         | critical | LATENCY_CRITICAL_MS  |
| p99 of the last hour > warning          | warning  | LATENCY_WARNING_MS   |

Per node and category (get, put, audit, repair); one alert per category, key
``latency:<category>``, kind ``latency``. A category needs at least ``min_operations``
measured operations in the hour: with a handful of transfers the p99 is simply the slowest
one, and one slow client must not page anyone.

Example: "High GET Latency on My-Node" / "p99 latency over the last hour is 6.2 s
(threshold: 5.0 s) across 1,234 operations."
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storj_monitor.model import CATEGORIES, CATEGORY_LABELS, AlertCondition
from storj_monitor.thresholds import Threshold

#: Alert kinds these rules own (the engine's reconcile scope).
LATENCY_KINDS = frozenset({"latency"})
#: Fewest measured operations in the hour before a category's p99 can alert.
MIN_OPERATIONS = 20


def seconds_text(ms: float) -> str:
    """``6234.0 -> "6.2 s"``, ``850.0 -> "850 ms"`` (durations in messages)."""
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms"


def latency_condition(
    node_name: str,
    category: str,
    stats: Mapping[str, Any],
    *,
    warning_ms: float,
    critical_ms: float,
    min_operations: int = MIN_OPERATIONS,
    hysteresis_ms: float = 0.0,
) -> AlertCondition | None:
    """The rule for one category's last-hour statistics (``analytics.latency`` shape:
    ``count``, ``p99`` ms); None when fine or when too few operations were measured; a
    ``hold`` condition when p99 is within ``hysteresis_ms`` below the warning threshold."""
    count = int(stats.get("count") or 0)
    p99 = stats.get("p99")
    if p99 is None or count < max(1, min_operations):
        return None
    t = Threshold(
        "latency", "p99 latency", "ms", warning_ms, critical_ms, "above", None, hysteresis_ms
    )
    hit = t.breach(p99)
    if hit is None:
        held = t.holds(p99)
        return AlertCondition.holding(node_name, "latency", f"latency:{category}") if held else None
    severity, threshold = hit
    word = "Critical" if severity == "critical" else "High"
    label = CATEGORY_LABELS.get(category, category.upper())
    message = (
        f"p99 latency over the last hour is {seconds_text(p99)} "
        f"(threshold: {seconds_text(threshold)}) across {count:,} operations."
    )
    if severity == "critical":
        message += " Clients are likely losing races for pieces: check disk and network load."
    return AlertCondition(
        node_name=node_name,
        kind="latency",
        key=f"latency:{category}",
        severity=severity,
        title=f"{word} {label} Latency on {node_name}",
        message=message,
        details={
            "category": category,
            "p99_ms": round(float(p99), 2),
            "p95_ms": stats.get("p95"),
            "p50_ms": stats.get("p50"),
            "count": count,
            "threshold_ms": threshold,
            "window_hours": 1,
        },
    )


def latency_conditions(
    node_name: str,
    statistics: Mapping[str, Mapping[str, Any]],
    *,
    warning_ms: float,
    critical_ms: float,
    min_operations: int = MIN_OPERATIONS,
    hysteresis_ms: float = 0.0,
) -> list[AlertCondition]:
    """Every category's condition from one node's last-hour ``statistics``."""
    out = []
    for category in CATEGORIES:
        stats = statistics.get(category)
        if not stats:
            continue
        cond = latency_condition(
            node_name,
            category,
            stats,
            warning_ms=warning_ms,
            critical_ms=critical_ms,
            min_operations=min_operations,
            hysteresis_ms=hysteresis_ms,
        )
        if cond is not None:
            out.append(cond)
    return out


__all__ = [
    "CATEGORY_LABELS",
    "LATENCY_KINDS",
    "MIN_OPERATIONS",
    "latency_condition",
    "latency_conditions",
    "seconds_text",
]
