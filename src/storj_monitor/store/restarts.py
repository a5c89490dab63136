"""When a node started, from its stored start-up log records (``log_records``, kind
``startup``: "Configuration loaded", "Node ... started", "... server started on ...")."""

from __future__ import annotations

import sqlite3


def startup_times(conn: sqlite3.Connection, node_name: str, since: float) -> list[float]:
    """Log times (UTC unix seconds) of the node's start-up lines since ``since``, oldest
    first (the index on node, kind, time serves it)."""
    rows = conn.execute(
        "SELECT timestamp FROM log_records WHERE node_name = ? AND kind = 'startup' "
        "AND timestamp >= ? ORDER BY timestamp",
        (node_name, since),
    ).fetchall()
    return [float(r[0]) for r in rows]
