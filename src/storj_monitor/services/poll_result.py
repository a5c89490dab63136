"""What one node API poll produced, and the pure conversions from API data to rows.

``PollResult`` is what pollers hand to listeners and publish on bus ``poll``; the functions
turn the client's parsed replies into ``storage_snapshots``, ``reputation_history`` and
``satellite_storage`` rows (no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storj_monitor.model import SatelliteScore, StorageSnapshot
from storj_monitor.nodeapi import NodeSummary, SatelliteDetail


@dataclass
class PollResult:
    """What one poll produced (or, when it failed, the last good data marked stale)."""

    node_name: str
    timestamp: float  # when this poll ran (UTC unix s)
    ok: bool
    api_url: str
    summary: NodeSummary | None = None
    snapshot: StorageSnapshot | None = None
    scores: list[SatelliteScore] = field(default_factory=list)
    forecast: dict[str, Any] | None = None
    storage_alerts: list[dict[str, str]] = field(default_factory=list)  # seed storage_alerts list
    payout: dict[str, Any] | None = None
    error: str | None = None
    stale: bool = False
    last_success: float | None = None


def snapshot_from_summary(node_name: str, summary: NodeSummary, now: float) -> StorageSnapshot:
    """A ``storage_snapshots`` row from the dashboard's normalised disk space."""
    d = summary.disk
    total = d.total_bytes

    def pct(v: int) -> float | None:
        return round(v * 100.0 / total, 4) if total > 0 else None

    return StorageSnapshot(
        timestamp=now,
        node_name=node_name,
        total_bytes=total,
        used_bytes=d.used_bytes,
        available_bytes=d.free_bytes,
        trash_bytes=d.trash_bytes,
        used_percent=pct(d.used_bytes),
        trash_percent=pct(d.trash_bytes),
        available_percent=pct(d.free_bytes),
        source="api",
    )


def scores_from_api(
    node_name: str,
    summary: NodeSummary,
    overview: SatelliteDetail | None,
    details: dict[str, SatelliteDetail],
    now: float,
) -> list[SatelliteScore]:
    """Per satellite: scores from its own detail, else from the overview matched by URL."""
    by_name = {
        s.satellite_name: s for s in (overview.scores if overview else []) if s.satellite_name
    }
    out = []
    for sat in summary.satellites:
        detail = details.get(sat.id)
        sc = detail.scores[0] if detail and detail.scores else by_name.get(sat.url or "")
        out.append(
            SatelliteScore(
                timestamp=now,
                node_name=node_name,
                satellite_id=sat.id,
                satellite_name=(sc.satellite_name if sc and sc.satellite_name else sat.url),
                audit_score=sc.audit if sc else None,
                suspension_score=sc.suspension if sc else None,
                online_score=sc.online if sc else None,
                disqualified=sat.disqualified_at is not None,
                suspended=sat.suspended_at is not None,
                vetted=sat.vetted_at is not None,
                source="api",
            )
        )
    return out


def satellite_storage_rows(
    node_name: str,
    scores: list[SatelliteScore],
    details: dict[str, SatelliteDetail],
    now: float,
) -> list[dict[str, Any]]:
    """``satellite_storage`` rows from the per-satellite details (names from the scores)."""
    names = {s.satellite_id: s.satellite_name for s in scores}
    return [
        {
            "timestamp": now,
            "node_name": node_name,
            "satellite_id": sid,
            "satellite_name": names.get(sid),
            "average_usage_bytes": d.average_usage_bytes,
            "storage_summary_byte_hours": d.storage_summary_byte_hours,
            "egress_bytes": d.egress_bytes,
            "ingress_bytes": d.ingress_bytes,
        }
        for sid, d in details.items()
    ]
