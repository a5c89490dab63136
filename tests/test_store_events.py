"""Event/record inserts, compare-and-set log offsets, and retention, on real SQLite files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from storj_monitor.model import Event, LogRecord
from storj_monitor.services.maintenance import DAY, Maintenance, prune_raw_data
from storj_monitor.settings import defaults
from storj_monitor.store import events as se
from storj_monitor.store import schema
from storj_monitor.store.database import Store, connect, transaction
from storj_monitor.store.rollups import write_rollups
from storj_monitor.store.schema import migrate


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "t.db")
    migrate(c)
    yield c
    c.close()


def event(t: float, status: str = "success", node: str = "n1") -> Event:
    return Event(
        timestamp=t,
        node_name=node,
        action="GET",
        status=status,  # type: ignore[arg-type]
        size=2048,
        satellite_id="sat",
        piece_id=f"p{t}",
        remote_ip="203.0.113.7",
        error=None if status == "success" else "file does not exist",
        error_category=None if status == "success" else "file does not exist",
        duration_ms=12.5,
        duration_source="arrival",
    )


def test_insert_events_stores_every_column(conn: sqlite3.Connection) -> None:
    transaction(conn, lambda c: se.insert_events(c, [event(100.0), event(101.0, "failed")]))
    rows = conn.execute(
        "SELECT timestamp, node_name, action, status, size, satellite_id, piece_id, remote_ip,"
        " error, error_category, duration_ms, duration_source FROM events ORDER BY timestamp"
    ).fetchall()
    assert rows[0] == (100.0, "n1", "GET", "success", 2048, "sat", "p100.0", "203.0.113.7",
                       None, None, 12.5, "arrival")  # fmt: skip
    assert rows[1][3] == "failed" and rows[1][8] == "file does not exist"
    assert se.count_events(conn, "n1") == 2
    assert se.event_status_counts(conn, "n1") == {"success": 1, "failed": 1}


def test_event_fields_are_the_columns_in_order() -> None:
    from dataclasses import fields

    assert tuple(f.name for f in fields(Event)) == se._EVENT_COLUMNS


def test_event_rows_round_trip(conn: sqlite3.Connection) -> None:
    ev = event(5.0, "canceled")
    rows = se.event_rows([ev])
    assert se.event_from_row(rows[0]) == ev
    transaction(conn, lambda c: se.write_row_batch(c, rows, []))
    assert se.count_events(conn) == 1


def test_insert_records_keeps_fields_as_json(conn: sqlite3.Connection) -> None:
    rec = LogRecord(
        timestamp=50.0,
        node_name="n1",
        kind="hashstore_compaction",
        level="INFO",
        message="finished compaction",
        satellite_id="sat",
        duration_ms=97535.5,
        fields={"store": "s0", "stats": {"trash": 3}},
    )
    bare = LogRecord(timestamp=51.0, node_name="n1", kind="version", level="INFO", message="v")
    transaction(conn, lambda c: se.insert_records(c, [rec, bare]))
    rows = conn.execute("SELECT kind, duration_ms, fields FROM log_records ORDER BY id").fetchall()
    assert rows[0][0] == "hashstore_compaction" and rows[0][1] == 97535.5
    assert orjson.loads(rows[0][2]) == {"store": "s0", "stats": {"trash": 3}}
    assert rows[1][2] is None


def offset(n: int, fp: str = "abc") -> se.LogOffset:
    return se.LogOffset("n1", "/var/log/node.log", fp, 120, n, 1000.0 + n)


def test_offsets_advance_only_from_the_expected_value(conn: sqlite3.Connection) -> None:
    transaction(conn, lambda c: se.advance_offset(c, offset(100), expected=None))
    transaction(conn, lambda c: se.advance_offset(c, offset(250), expected=100))
    stored = se.get_offset(conn, se.source_key("n1", "abc"))
    assert stored is not None and stored.offset == 250 and stored.updated_at == 1250.0
    with pytest.raises(se.OffsetConflictError) as exc:
        transaction(conn, lambda c: se.advance_offset(c, offset(300), expected=100))
    assert exc.value.stored == 250
    with pytest.raises(se.OffsetConflictError):  # believed new, but it is known
        transaction(conn, lambda c: se.advance_offset(c, offset(300), expected=None))
    assert [o.offset for o in se.get_offsets(conn, "n1")] == [250]
    assert se.get_offsets(conn, "other") == []


def test_conflict_rolls_back_the_events_of_the_batch(conn: sqlite3.Connection) -> None:
    transaction(conn, lambda c: se.write_batch(c, [event(1.0)], [], [(offset(10), None)]))
    with pytest.raises(se.OffsetConflictError):
        transaction(conn, lambda c: se.write_batch(c, [event(2.0)], [], [(offset(20), 5)]))
    assert se.count_events(conn) == 1
    assert se.get_offsets(conn, "n1")[0].offset == 10


def test_offsets_of_two_files_are_independent(conn: sqlite3.Connection) -> None:
    batch = [(offset(10, "a"), None), (offset(20, "b"), None)]
    transaction(conn, lambda c: se.write_batch(c, [], [], batch))
    assert sorted(o.offset for o in se.get_offsets(conn, "n1")) == [10, 20]


def test_retention_deletes_only_old_rows(conn: sqlite3.Connection) -> None:
    transaction(conn, lambda c: se.insert_events(c, [event(float(t)) for t in range(10)]))
    rec = [LogRecord(float(t), "n1", "version", "INFO", "m") for t in range(10)]
    transaction(conn, lambda c: se.insert_records(c, rec))
    assert transaction(conn, lambda c: se.delete_events_before(c, 4.0, limit=3)) == 3
    assert transaction(conn, lambda c: se.delete_events_before(c, 4.0)) == 1
    assert transaction(conn, lambda c: se.delete_records_before(c, 5.0)) == 5
    assert conn.execute("SELECT MIN(timestamp) FROM events").fetchone()[0] == 4.0
    assert conn.execute("SELECT COUNT(*) FROM log_records").fetchone()[0] == 5


async def test_maintenance_prunes_by_retention_days(tmp_path: Path) -> None:
    now = 100 * DAY
    settings = defaults().replace(events_retention_days=2)
    with Store(tmp_path / "m.db") as store:
        old, fresh = now - 3 * DAY, now - 1 * DAY
        await store.write(lambda c: se.insert_events(c, [event(old), event(fresh)]))
        await store.write(
            lambda c: se.insert_records(c, [LogRecord(old, "n1", "version", "INFO", "m")])
        )
        m = Maintenance(settings, store, clock=lambda: now, interval=3600)
        assert await m.run_once() == (1, 1)
        assert await store.read(se.count_events) == 1
        await m.start()
        await m.start()  # idempotent
        await m.stop()
        await m.stop()
        assert m.passes >= 1


async def test_prune_works_through_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storj_monitor.services.maintenance as maintenance

    monkeypatch.setattr(maintenance, "DELETE_CHUNK", 4)
    with Store(tmp_path / "c.db") as store:
        await store.write(lambda c: se.insert_events(c, [event(float(t)) for t in range(11)]))
        assert await prune_raw_data(store, 100.0) == (11, 0)


async def test_maintenance_prunes_history_but_keeps_open_alerts(tmp_path: Path) -> None:
    now = 1000 * DAY
    settings = defaults().replace(history_retention_days=30)
    with Store(tmp_path / "h.db") as store:
        old, fresh = now - 31 * DAY, now - 29 * DAY

        def seed(c) -> None:
            for t in (old, fresh):
                c.execute(
                    "INSERT INTO storage_snapshots(timestamp, node_name, available_bytes) VALUES (?, 'n1', 1)",
                    (t,),
                )
                c.execute(
                    "INSERT INTO reputation_history(timestamp, node_name, satellite_id) VALUES (?, 'n1', 's')",
                    (t,),
                )
                c.execute(
                    "INSERT INTO payout_snapshots(timestamp, node_name, raw) VALUES (?, 'n1', '{}')",
                    (t,),
                )
            for resolved in (old, fresh, None):  # an old open alert stays
                c.execute(
                    "INSERT INTO alerts(node_name, kind, key, severity, title, message, first_seen,"
                    " last_seen, resolved_at) VALUES ('n1', 'k', 'k', 'info', 't', 'm', ?, ?, ?)",
                    (old, old, resolved),
                )

        await store.write(seed)
        m = Maintenance(settings, store, clock=lambda: now, interval=3600)
        await m.run_once()
        assert m.deleted_history == 4

        def remaining(c) -> dict[str, int]:
            tables = ("storage_snapshots", "reputation_history", "payout_snapshots", "alerts")
            return {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}

        assert await store.read(remaining) == {
            "storage_snapshots": 1,
            "reputation_history": 1,
            "payout_snapshots": 1,
            "alerts": 2,
        }
        open_left = await store.read(
            lambda c: c.execute("SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL").fetchone()[
                0
            ]
        )
        assert open_left == 1


def test_v1_database_gains_log_millis_counts(tmp_path: Path) -> None:
    """Schema v4 adds ``log_millis_count`` to the four aggregate tables of a v1 database,
    keeping its rows (their count is 0), and new rollups fill it."""
    conn = connect(tmp_path / "v1.db")
    schema.current_version(conn)
    conn.execute("BEGIN IMMEDIATE")
    schema.MIGRATIONS[0](conn)
    conn.execute("INSERT INTO schema_version(version) VALUES (1)")
    conn.execute("COMMIT")
    for table in ("rollups_minute", "rollups_hour"):  # a row written by v1
        conn.execute(
            f"INSERT INTO {table} (node_name, bucket_start, satellite_id, action, status, "
            "error_category, count, bytes, duration_count, duration_sum_ms, log_seconds_count) "
            "VALUES ('n', 1767600000, 'S', 'GET', 'success', '', 1, 5, 1, 12.0, 1)"
        )
    for table in ("latency_minute", "latency_hour"):
        conn.execute(
            f"INSERT INTO {table} (node_name, bucket_start, action, count, bytes, "
            "duration_count, duration_sum_ms, log_seconds_count) "
            "VALUES ('n', 1767600000, 'GET', 1, 5, 1, 12.0, 1)"
        )
    assert schema.migrate(conn) == schema.SCHEMA_VERSION >= 4
    for table in ("rollups_minute", "rollups_hour", "latency_minute", "latency_hour"):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        assert "log_millis_count" in cols
        assert conn.execute(
            f"SELECT log_seconds_count, log_millis_count FROM {table}"
        ).fetchall() == [(1, 0)]
    write_rollups(conn, [Event(1_767_600_001.0, "n", "GET", "success", 5, "S", "q", None,
                               None, None, 12.5, "log_millis")])  # fmt: skip
    got = conn.execute("SELECT log_seconds_count, log_millis_count FROM latency_minute").fetchall()
    assert got == [(1, 1)]
    conn.close()
