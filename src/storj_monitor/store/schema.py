"""The database schema as an ordered list of migrations.

Each migration runs once, in order, inside a transaction; ``schema_version`` records the
last one applied. Never edit a released migration: append a new one. Existing data is kept.

Time columns are UTC unix seconds (REAL); sizes are bytes; durations milliseconds;
scores percent (0..100).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from storj_monitor.store import piece_ops

log = logging.getLogger(__name__)
Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated statements inside the caller's transaction.

    ``executescript`` would commit first, which breaks a migration's atomicity.
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


#: Sums every aggregate row carries (units: bytes, ms); shared by the four tables below.
_AGGREGATE_SUMS = """
    count INTEGER NOT NULL,            -- operations, with a duration or not
    bytes INTEGER NOT NULL,            -- sum of sizes
    duration_count INTEGER NOT NULL,   -- operations that had a duration
    duration_sum_ms REAL NOT NULL,
    duration_min_ms REAL,
    duration_max_ms REAL,
    precise_count INTEGER NOT NULL DEFAULT 0,      -- durations by source (model.DurationSource)
    arrival_count INTEGER NOT NULL DEFAULT 0,
    log_seconds_count INTEGER NOT NULL DEFAULT 0,  -- whole-second log timestamps (±1 s)
    field_count INTEGER NOT NULL DEFAULT 0,
