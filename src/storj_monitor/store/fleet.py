"""Grouped reads for the fleet view and node identity: one query per field for all nodes.

- :func:`node_operation_counts`: piece operations per node, action and status over a window,
  from the rollup tables (the same segments as :mod:`storj_monitor.store.traffic`);
- :func:`log_identity`: per node, the newest ``Node <id> started`` line (node id, when) and the
  newest ``version`` record naming a version (running version, minimum allowed, outdated).

Plain ``fn(conn, ...)`` functions; times are UTC unix seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from storj_monitor.store.traffic import rollup_segments


def _in(names: Sequence[str]) -> str:
    return ",".join("?" * len(names))


def node_operation_counts(
    conn: sqlite3.Connection, node_names: Sequence[str], start: float, end: float
) -> dict[str, list[tuple[str, str, int]]]:
    """``{node: [(action, status, count), ...]}`` of operations in ``[start, end]``."""
    out: dict[str, dict[tuple[str, str], int]] = {}
    names = list(node_names)
    if not names:
        return {}
    for table, s, e in rollup_segments(start, end):
        for node, action, status, n in conn.execute(
            f"SELECT node_name, action, status, SUM(count) FROM {table} "
            f"WHERE node_name IN ({_in(names)}) AND bucket_start >= ? AND bucket_start < ? "
            "GROUP BY node_name, action, status",
            (*names, s, e),
        ):
            acc = out.setdefault(node, {})
            acc[(action, status)] = acc.get((action, status), 0) + int(n)
    return {node: [(a, s, n) for (a, s), n in acc.items()] for node, acc in out.items()}


def _fields(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def log_identity(conn: sqlite3.Connection, node_names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per node with such lines: ``{"node_id", "started_at", "version", "allowed_version",
    "outdated", "version_at"}`` from its log records (any of them may be None).

    ``outdated`` is True after a ``version not allowed/outdated`` or ``outdated software
    version`` line, False after ``Running on allowed version.``, None otherwise.
    """
    names = list(node_names)
    if not names:
        return {}
    out: dict[str, dict[str, Any]] = {}
    # SQLite returns the bare columns of the row holding MAX(timestamp)
    for node, ts, fields in conn.execute(
        "SELECT node_name, MAX(timestamp), fields FROM log_records "
        f"WHERE kind = 'startup' AND node_name IN ({_in(names)}) "
        "AND message LIKE 'Node % started' GROUP BY node_name",
        names,
    ):
        out[node] = {"node_id": _text(_fields(fields).get("node_id")), "started_at": float(ts)}
    for node, ts, message, fields in conn.execute(
        "SELECT node_name, MAX(timestamp), message, fields FROM log_records "
        f"WHERE kind = 'version' AND node_name IN ({_in(names)}) "
        "AND (fields LIKE '%\"version\"%' OR fields LIKE '%\"current_version\"%') "
        "GROUP BY node_name",
        names,
    ):
        f = _fields(fields)
        low = message.lower()
        outdated = True if ("outdated" in low or "not allowed" in low) else None
        if message.startswith("Running on allowed version"):
            outdated = False
        item = out.setdefault(node, {"node_id": None, "started_at": None})
        item.update(
            version=_text(f.get("current_version")) or _text(f.get("version")),
            allowed_version=_text(f.get("minimum_allowed_version"))
            or _text(f.get("minimum_version")),
            outdated=outdated,
            version_at=float(ts),
        )
    return out
