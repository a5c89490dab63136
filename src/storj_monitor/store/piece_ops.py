"""The compact table of raw piece operations, and the ``events`` view over it.

Why: the first schema stored every operation as text (the 51-character satellite id, the
52-character piece id, the node's name, action, status...) plus two time indexes, about 240
bytes per operation: 28 GB for a week of a node at 200 operations/s, on the disk the node
itself needs. ``piece_ops`` stores the same facts in about a third of that:

* node, action, status, satellite, error category and duration source are small integer ids
  of ``names`` (one row per distinct text; a few dozen in all);
* the remote IPv4 address is a 4-byte integer (``address - 2**31``), IPv6 stays text;
* the duration is integer microseconds (``duration_us``), the time UTC unix seconds (REAL);
* the piece id is kept only where something shows it: downloads (the most requested
  pieces), failures and cancellations, and operations of :data:`SLOW_MS` or more (the slow
  operations list); a fast successful upload's id is never read, so it is not stored;
* the table is ``WITHOUT ROWID`` keyed on ``(node, ts, seq)``, so the per-node time index
  IS the table; ``seq`` (from ``counters``) only makes the key unique.

``events`` is a view with the old columns (plus ``id`` = ``seq``), so every query that
reads raw events is unchanged; writes go through :func:`insert_rows` only.

Names are read from the table on every write call (a few dozen rows, microseconds), never
cached across transactions: a rolled-back batch can never leave an id that does not exist.
"""

from __future__ import annotations

import ipaddress
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

#: Operations at least this slow (ms) keep their piece id; the partial index
#: ``idx_piece_ops_slow`` holds exactly them. (Past the detail window, EVENTS_DETAIL_HOURS,
#: only operations slower than LATENCY_WARNING_MS are kept: what the slow list shows.)
SLOW_MS = 1000
SLOW_US = SLOW_MS * 1000
#: Actions whose piece ids feed the most-requested-pieces list.
DOWNLOAD_ACTIONS = frozenset({"GET", "GET_AUDIT", "GET_REPAIR"})
_IP_BIAS = 1 << 31  # IPv4 as a signed 32-bit integer: 4 bytes in the record, not 6
#: Addresses whose code is remembered (about 3 MB); a full cache starts over.
IP_CACHE_MAX = 20_000

_IP4 = "(p.ip + 2147483648)"
EVENTS_VIEW = f"""
CREATE VIEW IF NOT EXISTS events AS SELECT
    p.seq AS id,
    p.ts AS timestamp,
    n.name AS node_name,
    a.name AS action,
    s.name AS status,
    p.size AS size,
    sat.name AS satellite_id,
    p.piece AS piece_id,
    CASE WHEN typeof(p.ip) = 'integer'
        THEN ({_IP4} >> 24) || '.' || (({_IP4} >> 16) & 255) || '.'
             || (({_IP4} >> 8) & 255) || '.' || ({_IP4} & 255)
        ELSE p.ip END AS remote_ip,
    p.error AS error,
    cat.name AS error_category,
    p.duration_us / 1000.0 AS duration_ms,
    src.name AS duration_source
FROM piece_ops p
JOIN names n ON n.id = p.node
JOIN names a ON a.id = p.action
JOIN names s ON s.id = p.status
LEFT JOIN names sat ON sat.id = p.satellite
LEFT JOIN names cat ON cat.id = p.category
LEFT JOIN names src ON src.id = p.source
"""

SLOW_INDEX = (
    "CREATE INDEX IF NOT EXISTS idx_piece_ops_slow "
    f"ON piece_ops(node, duration_us, ts) WHERE duration_us >= {SLOW_US}"
)

TABLES = f"""
CREATE TABLE IF NOT EXISTS names (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS piece_ops (
    node INTEGER NOT NULL,        -- names.id of the node's name
    ts REAL NOT NULL,             -- finish line time, UTC unix seconds
    seq INTEGER NOT NULL,         -- counters 'piece_ops': unique, increasing
    action INTEGER NOT NULL,      -- names.id: GET, PUT, GET_AUDIT, ...
    status INTEGER NOT NULL,      -- names.id: success | failed | canceled
    size INTEGER,                 -- bytes
    satellite INTEGER,            -- names.id of the satellite id
    piece TEXT,                   -- only where shown (see the module docstring)
    ip,                           -- IPv4: integer (address - 2**31), IPv6: text
    error TEXT,                   -- the node's message
    category INTEGER,             -- names.id of the error category
    duration_us INTEGER,          -- NULL when no start line was paired
    source INTEGER,               -- names.id: precise | arrival | log_seconds | log_millis | field
    PRIMARY KEY (node, ts, seq)
) WITHOUT ROWID;
{SLOW_INDEX};
INSERT OR IGNORE INTO counters(name, value) VALUES ('piece_ops', 1)
"""