"""


def _aggregate_tables(conn: sqlite3.Connection) -> None:
    """Per-minute and per-hour aggregates of piece operations (bucket_start: UTC unix seconds).

    ``rollups_*`` (store.rollups): one row per node, bucket, satellite ('' if unknown),
    action, status and error category ('' for successes) — what traffic statistics read.
    ``latency_*``: the same sums per node, bucket and action only, plus the latency
    histogram (sparse counts in fixed log-spaced buckets, analytics.sketch; NULL when no
    operation had a duration), so a percentile over a week is a sum over ~1,000 rows.
    """
    for unit in ("minute", "hour"):
        conn.execute(
            f"""CREATE TABLE IF NOT EXISTS rollups_{unit} (
                node_name TEXT NOT NULL,
                bucket_start REAL NOT NULL,
                satellite_id TEXT NOT NULL,
                action TEXT NOT NULL,
                status TEXT NOT NULL,
                error_category TEXT NOT NULL,
                {_AGGREGATE_SUMS}
                PRIMARY KEY (node_name, bucket_start, satellite_id, action, status, error_category)
            ) WITHOUT ROWID"""
        )
        conn.execute(
            f"""CREATE TABLE IF NOT EXISTS latency_{unit} (
                node_name TEXT NOT NULL,
                bucket_start REAL NOT NULL,
                action TEXT NOT NULL,
                {_AGGREGATE_SUMS}
                hist BLOB,
                PRIMARY KEY (node_name, bucket_start, action)
            ) WITHOUT ROWID"""
        )


def _v1_core(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY,
            timestamp REAL NOT NULL,           -- finish line time, UTC unix seconds
            node_name TEXT NOT NULL,
            action TEXT NOT NULL,              -- GET, PUT, GET_AUDIT, GET_REPAIR, PUT_REPAIR, ...
            status TEXT NOT NULL,              -- success | failed | canceled
            size INTEGER,                      -- bytes
            satellite_id TEXT,
            piece_id TEXT,
            remote_ip TEXT,                    -- IPv4 or IPv6, no port
            error TEXT,                        -- the node's message
            error_category TEXT,               -- short category (file does not exist, timeout, ...)
            duration_ms REAL,                  -- NULL when no start line was paired
            duration_source TEXT               -- precise | arrival | log_seconds | field
        );
        CREATE INDEX IF NOT EXISTS idx_events_node_time ON events(node_name, timestamp);
        CREATE INDEX IF NOT EXISTS idx_events_time ON events(timestamp);
        -- slow operations (store.latency_queries): only durations >= 1 s are indexed
        CREATE INDEX IF NOT EXISTS idx_events_slow ON events(node_name, duration_ms, timestamp)
            WHERE duration_ms >= 1000;

        CREATE TABLE IF NOT EXISTS log_records (
            id INTEGER PRIMARY KEY,
            timestamp REAL NOT NULL,
            node_name TEXT NOT NULL,
            kind TEXT NOT NULL,                -- hashstore_compaction, filewalker, retain, ...
            level TEXT NOT NULL,
            message TEXT NOT NULL,
            satellite_id TEXT,
            duration_ms REAL,
            fields TEXT                        -- JSON object, snake_case keys
        );
        CREATE INDEX IF NOT EXISTS idx_log_records_node_kind_time
            ON log_records(node_name, kind, timestamp);

        CREATE TABLE IF NOT EXISTS log_offsets (
            source TEXT PRIMARY KEY,           -- node name + file fingerprint
            node_name TEXT NOT NULL,
            path TEXT NOT NULL,
            fingerprint TEXT NOT NULL,         -- hash of the file's first bytes
            fingerprint_len INTEGER NOT NULL,  -- how many bytes the fingerprint covers
            offset INTEGER NOT NULL,           -- bytes consumed (always at a line boundary)
            updated_at REAL NOT NULL
        );

        CREATE TABLE IF NOT EXISTS storage_snapshots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            timestamp DATETIME NOT NULL,       -- UTC unix seconds
            node_name TEXT NOT NULL,
            total_bytes INTEGER,
            used_bytes INTEGER,
            available_bytes INTEGER,           -- free space, whatever the node version said
            trash_bytes INTEGER,
            used_percent REAL,
            trash_percent REAL,
            available_percent REAL,
            source TEXT NOT NULL DEFAULT 'api' -- api | log
        );
        CREATE INDEX IF NOT EXISTS idx_storage_node_time ON storage_snapshots(node_name, timestamp);

        CREATE TABLE IF NOT EXISTS satellite_storage (
            id INTEGER PRIMARY KEY,
            timestamp REAL NOT NULL,
            node_name TEXT NOT NULL,
            satellite_id TEXT NOT NULL,
            satellite_name TEXT,
            average_usage_bytes REAL,          -- this month's average bytes stored
            storage_summary_byte_hours REAL,
            egress_bytes INTEGER,              -- this month
            ingress_bytes INTEGER
        );
        CREATE INDEX IF NOT EXISTS idx_sat_storage_node_time ON satellite_storage(node_name, timestamp);

        CREATE TABLE IF NOT EXISTS reputation_history (
            id INTEGER PRIMARY KEY,
            timestamp REAL NOT NULL,
            node_name TEXT NOT NULL,
            satellite_id TEXT NOT NULL,
            satellite_name TEXT,
            audit_score REAL,                  -- percent
            suspension_score REAL,
            online_score REAL,
            disqualified INTEGER NOT NULL DEFAULT 0,
            suspended INTEGER NOT NULL DEFAULT 0,
            vetted INTEGER,
            total_audits INTEGER,
            successful_audits INTEGER,
            source TEXT NOT NULL DEFAULT 'api' -- api | log
        );
        CREATE INDEX IF NOT EXISTS idx_reputation_node_time ON reputation_history(node_name, timestamp);

        CREATE TABLE IF NOT EXISTS payout_snapshots (
            id INTEGER PRIMARY KEY,
            timestamp REAL NOT NULL,
            node_name TEXT NOT NULL,
            raw TEXT NOT NULL                  -- /api/sno/estimated-payout as returned (JSON)
        );
        CREATE INDEX IF NOT EXISTS idx_payout_node_time ON payout_snapshots(node_name, timestamp);

        CREATE TABLE IF NOT EXISTS node_info (
            node_name TEXT PRIMARY KEY,
            node_id TEXT,
            wallet TEXT,
            version TEXT,
            api_url TEXT,
            updated_at REAL NOT NULL,
            raw TEXT                           -- last /api/sno/ (JSON)
        );

        CREATE TABLE IF NOT EXISTS alerts (
            id INTEGER PRIMARY KEY,
            node_name TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,                 -- identifies the condition for deduplication
            severity TEXT NOT NULL,            -- info | warning | critical
            title TEXT NOT NULL,
            message TEXT NOT NULL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            resolved_at REAL,
            acknowledged_at REAL,
            last_notified_at REAL,
            details TEXT                       -- JSON
        );
        CREATE INDEX IF NOT EXISTS idx_alerts_open ON alerts(node_name, key, resolved_at);
        """,
    )
    _aggregate_tables(conn)


