"""Retention of the long-run history tables (snapshots, scores, payouts, closed alerts).

These tables grow by about one row per node per poll (~105,000 rows per node per year at
the default 5-minute poll), so they are kept for HISTORY_RETENTION_DAYS, not forever.
Open alerts are never deleted, whatever their age. Times are UTC unix seconds.
"""

from __future__ import annotations

import sqlite3

#: Tables whose rows are deleted once their ``timestamp`` is older than the cutoff.
HISTORY_TABLES = (
    "storage_snapshots",
    "satellite_storage",
    "reputation_history",
    "payout_snapshots",
)


def delete_history_before(conn: sqlite3.Connection, cutoff: float, limit: int = 20_000) -> int:
    """Delete at most ``limit`` rows per table older than ``cutoff``, and alerts resolved
    before it; returns how many rows went (a full chunk means: call again)."""
    deleted = 0
    for table in HISTORY_TABLES:
        cur = conn.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE timestamp < ? LIMIT ?)",
            (cutoff, limit),
        )
        deleted += cur.rowcount
    cur = conn.execute(
        "DELETE FROM alerts WHERE id IN "
        "(SELECT id FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ? LIMIT ?)",
        (cutoff, limit),
    )
    return deleted + cur.rowcount
