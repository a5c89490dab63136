"""Rollup write path: consistency with raw events, merging across batches, retention."""

from __future__ import annotations

import random
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storj_monitor.analytics import sketch
from storj_monitor.model import Event
from storj_monitor.store import events as se
from storj_monitor.store import rollup_queries, rollups
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.schema import migrate

T0 = 1_767_600_000.0  # an hour boundary
ACTIONS = ("GET", "PUT", "GET_AUDIT", "GET_REPAIR", "PUT_REPAIR")
SOURCES = ("precise", "arrival", "log_seconds", "field", "log_millis")


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "r.db")
    migrate(c)
    yield c
    c.close()


def synthetic(n: int, seed: int, t0: float = T0, span: float = 7200.0) -> list[Event]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        status = rnd.choice(("success", "success", "success", "failed", "canceled"))
        has = rnd.random() < 0.85
        out.append(
            Event(
                timestamp=t0 + span * i / max(1, n),
                node_name=rnd.choice(("n1", "n2")),
                action=rnd.choice(ACTIONS),
                status=status,  # type: ignore[arg-type]
                size=rnd.choice((None, 0, 2_319_872, 181_504)),
                satellite_id=rnd.choice((None, "sat-a", "sat-b")),
                piece_id=f"p{i}",
                remote_ip="203.0.113.9",
                error="boom" if status == "failed" else None,
                error_category=rnd.choice(("timeout", "broken pipe"))
                if status == "failed"
                else None,
                duration_ms=rnd.choice((0.0, round(rnd.lognormvariate(6, 1.5), 3))) if has else None,
                duration_source=rnd.choice(SOURCES) if has else None,  # type: ignore[arg-type]
            )
        )
    return out


RAW_AGG = """
SELECT node_name, CAST(timestamp / {s} AS INTEGER) * {s}, COALESCE(satellite_id, ''), action,
       status, COALESCE(error_category, ''), COUNT(*), COALESCE(SUM(size), 0),
       COUNT(duration_ms), COALESCE(SUM(duration_ms), 0), MIN(duration_ms), MAX(duration_ms),
       SUM(duration_source = 'precise'), SUM(duration_source = 'arrival'),
       SUM(duration_source = 'log_seconds'), SUM(duration_source = 'field'),
       SUM(duration_source = 'log_millis')
FROM events GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""
ROLLUP = """
SELECT node_name, bucket_start, satellite_id, action, status, error_category, count, bytes,
       duration_count, duration_sum_ms, duration_min_ms, duration_max_ms,
       precise_count, arrival_count, log_seconds_count, field_count, log_millis_count
FROM {t} ORDER BY 1, 2, 3, 4, 5, 6
"""
HIST = (
    "SELECT node_name, bucket_start, action, duration_count, hist FROM {t} "
    "WHERE hist IS NOT NULL ORDER BY 1, 2, 3"
)
LATENCY_SUMS = (
    "SELECT node_name, bucket_start, action, count, bytes, duration_count, duration_sum_ms, "
    "duration_min_ms, duration_max_ms, precise_count, arrival_count, log_seconds_count, "
    "field_count, log_millis_count FROM {t} ORDER BY 1, 2, 3"
)
RAW_LATENCY = """
SELECT node_name, CAST(timestamp / {s} AS INTEGER) * {s}, action, COUNT(*), COALESCE(SUM(size), 0),
       COUNT(duration_ms), COALESCE(SUM(duration_ms), 0), MIN(duration_ms), MAX(duration_ms),
       SUM(duration_source = 'precise'), SUM(duration_source = 'arrival'),
       SUM(duration_source = 'log_seconds'), SUM(duration_source = 'field'),
       SUM(duration_source = 'log_millis')
FROM events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


