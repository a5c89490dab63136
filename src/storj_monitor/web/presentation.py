"""How data reads on the page: status words and colours, decided here and nowhere else.

The store returns rows (:func:`storj_monitor.store.snapshots.reputation_rows`); the threshold
table (:mod:`storj_monitor.thresholds`) says where the limits are; this module turns both into
the ``reputation_data`` payload (its shape is the protocol's, docs/protocol.md): a status word
per score (ok | warning | critical | unknown), the overall status, their colours and the
thresholds used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from storj_monitor.analytics.reputation import audits_until_disqualification
from storj_monitor.model import iso_utc
from storj_monitor.settings import Settings
from storj_monitor.thresholds import Level, ThresholdTable

STATUS_COLORS: dict[str, str] = {
    "ok": "#2e7d32",
    "warning": "#f9a825",
    "critical": "#c62828",
    "unknown": "#9e9e9e",
}
_ORDER = {"critical": 3, "warning": 2, "ok": 1, "unknown": 0}
#: Score kinds of the reputation payload -> their threshold table rows.
SCORES = {"audit": "audit_score", "suspension": "suspension_score", "online": "online_score"}


def worst(statuses: Iterable[Level]) -> Level:
    """The most severe of several statuses (unknown only when all are unknown)."""
    return max(statuses, key=lambda s: _ORDER[s], default="unknown")


def reputation_stale_after(settings: Settings) -> float:
    """Seconds after which a score row counts as stale (scores change every few hours)."""
    return max(3 * float(settings.node_api_poll_interval), 5 * 3600.0)


def reputation_payload(
    rows: Iterable[Mapping[str, Any]],
    thresholds: ThresholdTable,
    now: float,
    *,
    stale_after: float,
) -> list[dict[str, Any]]:
    """Per node per satellite: scores (percent), flags, failed audits the node can still
    survive before 96 %, a status per score with its colour, the thresholds used, ``stale``."""
    limits = {
        kind: {
            "warning": thresholds[row].warning,
            "critical": thresholds[row].critical,
            "network_limit": thresholds[row].network_limit,
        }
        for kind, row in SCORES.items()
    }
    out = []
    for row in rows:
        statuses = {kind: thresholds[name].level(row[name]) for kind, name in SCORES.items()}
        flags = bool(row["disqualified"]) or bool(row["suspended"])
        overall: Level = "critical" if flags else worst(statuses.values())
        out.append(
            {
                "node_name": row["node_name"],
                "satellite_id": row["satellite_id"],
                "satellite_name": row["satellite_name"],
                "timestamp": iso_utc(row["timestamp"]),
                "audit_score": row["audit_score"],
                "suspension_score": row["suspension_score"],
                "online_score": row["online_score"],
                "disqualified": bool(row["disqualified"]),
                "suspended": bool(row["suspended"]),
                "vetted": None if row["vetted"] is None else bool(row["vetted"]),
                "total_audits": row["total_audits"],
                "successful_audits": row["successful_audits"],
                "failed_audits_until_disqualification": audits_until_disqualification(
                    row["audit_score"]
                ),
                "audit_status": statuses["audit"],
                "suspension_status": statuses["suspension"],
                "online_status": statuses["online"],
                "status": overall,
                "status_color": STATUS_COLORS[overall],
                "colors": {k: STATUS_COLORS[v] for k, v in statuses.items()},
                "thresholds": limits,
                "source": row["source"],
                "stale": now - row["timestamp"] > stale_after,
            }
        )
    return out
