"""Reads and retention of the rollup tables written by :mod:`storj_monitor.store.rollups`.

Times are UTC unix seconds; see that module for the columns and their units.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storj_monitor.store.rollups import (
    HOUR,
    KEY_COLUMNS,
    LATENCY_TABLES,
    MINUTE,
    TABLES,
    VALUE_COLUMNS,
)

# --- reads ------------------------------------------------------------------------------


@dataclass(slots=True)
class RollupRow:
    """One rollup row as read back (see the module docstring for units)."""

    node_name: str
    bucket_start: float
    satellite_id: str
    action: str
    status: str
    error_category: str
    count: int
    bytes: int
    duration_count: int
    duration_sum_ms: float
    duration_min_ms: float | None
    duration_max_ms: float | None
    precise_count: int
    arrival_count: int
    log_seconds_count: int
    field_count: int
    log_millis_count: int


def read_rollups(
    conn: sqlite3.Connection,
    table: str,
    node_names: Sequence[str],
    start: float,
    end: float,
) -> list[RollupRow]:
    """Rows of ``table`` with ``start <= bucket_start < end`` for ``node_names`` (empty: all)."""
    if table not in TABLES.values():
        raise ValueError(f"unknown rollup table {table!r}")
    cols = ", ".join((*KEY_COLUMNS, *VALUE_COLUMNS))
    sql = f"SELECT {cols} FROM {table} WHERE bucket_start >= ? AND bucket_start < ?"
    params: list[Any] = [start, end]
    if node_names:
        sql += f" AND node_name IN ({', '.join('?' * len(node_names))})"
        params.extend(node_names)
    return [RollupRow(*r) for r in conn.execute(sql, params)]


def rollup_count(
    conn: sqlite3.Connection, table: str, node_names: Sequence[str], start: float, end: float
) -> int:
    """Operations counted in ``table`` for ``start <= bucket_start < end``."""
    if table not in TABLES.values():
        raise ValueError(f"unknown rollup table {table!r}")
    sql = (
        f"SELECT COALESCE(SUM(count), 0) FROM {table} WHERE bucket_start >= ? AND bucket_start < ?"
    )
    params: list[Any] = [start, end]
    if node_names:
        sql += f" AND node_name IN ({', '.join('?' * len(node_names))})"
        params.extend(node_names)
    return int(conn.execute(sql, params).fetchone()[0])


def distinct_nodes(conn: sqlite3.Connection, table: str = "rollups_hour") -> list[str]:
    """Node names present in a rollup or latency table, sorted.

    A loose index scan on the primary key (one seek per node), not a scan of every row.
    """
    if table not in (*TABLES.values(), *LATENCY_TABLES.values()):
        raise ValueError(f"unknown rollup table {table!r}")
    rows = conn.execute(
        f"""WITH RECURSIVE n(name) AS (
            SELECT MIN(node_name) FROM {table}
            UNION ALL
            SELECT (SELECT MIN(node_name) FROM {table} WHERE node_name > n.name)
            FROM n WHERE n.name IS NOT NULL
        ) SELECT name FROM n WHERE name IS NOT NULL"""
    ).fetchall()
    return [r[0] for r in rows]


# --- retention --------------------------------------------------------------------------


def compact_rollups(
    conn: sqlite3.Connection,
    now: float,
    minute_retention_days: float,
    hour_retention_days: float,
) -> tuple[int, int]:
    """Delete minute rows (rollups and latency histograms) older than
    ``minute_retention_days`` and hour rows older than ``hour_retention_days`` (``now`` UTC
    unix seconds); returns (minute rows, hour rows) deleted, both kinds counted.

    Deletes per node so each statement walks the primary key (node_name, bucket_start).
    """
    deleted = [0, 0]
    for which, seconds, days in (
        (0, MINUTE, minute_retention_days),
        (1, HOUR, hour_retention_days),
    ):
        cutoff = now - days * 86400.0
        for table in (TABLES[seconds], LATENCY_TABLES[seconds]):
            for node in distinct_nodes(conn, table):
                cur = conn.execute(
                    f"DELETE FROM {table} WHERE node_name = ? AND bucket_start < ?",
                    (node, cutoff),
                )
                deleted[which] += cur.rowcount
    return deleted[0], deleted[1]


__all__ = ["RollupRow", "compact_rollups", "distinct_nodes", "read_rollups", "rollup_count"]
