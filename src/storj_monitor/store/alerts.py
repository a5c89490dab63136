"""Queries of the ``alerts`` table (plain ``fn(conn, ...)``, run through the Store).

Payload shape of :func:`active_alerts` / :func:`recent_alerts`: ``Alert.to_dict()`` (times as
UTC unix seconds, floats) **plus** ``first_seen_iso``, ``last_seen_iso``, ``resolved_at_iso``,
``acknowledged_at_iso`` (ISO 8601 with ``Z``, or None) and ``active`` (not resolved), so a
script can sort on numbers and a page can print the strings.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from storj_monitor.model import Alert
from storj_monitor.model import iso_utc as iso

_COLUMNS = (
    "id, node_name, kind, key, severity, title, message, first_seen, last_seen, "
    "resolved_at, acknowledged_at, details, last_notified_at"
)


def _row_to_alert(row: sqlite3.Row | tuple[Any, ...]) -> Alert:
    details: dict[str, Any] = {}
    if row[11]:
        try:
            loaded = orjson.loads(row[11])
            if isinstance(loaded, dict):
                details = loaded
        except orjson.JSONDecodeError:
            details = {}
    return Alert(
        id=row[0],
        node_name=row[1],
        kind=row[2],
        key=row[3],
        severity=row[4],
        title=row[5],
        message=row[6],
        first_seen=row[7],
        last_seen=row[8],
        resolved_at=row[9],
        acknowledged_at=row[10],
        details=details,
    )


def alert_payload(alert: Alert) -> dict[str, Any]:
    """``Alert.to_dict()`` plus ISO times and ``active``."""
    d = alert.to_dict()
    for key in ("first_seen", "last_seen", "resolved_at", "acknowledged_at"):
        d[f"{key}_iso"] = iso(d[key])
    d["active"] = alert.resolved_at is None
    return d


def insert_alert(conn: sqlite3.Connection, alert: Alert) -> int:
    cur = conn.execute(
        "INSERT INTO alerts (node_name, kind, key, severity, title, message, first_seen, "
        "last_seen, resolved_at, acknowledged_at, details) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            alert.node_name,
            alert.kind,
            alert.key,
            alert.severity,
            alert.title,
            alert.message,
            alert.first_seen,
            alert.last_seen,
            alert.resolved_at,
            alert.acknowledged_at,
            orjson.dumps(alert.details, default=str).decode(),
        ),
    )
    return int(cur.lastrowid or 0)


def update_alert(conn: sqlite3.Connection, alert: Alert) -> None:
    conn.execute(
        "UPDATE alerts SET severity=?, title=?, message=?, last_seen=?, resolved_at=?, "
        "acknowledged_at=?, details=? WHERE id=?",
        (
            alert.severity,
            alert.title,
            alert.message,
            alert.last_seen,
            alert.resolved_at,
            alert.acknowledged_at,
            orjson.dumps(alert.details, default=str).decode(),
            alert.id,
        ),
    )


def load_open_alerts(conn: sqlite3.Connection) -> list[Alert]:
    """Every alert not resolved yet (the engine's state at start)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE resolved_at IS NULL ORDER BY id"
    ).fetchall()
    return [_row_to_alert(r) for r in rows]


def acknowledge_alert(conn: sqlite3.Connection, alert_id: int, now: float) -> bool:
    """Mark an alert seen; False when there is no such alert or it already was."""
    cur = conn.execute(
        "UPDATE alerts SET acknowledged_at=? WHERE id=? AND acknowledged_at IS NULL",
        (now, alert_id),
    )
    return cur.rowcount > 0


def get_alert(conn: sqlite3.Connection, alert_id: int) -> Alert | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE id=?", (alert_id,)).fetchone()
    return _row_to_alert(row) if row else None


def mark_notified(conn: sqlite3.Connection, alert_id: int, now: float) -> None:
    conn.execute("UPDATE alerts SET last_notified_at=? WHERE id=?", (now, alert_id))


def notified_open_alerts(conn: sqlite3.Connection) -> list[tuple[int, str, float]]:
    """(id, severity, last_notified_at) of open alerts that were notified: what a restarted
    notifier must not send again."""
    return [
        (int(r[0]), str(r[1]), float(r[2]))
        for r in conn.execute(
            "SELECT id, severity, last_notified_at FROM alerts "
            "WHERE resolved_at IS NULL AND last_notified_at IS NOT NULL"
        )
    ]


def last_notified(conn: sqlite3.Connection, alert_id: int) -> float | None:
    row = conn.execute("SELECT last_notified_at FROM alerts WHERE id=?", (alert_id,)).fetchone()
    return row[0] if row else None


def _node_filter(node_names: list[str] | None) -> tuple[str, list[Any]]:
    if not node_names:
        return "", []
    marks = ",".join("?" * len(node_names))
    return f" AND node_name IN ({marks})", list(node_names)


def active_alerts(conn: sqlite3.Connection, node_names: list[str] | None) -> list[dict[str, Any]]:
    """Open alerts of these nodes (all nodes when None/empty), critical first, newest first."""
    where, params = _node_filter(node_names)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE resolved_at IS NULL{where} "
        "ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
        "last_seen DESC",
        params,
    ).fetchall()
    return [alert_payload(_row_to_alert(r)) for r in rows]


def recent_alerts(
    conn: sqlite3.Connection, node_names: list[str] | None, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest alerts, open or resolved, newest activity first."""
    where, params = _node_filter(node_names)
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE 1=1{where} "
        "ORDER BY COALESCE(resolved_at, last_seen) DESC, id DESC LIMIT ?",
        [*params, int(limit)],
    ).fetchall()
    return [alert_payload(_row_to_alert(r)) for r in rows]
