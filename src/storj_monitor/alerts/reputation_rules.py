"""Reputation alert rules, pure: per-satellite scores in, conditions out.

They fire *before* the satellites act (disqualification below 96 % audit score, suspension
below 60 % suspension or online score):

Limits are the rows of the :class:`~storj_monitor.thresholds.ThresholdTable` of the same name:

| score       | warning below (setting)          | critical below (setting)         |
|-------------|----------------------------------|----------------------------------|
| audit       | 98 (AUDIT_SCORE_WARNING)         | 96.5 (AUDIT_SCORE_CRITICAL)      |
| suspension  | 80 (SUSPENSION_SCORE_WARNING)    | 65 (SUSPENSION_SCORE_CRITICAL)   |
| online      | 80 (ONLINE_SCORE_WARNING)        | 65 (ONLINE_SCORE_CRITICAL)       |

A disqualified or suspended flag from the node is critical. Keys carry the satellite ID so
each satellite's alert opens and resolves on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from storj_monitor.analytics.reputation import audits_until_disqualification
from storj_monitor.model import AlertCondition, SatelliteScore
from storj_monitor.thresholds import ThresholdTable

REPUTATION_KINDS = frozenset(
    {"audit_score", "suspension_score", "online_score", "disqualified", "suspended"}
)


def _sat_label(score: SatelliteScore) -> str:
    return score.satellite_name or score.satellite_id[:12]


def score_conditions(score: SatelliteScore, thresholds: ThresholdTable) -> list[AlertCondition]:
    """Conditions of one satellite's scores and flags."""
    out: list[AlertCondition] = []
    node = score.node_name
    sat = _sat_label(score)
    if score.disqualified:
        out.append(
            AlertCondition(
                node_name=node,
                kind="disqualified",
                key=f"disqualified:{score.satellite_id}",
                severity="critical",
                title=f"Node Disqualified on {sat}",
                message=f"{node} is disqualified on satellite {sat}. The held amount is lost for this satellite.",
                details={"satellite_id": score.satellite_id},
            )
        )
    if score.suspended:
        out.append(
            AlertCondition(
                node_name=node,
                kind="suspended",
                key=f"suspended:{score.satellite_id}",
                severity="critical",
                title=f"Node Suspended on {sat}",
                message=f"{node} is suspended on satellite {sat}: no new data until the scores recover.",
                details={"satellite_id": score.satellite_id},
            )
        )
    for kind in ("audit_score", "suspension_score", "online_score"):
        value: float | None = getattr(score, kind)
        t = thresholds[kind]
        hit = t.breach(value)
        if hit is None or value is None:
            if t.holds(value):
                out.append(AlertCondition.holding(node, kind, f"{kind}:{score.satellite_id}"))
            continue
        severity, threshold = hit
        action = "disqualifies" if kind == "audit_score" else "suspends"
        message = (
            f"{t.label} on {sat} is {value:.2f}% (threshold: {threshold:.1f}%; the satellite "
            f"{action} below {t.network_limit:g}%)."
        )
        details: dict[str, Any] = {
            "satellite_id": score.satellite_id,
            "score": value,
            "threshold": threshold,
        }
        if kind == "audit_score":
            left = audits_until_disqualification(value)
            details["failed_audits_until_disqualification"] = left
            message += f" {left} more failed audit(s) would disqualify the node."
        title_word = "Critical" if severity == "critical" else "Low"
        out.append(
            AlertCondition(
                node_name=node,
                kind=kind,
                key=f"{kind}:{score.satellite_id}",
                severity=severity,
                title=f"{title_word} {t.label} on {node} ({sat})",
                message=message,
                details=details,
            )
        )
    return out


def reputation_conditions(
    scores: Iterable[SatelliteScore], thresholds: ThresholdTable
) -> list[AlertCondition]:
    """Conditions over every satellite of a node."""
    out: list[AlertCondition] = []
    for score in scores:
        out.extend(score_conditions(score, thresholds))
    return out