def nodes_named(count: int) -> str:
    """SQL: ``p.node`` (``piece_ops p``) is one of ``count`` node names given as
    parameters (names become ids here, so the key's node column can be searched)."""
    return f"p.node IN (SELECT id FROM names WHERE name IN ({', '.join('?' * count)}))"


def name_ids(conn: sqlite3.Connection, wanted: Iterable[str]) -> dict[str, int]:
    """Every name's id, creating the ``wanted`` ones that are missing."""
    ids = {name: int(i) for i, name in conn.execute("SELECT id, name FROM names")}
    missing = {w for w in wanted if w not in ids}
    if missing:
        conn.executemany("INSERT OR IGNORE INTO names(name) VALUES (?)", [(m,) for m in missing])
        ids = {name: int(i) for i, name in conn.execute("SELECT id, name FROM names")}
    return ids


def ip_code(ip: str | None, cache: dict[str, Any]) -> Any:
    """IPv4 ``a.b.c.d`` -> a 32-bit signed integer; anything else (IPv6) stays text."""
    if ip is None:
        return None
    code = cache.get(ip)
    if code is None:
        try:
            code = int(ipaddress.IPv4Address(ip)) - _IP_BIAS
        except ValueError:
            code = ip
        if len(cache) >= IP_CACHE_MAX:
            cache.clear()
        cache[ip] = code
    return code


def ip_text(code: Any) -> str | None:
    """The inverse of :func:`ip_code`."""
    if code is None or isinstance(code, str):
        return code
    return str(ipaddress.IPv4Address(int(code) + _IP_BIAS))


_INSERT = "INSERT INTO piece_ops VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: IPv4 text -> code, across batches (bounded in :func:`ip_code`); only pure conversions.
_ip_cache: dict[str, Any] = {}


