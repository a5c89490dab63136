"""Reads behind the maintenance and disk cards: the log records of background jobs
(filewalkers, garbage collection, trash, hashstore compaction) and the latest per-satellite
storage rows. Plain ``fn(conn, ...)`` functions; times UTC unix seconds, sizes bytes.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from storj_monitor.analytics.maintenance import MESSAGES
from storj_monitor.model import LogRecord

#: ``log_records.kind`` values that ``analytics.maintenance.runs_from_records`` reads (the
#: start-up lines end runs a restart interrupted).
MAINTENANCE_KINDS = (
    "used_space_filewalker",
    "gc_filewalker",
    "trash",
    "retain",
    "hashstore_compaction",
    "startup",
)
_MESSAGES = sorted(MESSAGES)


def maintenance_records(
    conn: sqlite3.Connection, node_name: str, since: float, until: float | None = None
) -> list[LogRecord]:
    """The node's background-job records in ``[since, until]`` (only the lines that start,
    end or add figures to a run), in time (then insert) order."""
    kinds = ",".join("?" * len(MAINTENANCE_KINDS))
    messages = ",".join("?" * len(_MESSAGES))
    sql = (
        "SELECT timestamp, kind, level, message, satellite_id, duration_ms, fields "
        f"FROM log_records WHERE node_name=? AND kind IN ({kinds}) AND timestamp>=? "
        f"AND message IN ({messages})"
    )
    params: list[Any] = [node_name, *MAINTENANCE_KINDS, since, *_MESSAGES]
    if until is not None:
        sql += " AND timestamp<=?"
        params.append(until)
    out = []
    for ts, kind, level, message, sat, duration, fields in conn.execute(
        sql + " ORDER BY timestamp, id", params
    ):
        try:
            parsed = orjson.loads(fields) if fields else {}
        except orjson.JSONDecodeError:
            parsed = {}
        out.append(
            LogRecord(
                timestamp=float(ts),
                node_name=node_name,
                kind=kind,
                level=level,
                message=message,
                satellite_id=sat,
                duration_ms=duration,
                fields=parsed if isinstance(parsed, dict) else {},
            )
        )
    return out


def satellite_names(conn: sqlite3.Connection, node_name: str) -> dict[str, str]:
    """Satellite id -> name as the node API last told it (reputation or storage rows)."""
    rows = conn.execute(
        "SELECT satellite_id, satellite_name FROM reputation_history WHERE node_name=? "
        "AND satellite_name IS NOT NULL GROUP BY satellite_id "
        "UNION SELECT satellite_id, satellite_name FROM satellite_storage WHERE node_name=? "
        "AND satellite_name IS NOT NULL GROUP BY satellite_id",
        (node_name, node_name),
    ).fetchall()
    return {sid: name for sid, name in rows}


_SAT_KEYS = (
    "timestamp", "satellite_id", "satellite_name", "average_usage_bytes",
    "storage_summary_byte_hours", "egress_bytes", "ingress_bytes",
)  # fmt: skip


def latest_satellite_storage(conn: sqlite3.Connection, node_name: str) -> list[dict[str, Any]]:
    """The newest ``satellite_storage`` row of every satellite of a node (unix times)."""
    rows = conn.execute(
        "SELECT s.timestamp, s.satellite_id, s.satellite_name, s.average_usage_bytes, "
        "s.storage_summary_byte_hours, s.egress_bytes, s.ingress_bytes FROM satellite_storage s "
        "JOIN (SELECT satellite_id, MAX(timestamp) AS ts FROM satellite_storage WHERE node_name=? "
        "GROUP BY satellite_id) m ON m.satellite_id=s.satellite_id AND m.ts=s.timestamp "
        "WHERE s.node_name=? GROUP BY s.satellite_id ORDER BY s.satellite_name, s.satellite_id",
        (node_name, node_name),
    ).fetchall()
    return [dict(zip(_SAT_KEYS, r, strict=True)) for r in rows]