def _v2_payouts(conn: sqlite3.Connection) -> None:
    """Closed months' payouts (``/api/heldamount/payout-history``), imported once and kept,
    and each satellite's running held total (``/held-history``). Money in USD."""
    run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS payout_history (
            node_name TEXT NOT NULL,
            period TEXT NOT NULL,              -- YYYY-MM (UTC)
            satellite_id TEXT NOT NULL,
            satellite_name TEXT NOT NULL,
            age_months INTEGER,
            earned_usd REAL NOT NULL,          -- before held (and surge)
            held_usd REAL NOT NULL,
            held_percent REAL,
            disposed_usd REAL NOT NULL,        -- held returned that month
            paid_usd REAL NOT NULL,
            distributed_usd REAL NOT NULL,     -- actually sent (less: postponed)
            receipt TEXT NOT NULL,
            imported_at REAL NOT NULL,
            PRIMARY KEY (node_name, period, satellite_id)
        ) WITHOUT ROWID;

        CREATE TABLE IF NOT EXISTS held_totals (
            node_name TEXT NOT NULL,
            satellite_id TEXT NOT NULL,
            satellite_name TEXT NOT NULL,
            total_held_usd REAL NOT NULL,
            total_disposed_usd REAL NOT NULL,
            joined_at REAL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (node_name, satellite_id)
        ) WITHOUT ROWID
        """,
    )


def _v3_bad_lines(conn: sqlite3.Connection) -> None:
    """Quarantined log input (store.bad_lines): lines the parser rejected (a time outside
    the sane window, a negative size) and rows a write failed on even alone (the rest of
    their batch was stored). ``source`` is the log file's path; ``offset`` the byte where
    the read (or batch) that held the line began, the line being at or after it (NULL when
    unknown); ``raw`` the line's text (a rejected line) or the row as JSON (a failed row);
    ``created_at`` UTC unix seconds."""
    run_script(
        conn,
        """
        CREATE TABLE IF NOT EXISTS bad_lines (
            id INTEGER PRIMARY KEY,
            node_name TEXT NOT NULL,
            source TEXT,
            offset INTEGER,
            raw TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS idx_bad_lines_node ON bad_lines(node_name, created_at);
        """,
    )


def _v4_log_millis(conn: sqlite3.Connection) -> None:
    """Durations between log stamps with milliseconds or finer (``log_millis``) get their own
    count in every aggregate table, next to ``log_seconds_count`` (existing rows: 0)."""
    for table in ("rollups_minute", "rollups_hour", "latency_minute", "latency_hour"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN log_millis_count INTEGER NOT NULL DEFAULT 0")


def _v5_piece_ops(conn: sqlite3.Connection) -> None:
    """Raw events move to the compact ``piece_ops`` table (store.piece_ops); ``events``
    becomes a view of it with the same columns. A one-time copy: logged, because a big
    database takes a while."""
    (rows,) = conn.execute("SELECT COUNT(*) FROM events").fetchone()
    if rows:
        log.warning(
            "schema v5: moving %d raw events to the compact table, once (about %.0f s; the "
            "file keeps its size, its freed pages are reused)", rows, rows / 250_000
        )
    run_script(conn, piece_ops.TABLES)
    piece_ops.migrate_from_events(conn)


def _v6_prices(conn: sqlite3.Connection) -> None:
    """A node's last price model (store.earnings): a restart without the node API prices
    the log's egress as the node last said, not at the defaults."""
    conn.execute("ALTER TABLE node_info ADD COLUMN prices TEXT")  # JSON of Prices (USD)


MIGRATIONS: tuple[Migration, ...] = (
    _v1_core, _v2_payouts, _v3_bad_lines, _v4_log_millis, _v5_piece_ops, _v6_prices,
)  # fmt: skip
SCHEMA_VERSION = len(MIGRATIONS)

#: The secondary indexes of the raw-event table (``piece_ops``). A bulk import into an
#: empty table drops them and builds each once at its end (cheaper than keeping them up to
#: date row by row, store.bulk); :func:`migrate` recreates any that an import killed before
#: its end left missing.
EVENT_INDEXES: dict[str, str] = {"idx_piece_ops_slow": piece_ops.SLOW_INDEX}


def ensure_event_indexes(conn: sqlite3.Connection) -> None:
    """Create whichever raw-event index is missing (a no-op when all exist)."""
    present = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    for name, sql in EVENT_INDEXES.items():
        if name not in present:
            conn.execute(sql)


def drop_event_indexes_if_empty(conn: sqlite3.Connection) -> bool:
    """Drop the raw-event indexes when the table holds no row (the start of a bulk
    import); True if dropped. Run inside the caller's transaction."""
    if conn.execute("SELECT 1 FROM piece_ops LIMIT 1").fetchone() is not None:
        return False
    for name in EVENT_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    return True


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration not yet applied; return the resulting version.

    Refuses a database written by a newer storj_monitor rather than guessing.
    """
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {version} is newer than this storj_monitor "
            f"understands ({SCHEMA_VERSION}); upgrade storj_monitor"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[number - 1](conn)
            conn.execute("INSERT INTO schema_version(version) VALUES (?)", (number,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    ensure_event_indexes(conn)  # after an import that was killed before its end
    return SCHEMA_VERSION