def insert_rows(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Insert event rows in ``store.events`` column order (timestamp, node_name, action,
    status, size, satellite_id, piece_id, remote_ip, error, error_category, duration_ms,
    duration_source) as compact ``piece_ops`` rows."""
    if not rows:
        return
    (seq,) = conn.execute(
        "UPDATE counters SET value = value + ? WHERE name = 'piece_ops' RETURNING value - ?",
        (len(rows), len(rows)),
    ).fetchone()
    ids: dict[str | None, int | None] = {}
    ids.update(name_ids(conn, ()))
    try:  # the names are nearly always known: no pass over the batch to collect them
        out = _encode(rows, ids, seq)
    except KeyError:
        ids.update(name_ids(conn, _names_in(rows)))
        out = _encode(rows, ids, seq)
    conn.executemany(_INSERT, out)


def _names_in(rows: Sequence[Sequence[Any]]) -> set[str]:
    wanted: set[str] = set()
    for r in rows:
        wanted.update(x for x in (r[1], r[2], r[3], r[5], r[9], r[11]) if x is not None)
    return wanted


def _encode(
    rows: Sequence[Sequence[Any]], ids: dict[str | None, int | None], seq: int
) -> list[tuple[Any, ...]]:
    """``piece_ops`` rows; raises KeyError for a name without an id (``ids[None]`` is None)."""
    ids[None] = None
    cache = _ip_cache
    out: list[tuple[Any, ...]] = []
    append = out.append
    downloads = DOWNLOAD_ACTIONS
    for ts, node, action, status, size, sat, piece, ip, error, cat, dur, source in rows:
        if piece is not None and status == "success" and action not in downloads and (
            dur is None or dur < SLOW_MS
        ):
            piece = None  # a fast successful upload: nothing shows its id
        code = cache.get(ip) if ip is not None else None  # ip_code's lookup, inlined: hot
        if code is None and ip is not None:
            code = ip_code(ip, cache)
        append((
            ids[node], ts, seq, ids[action], ids[status], size, ids[sat], piece, code, error,
            ids[cat], None if dur is None else round(dur * 1000.0), ids[source],
        ))  # fmt: skip
        seq += 1
    return out


def delete_before(conn: sqlite3.Connection, cutoff: float, limit: int) -> int:
    """Delete at most ``limit`` operations older than ``cutoff`` (UTC unix seconds),
    walking each node's key range from its start; returns the count (0: nothing older is
    left; a chunk may stop short of ``limit`` at a timestamp boundary)."""
    return _each_node(conn, None, cutoff, limit, "")


def node_ids(conn: sqlite3.Connection) -> list[int]:
    """Ids that may key raw rows (every name: a few dozen; the others hold no rows)."""
    return [int(i) for (i,) in conn.execute("SELECT id FROM names ORDER BY id")]


def thin_node(
    conn: sqlite3.Connection, node: int, since: float | None, cutoff: float, limit: int,
    keep_ms: float,
) -> tuple[int, float]:  # fmt: skip
    """Delete at most about ``limit`` of one node's operations with ``since <= ts <
    cutoff`` faster than ``keep_ms`` (or without a duration): past the detail window only
    the slow-operations list reads raw rows. Returns the count and the time reached:
    ``cutoff`` when done, else where the next chunk starts (so no chunk walks again over
    the slow rows an earlier one kept)."""
    keep_us = round(keep_ms * 1000.0)
    fast = f"AND (duration_us IS NULL OR duration_us < {keep_us}) "
    return _delete_range(conn, node, since, cutoff, limit, fast)


def _each_node(
    conn: sqlite3.Connection, since: float | None, cutoff: float, limit: int, extra: str
) -> int:
    deleted = 0
    for node in node_ids(conn):
        if deleted >= limit:
            break
        deleted += _delete_range(conn, node, since, cutoff, limit - deleted, extra)[0]
    return deleted


def _delete_range(
    conn: sqlite3.Connection, node: int, since: float | None, cutoff: float, limit: int,
    extra: str,
) -> tuple[int, float]:  # fmt: skip
    """Delete one node's rows in ``[since, cutoff)`` matching ``extra``, about ``limit`` of
    them when the range holds more (a chunk ends at a whole timestamp); the count and the
    time up to which the range is done."""
    low = "" if since is None else "AND ts >= ? "
    args: list[Any] = [node] + ([] if since is None else [since])
    where = f"node = ? {low}AND ts < ? {extra}"
    row = conn.execute(
        f"SELECT ts FROM piece_ops WHERE {where}ORDER BY ts LIMIT 1 OFFSET ?",
        [*args, cutoff, limit],
    ).fetchone()
    end = cutoff if row is None else float(row[0])
    n = int(conn.execute(f"DELETE FROM piece_ops WHERE {where}", [*args, end]).rowcount)
    if n == 0 and row is not None:  # more than ``limit`` rows share one timestamp
        n = int(
            conn.execute(
                f"DELETE FROM piece_ops WHERE node = ? {low}AND ts = ? {extra}", [*args, end]
            ).rowcount
        )
    return n, end


def migrate_from_events(conn: sqlite3.Connection) -> None:
    """Schema v5: move the rows of the old ``events`` table into ``piece_ops`` (created
    from :data:`TABLES` by the caller; their ids become ``seq``), drop it and create the
    view in its place."""
    conn.execute(
        "INSERT OR IGNORE INTO names(name) SELECT node_name FROM events UNION "
        "SELECT action FROM events UNION SELECT status FROM events UNION "
        "SELECT satellite_id FROM events WHERE satellite_id IS NOT NULL UNION "
        "SELECT error_category FROM events WHERE error_category IS NOT NULL UNION "
        "SELECT duration_source FROM events WHERE duration_source IS NOT NULL"
    )
    cache: dict[str, Any] = {}
    conn.create_function("storj_ip_code", 1, lambda ip: ip_code(ip, cache), deterministic=True)
    downloads = ", ".join(f"'{a}'" for a in sorted(DOWNLOAD_ACTIONS))
    conn.execute(
        f"""INSERT INTO piece_ops SELECT
            n.id, e.timestamp, e.id, a.id, s.id, e.size, sat.id,
            CASE WHEN e.status = 'success' AND e.action NOT IN ({downloads})
                 AND (e.duration_ms IS NULL OR e.duration_ms < {SLOW_MS}) THEN NULL
                 ELSE e.piece_id END,
            storj_ip_code(e.remote_ip), e.error, cat.id,
            CAST(round(e.duration_ms * 1000) AS INTEGER), src.id
        FROM events e
        JOIN names n ON n.name = e.node_name
        JOIN names a ON a.name = e.action
        JOIN names s ON s.name = e.status
        LEFT JOIN names sat ON sat.name = e.satellite_id
        LEFT JOIN names cat ON cat.name = e.error_category
        LEFT JOIN names src ON src.name = e.duration_source"""
    )
    conn.execute(
        "UPDATE counters SET value = (SELECT COALESCE(MAX(seq), 0) + 1 FROM piece_ops) "
        "WHERE name = 'piece_ops'"
    )
    conn.execute("DROP TABLE events")
    conn.execute(EVENTS_VIEW)