def raw_hists(conn: sqlite3.Connection, seconds: int) -> dict[tuple, list[float]]:
    out: dict[tuple, list[float]] = {}
    for node, ts, action, d in conn.execute(
        "SELECT node_name, timestamp, action, duration_ms FROM events WHERE duration_ms IS NOT NULL"
    ):
        out.setdefault((node, ts // seconds * seconds, action), []).append(d)
    return out


def hist_dict(blob: bytes) -> dict[int, int]:
    idx, counts = sketch.decode(blob)
    return dict(zip(idx.tolist(), counts.tolist(), strict=True))


def assert_consistent(conn: sqlite3.Connection) -> None:
    for seconds, table in rollups.TABLES.items():
        raw = conn.execute(RAW_AGG.format(s=seconds)).fetchall()
        rolled = conn.execute(ROLLUP.format(t=table)).fetchall()
        assert len(raw) == len(rolled)
        for r, u in zip(raw, rolled, strict=True):
            assert tuple(u[:9]) == tuple(r[:9])
            assert u[9] == pytest.approx(r[9])
            assert u[10] == r[10] and u[11] == r[11]
            assert tuple(u[12:16]) == tuple(0 if x is None else x for x in r[12:16])
    for seconds, table in rollups.LATENCY_TABLES.items():
        raw = conn.execute(RAW_LATENCY.format(s=seconds)).fetchall()
        rolled = conn.execute(LATENCY_SUMS.format(t=table)).fetchall()
        assert len(raw) == len(rolled)
        for r, u in zip(raw, rolled, strict=True):
            assert tuple(u[:6]) == tuple(r[:6])
            assert u[6] == pytest.approx(r[6])
            assert u[7] == r[7] and u[8] == r[8]
            assert tuple(u[9:]) == tuple(0 if x is None else x for x in r[9:])
        expected = raw_hists(conn, seconds)
        rows = conn.execute(HIST.format(t=table)).fetchall()
        assert len(rows) == len(expected)
        for node, start, action, count, blob in rows:
            values = expected[(node, start, action)]
            assert count == len(values)  # every duration is in its histogram, once
            assert hist_dict(blob) == hist_dict(sketch.encode(sketch.from_values(values)))


def test_rollups_match_raw_events_through_write_batch(conn: sqlite3.Connection) -> None:
    events = synthetic(3000, seed=1)
    for i in range(0, len(events), 700):  # several transactions, some sharing a minute
        transaction(conn, lambda c, b=events[i : i + 700]: se.write_batch(c, b, []))
    assert conn.execute("SELECT SUM(count) FROM rollups_hour").fetchone()[0] == 3000
    assert_consistent(conn)


def test_row_batches_through_write_row_batch(conn: sqlite3.Connection) -> None:
    events = synthetic(1500, seed=2)
    rows = se.event_rows(events)
    for i in range(0, len(rows), 400):
        transaction(conn, lambda c, b=rows[i : i + 400]: se.write_row_batch(c, b, []))
    assert conn.execute("SELECT SUM(count) FROM rollups_minute").fetchone()[0] == 1500
    assert_consistent(conn)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_split_batches_equal_one_batch(tmp_path: Path, seed: int, cuts: list[int]) -> None:
    events = synthetic(sum(cuts), seed=seed, span=600.0)
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # fresh files for every example
    a = connect(folder / "a.db")
    b = connect(folder / "b.db")
    try:
        migrate(a)
        migrate(b)
        transaction(a, lambda c: rollups.write_rollups(c, events))
        pos = 0
        for n in cuts:
            batch = events[pos : pos + n]
            transaction(b, lambda c, batch=batch: rollups.write_rollups(c, batch))
            pos += n
        for table in rollups.TABLES.values():
            ra = a.execute(ROLLUP.format(t=table)).fetchall()
            rb = b.execute(ROLLUP.format(t=table)).fetchall()
            assert len(ra) == len(rb)
            for x, y in zip(ra, rb, strict=True):
                assert x[:9] == y[:9] and x[10:16] == y[10:16]
                assert x[9] == pytest.approx(y[9])
        for table in rollups.LATENCY_TABLES.values():
            ha = a.execute(HIST.format(t=table)).fetchall()
            hb = b.execute(HIST.format(t=table)).fetchall()
            assert [h[:4] for h in ha] == [h[:4] for h in hb]
            assert [hist_dict(h[4]) for h in ha] == [hist_dict(h[4]) for h in hb]
    finally:
        a.close()
        b.close()


def test_row_tuples_give_the_same_rollups(tmp_path: Path) -> None:
    events = synthetic(500, seed=3)
    a = connect(tmp_path / "a.db")
    b = connect(tmp_path / "b.db")
    try:
        migrate(a)
        migrate(b)
        transaction(a, lambda c: rollups.write_rollups(c, events))
        transaction(b, lambda c: rollups.write_rollup_rows(c, se.event_rows(events)))
        for table in rollups.TABLES.values():
            assert (
                a.execute(ROLLUP.format(t=table)).fetchall()
                == b.execute(ROLLUP.format(t=table)).fetchall()
            )
        for table in rollups.LATENCY_TABLES.values():
            assert (
                a.execute(HIST.format(t=table)).fetchall()
                == b.execute(HIST.format(t=table)).fetchall()
            )
    finally:
        a.close()
        b.close()


def test_empty_batch_writes_nothing(conn: sqlite3.Connection) -> None:
    transaction(conn, lambda c: rollups.write_rollups(c, []))
    assert conn.execute("SELECT COUNT(*) FROM rollups_minute").fetchone()[0] == 0


def test_operations_without_duration_have_no_histogram(conn: sqlite3.Connection) -> None:
    e = synthetic(1, seed=0)[0]
    e.duration_ms = None
    e.duration_source = None
    transaction(conn, lambda c: rollups.write_rollups(c, [e, e]))
    row = conn.execute(
        "SELECT count, duration_count, duration_min_ms FROM rollups_minute"
    ).fetchone()
    assert row == (2, 0, None)
    assert conn.execute("SELECT count, duration_count, hist FROM latency_minute").fetchall() == [
        (2, 0, None)
    ]


def test_corrupt_stored_histogram_does_not_block_ingest(conn: sqlite3.Connection) -> None:
    e = synthetic(1, seed=0)[0]
    e.duration_ms, e.duration_source = 250.0, "precise"
    transaction(conn, lambda c: rollups.write_rollups(c, [e]))
    conn.execute("UPDATE latency_minute SET hist = x'07ffff'")
    transaction(conn, lambda c: rollups.write_rollups(c, [e]))
    assert conn.execute("SELECT count FROM rollups_minute").fetchone()[0] == 2
    count, hist = conn.execute("SELECT duration_count, hist FROM latency_minute").fetchone()
    assert count == 2  # the sums are intact
    assert sketch.total(sketch.decode(hist)) == 1  # the unreadable histogram part is dropped


def test_rollups_roll_back_with_the_transaction(conn: sqlite3.Connection) -> None:
    events = synthetic(50, seed=5)

    def fail(c: sqlite3.Connection) -> None:
        se.write_batch(c, events, [])
        rollups.write_rollups(c, events)
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        transaction(conn, fail)
    assert conn.execute("SELECT COUNT(*) FROM rollups_hour").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_compact_rollups_deletes_by_age(conn: sqlite3.Connection) -> None:
    day = 86400.0
    old = synthetic(100, seed=6, t0=T0 - 30 * day, span=3600)
    mid = synthetic(100, seed=7, t0=T0 - 5 * day, span=3600)
    new = synthetic(100, seed=8, t0=T0, span=3600)
    for batch in (old, mid, new):
        transaction(conn, lambda c, b=batch: rollups.write_rollups(c, b))
    now = T0 + 3600
    count_minutes = (
        "SELECT (SELECT COUNT(*) FROM rollups_minute) + (SELECT COUNT(*) FROM latency_minute)"
    )
    minute_before = conn.execute(count_minutes).fetchone()[0]
    deleted = transaction(conn, lambda c: rollup_queries.compact_rollups(c, now, 2.0, 20.0))
    assert deleted[0] > 0 and deleted[1] > 0
    left_min = conn.execute("SELECT MIN(bucket_start) FROM rollups_minute").fetchone()[0]
    left_hour = conn.execute("SELECT MIN(bucket_start) FROM rollups_hour").fetchone()[0]
    assert left_min >= now - 2 * day
    assert now - 20 * day <= left_hour < now - 2 * day  # hour rows outlive minute rows
    assert conn.execute(count_minutes).fetchone()[0] == minute_before - deleted[0]
    assert conn.execute("SELECT MIN(bucket_start) FROM latency_minute").fetchone()[0] >= (
        now - 2 * day
    )
    assert conn.execute("SELECT MIN(bucket_start) FROM latency_hour").fetchone()[0] == left_hour
    assert transaction(conn, lambda c: rollup_queries.compact_rollups(c, now, 2.0, 20.0)) == (0, 0)


def test_read_rollups_and_count(conn: sqlite3.Connection) -> None:
    events = synthetic(400, seed=9)
    transaction(conn, lambda c: rollups.write_rollups(c, events))
    rows = rollup_queries.read_rollups(conn, "rollups_hour", ["n1"], T0, T0 + 3600)
    assert rows and all(r.node_name == "n1" and r.bucket_start == T0 for r in rows)
    expected = sum(1 for e in events if e.node_name == "n1" and e.timestamp < T0 + 3600)
    assert rollup_queries.rollup_count(conn, "rollups_minute", ["n1"], T0, T0 + 3600) == expected
    assert rollup_queries.rollup_count(conn, "rollups_hour", [], 0, 2e9) == 400
    with pytest.raises(ValueError):
        rollup_queries.read_rollups(conn, "events", [], 0, 1)


def test_merges_across_count_widths_and_missing_durations(conn: sqlite3.Connection) -> None:
    base = synthetic(1, seed=0)[0]

    def same(duration: float | None, n: int) -> list[Event]:
        out = []
        for _ in range(n):
            e = Event(**{f: getattr(base, f) for f in base.__slots__})  # type: ignore[attr-defined]
            e.duration_ms = duration
            e.duration_source = "precise" if duration is not None else None
            out.append(e)
        return out

    transaction(conn, lambda c: rollups.write_rollups(c, same(None, 3)))  # no histogram yet
    transaction(conn, lambda c: rollups.write_rollups(c, same(100.0, 300)))  # 2-byte counts
    transaction(conn, lambda c: rollups.write_rollups(c, same(100.0, 2) + same(7.0, 1)))
    transaction(conn, lambda c: rollups.write_rollups(c, same(None, 1)))
    for table in rollups.TABLES.values():
        count, d_count, d_min, d_max = conn.execute(
            f"SELECT count, duration_count, duration_min_ms, duration_max_ms FROM {table}"
        ).fetchone()
        assert (count, d_count, d_min, d_max) == (307, 303, 7.0, 100.0)
    for table in rollups.LATENCY_TABLES.values():
        d_count, hist = conn.execute(f"SELECT duration_count, hist FROM {table}").fetchone()
        assert d_count == 303
        idx, counts = sketch.decode(hist)
        assert hist[0] == 2
        assert dict(zip(idx.tolist(), counts.tolist(), strict=True)) == {
            sketch.bucket_index(7.0): 1,
            sketch.bucket_index(100.0): 302,
        }


def test_outside_a_transaction_it_opens_its_own(conn: sqlite3.Connection) -> None:
    events = synthetic(200, seed=21)
    rollups.write_rollups(conn, events)
    rollups.write_rollups(conn, events)
    assert not conn.in_transaction
    assert conn.execute("SELECT SUM(count) FROM rollups_hour").fetchone()[0] == 400


def test_distinct_nodes(conn: sqlite3.Connection) -> None:
    assert rollup_queries.distinct_nodes(conn) == []
    transaction(conn, lambda c: rollups.write_rollups(c, synthetic(200, seed=22)))
    assert rollup_queries.distinct_nodes(conn) == ["n1", "n2"]
    assert rollup_queries.distinct_nodes(conn, "latency_minute") == ["n1", "n2"]
    with pytest.raises(ValueError):
        rollup_queries.distinct_nodes(conn, "events")
