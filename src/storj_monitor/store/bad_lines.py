"""The ``bad_lines`` quarantine: log input that could not be stored as what it claims to be.

Two kinds land here, always in the same transaction as the batch (and file offset) they
came with, so the exactly-once rule holds for them too:

* lines the parser rejected (a log time outside the sane window, a negative size):
  ``raw`` is the line's text (at most 4,096 characters);
* rows a write failed on even when written alone: a batch that fails twice is written
  again in halves under savepoints (:func:`isolate`) until the failing rows are alone;
  those are kept here as JSON (the raw line is not carried past the parser, for speed)
  and the rest of the batch is stored.

Times are UTC unix seconds; ``offset`` is the byte where the read (or batch) that held the
line began, the line being at or after it (None when unknown).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BadLine:
    """One quarantined line or row (see the module docstring)."""

    node_name: str
    source: str | None  # the log file's path
    offset: int | None
    raw: str
    reason: str
    created_at: float


_INSERT = (
    "INSERT INTO bad_lines (node_name, source, offset, raw, reason, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def insert_bad_lines(conn: sqlite3.Connection, lines: Sequence[BadLine]) -> None:
    conn.executemany(
        _INSERT, [(b.node_name, b.source, b.offset, b.raw, b.reason, b.created_at) for b in lines]
    )


def count_bad_lines(conn: sqlite3.Connection) -> dict[str, int]:
    """Quarantined lines per node (what /healthz shows)."""
    rows = conn.execute("SELECT node_name, COUNT(*) FROM bad_lines GROUP BY node_name")
    return {node: int(n) for node, n in rows}


def isolate(
    conn: sqlite3.Connection,
    items: Sequence[T],
    write: Callable[[sqlite3.Connection, Sequence[T]], Any],
) -> list[tuple[T, str]]:
    """Write ``items`` with ``write`` inside the caller's transaction, bisecting on failure.

    Each attempt runs under a savepoint; a part that fails is rolled back and written again
    in two halves, until the items that fail on their own are found. Returns those, each
    with the error's text; everything else is written. ``sqlite3.OperationalError`` (locked
    or full database, I/O error) says nothing about the rows, so it is raised, not isolated.
    A batch with k bad rows among n costs about 2·k·log2(n) extra small writes.
    """
    failed: list[tuple[T, str]] = []

    def attempt(part: Sequence[T]) -> None:
        conn.execute("SAVEPOINT isolate")
        try:
            write(conn, part)
        except sqlite3.OperationalError:
            conn.execute("ROLLBACK TO isolate")
            conn.execute("RELEASE isolate")
            raise
        except Exception as exc:
            conn.execute("ROLLBACK TO isolate")
            conn.execute("RELEASE isolate")
            if len(part) == 1:
                failed.append((part[0], f"{type(exc).__name__}: {exc}"[:500]))
                return
            half = len(part) // 2
            attempt(part[:half])
            attempt(part[half:])
            return
        conn.execute("RELEASE isolate")

    if items:
        attempt(items)
    return failed


def quarantine_failing(
    conn: sqlite3.Connection,
    quarantine: list[BadLine],
    origin: tuple[str | None, int | None, float],
    parts: Sequence[
        tuple[
            Sequence[Any],
            Callable[[sqlite3.Connection, Sequence[Any]], Any],
            Callable[[Any], dict[str, Any]],
            str,
        ]
    ],
) -> None:
    """:func:`isolate` each ``(items, write, describe, label)`` part; every item that fails
    alone is stored in ``bad_lines`` as ``describe(item)`` in JSON (reason ``label: error``)
    and appended to ``quarantine``. ``origin``: (file path, offset, time) of the batch."""
    path, offset, when = origin
    failed: list[BadLine] = []
    for items, write, describe, label in parts:
        for item, why in isolate(conn, items, write):
            row = describe(item)
            raw = orjson.dumps(row, default=str).decode()
            node = str(row.get("node_name") or "")
            failed.append(BadLine(node, path, offset, raw, f"{label}: {why}", when))
    if failed:
        insert_bad_lines(conn, failed)
        quarantine += failed


__all__ = [
    "BadLine",
    "count_bad_lines",
    "insert_bad_lines",
    "isolate",
    "quarantine_failing",
]
