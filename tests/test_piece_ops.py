"""The compact raw-event table (store.piece_ops): the ``events`` view gives back what was
written, the v5 migration moves old rows, the detail window thins, on real SQLite files."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.model import Event
from storj_monitor.services.maintenance import DAY, Maintenance
from storj_monitor.settings import defaults
from storj_monitor.store import events as se
from storj_monitor.store import piece_ops, schema
from storj_monitor.store import raw_window as rw
from storj_monitor.store.database import Store, connect, transaction
from storj_monitor.store.schema import migrate
from storj_monitor.store.traffic import get_traffic_stats

COLUMNS = ", ".join(se._EVENT_COLUMNS)
SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "t.db")
    migrate(c)
    yield c
    c.close()


def ev(t: float, action: str = "GET", status: str = "success", dur: float | None = 250.0,
       node: str = "n1", piece: str | None = "P1", ip: str | None = "203.0.113.7") -> Event:  # fmt: skip
    return Event(
        timestamp=t, node_name=node, action=action, status=status,  # type: ignore[arg-type]
        size=2_319_872, satellite_id=SAT, piece_id=piece, remote_ip=ip,
        error=None if status == "success" else "boom",
        error_category=None if status == "success" else "other",
        duration_ms=dur, duration_source=None if dur is None else "log_millis",
    )  # fmt: skip


def expected(e: Event) -> tuple[object, ...]:
    """What the view gives back: durations to the microsecond, and no piece id for a fast
    successful upload (nothing shows it)."""
    drop = (
        e.status == "success"
        and e.action not in piece_ops.DOWNLOAD_ACTIONS
        and (e.duration_ms is None or e.duration_ms < piece_ops.SLOW_MS)
    )
    dur = None if e.duration_ms is None else round(e.duration_ms * 1000) / 1000.0
    return (e.timestamp, e.node_name, e.action, e.status, e.size, e.satellite_id,
            None if drop else e.piece_id, e.remote_ip, e.error, e.error_category, dur,
            e.duration_source)  # fmt: skip


def view_rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY id").fetchall()


_ips = st.one_of(
    st.none(),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
)
_events = st.builds(
    Event,
    timestamp=st.floats(1.5e9, 2.0e9).map(lambda t: round(t, 3)),
    node_name=st.sampled_from(["n1", "Node Two", "ü-node"]),
    action=st.sampled_from(["GET", "PUT", "GET_AUDIT", "GET_REPAIR", "PUT_REPAIR", "DELETE"]),
    status=st.sampled_from(["success", "failed", "canceled"]),
    size=st.one_of(st.none(), st.integers(0, 2**40)),
    satellite_id=st.one_of(st.none(), st.sampled_from([SAT, "1wFTAgs9DP5RSnCqKV1eLf6N9wtk"])),
    piece_id=st.one_of(st.none(), st.text(min_size=1, max_size=60)),
    remote_ip=_ips,
    error=st.one_of(st.none(), st.text(max_size=80)),
    error_category=st.one_of(st.none(), st.sampled_from(["timeout", "other"])),
    duration_ms=st.one_of(st.none(), st.floats(0, 3.6e6).map(lambda d: round(d, 3))),
    duration_source=st.one_of(st.none(), st.sampled_from(["precise", "log_millis"])),
)


@settings(max_examples=60, deadline=None)
@given(batches=st.lists(st.lists(_events, max_size=20), min_size=1, max_size=4))
def test_the_view_gives_back_what_was_written(tmp_path_factory, batches) -> None:  # type: ignore[no-untyped-def]
    c = connect(tmp_path_factory.mktemp("v") / "v.db")
    migrate(c)
    try:
        for batch in batches:
            transaction(c, lambda conn, b=batch: se.insert_events(conn, b))
        written = [e for b in batches for e in b]
        assert view_rows(c) == [expected(e) for e in written]
        seqs = [r[0] for r in c.execute("SELECT id FROM events ORDER BY id")]
        assert len(set(seqs)) == len(written)  # every row has its own key
    finally:
        c.close()


def test_ipv4_is_four_bytes_and_ipv6_text(conn: sqlite3.Connection) -> None:
    rows = [ev(1.0, ip="255.255.255.255"), ev(2.0, ip="0.0.0.0"), ev(3.0, ip="2001:db8::7")]
    transaction(conn, lambda c: se.insert_events(c, rows))
    stored = conn.execute("SELECT ip, typeof(ip) FROM piece_ops ORDER BY ts").fetchall()
    assert stored == [(2**31 - 1, "integer"), (-(2**31), "integer"), ("2001:db8::7", "text")]
    assert [r[7] for r in view_rows(conn)] == ["255.255.255.255", "0.0.0.0", "2001:db8::7"]
    assert [piece_ops.ip_text(r[0]) for r in stored] == [e.remote_ip for e in rows]


def test_a_rolled_back_batch_leaves_no_name_behind(conn: sqlite3.Connection) -> None:
    """Names are never cached across transactions: after a rollback that had created a
    name, the next batch's new name cannot take a stale id."""

    def fail(c: sqlite3.Connection) -> None:
        se.insert_events(c, [ev(1.0, node="ghost")])
        raise RuntimeError("the rest of the batch failed")

    with pytest.raises(RuntimeError):
        transaction(conn, fail)
    transaction(conn, lambda c: se.insert_events(c, [ev(2.0, node="real", action="PUT_REPAIR")]))
    assert [(r[1], r[2]) for r in view_rows(conn)] == [("real", "PUT_REPAIR")]
    assert "ghost" not in {n for (n,) in conn.execute("SELECT name FROM names")}


def test_full_rows_take_under_half_the_old_bytes(conn: sqlite3.Connection) -> None:
    """A typical download row with every column (52-character piece id) stays far below
    the first schema's ~240 bytes per operation (table + indexes, SQLite dbstat)."""
    pieces = [base64.b32encode(i.to_bytes(32, "big")).decode().rstrip("=") for i in range(20_000)]
    rows = [ev(1.7e9 + i * 0.05, piece=p, ip=f"198.51.{i % 200}.{i % 250}", dur=100 + i % 900)
            for i, p in enumerate(pieces)]  # fmt: skip
    transaction(conn, lambda c: se.insert_events(c, rows))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (used,) = conn.execute(
        "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('piece_ops', 'idx_piece_ops_slow')"
    ).fetchone()
    assert used / len(rows) < 120


def _v4_database(path: Path) -> sqlite3.Connection:
    """A database as schema v4 left it: the ``events`` table with its rows."""
    c = connect(path)
    c.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, migration in enumerate(schema.MIGRATIONS[:4], start=1):
        transaction(c, migration)
        c.execute("INSERT INTO schema_version(version) VALUES (?)", (number,))
    return c


def test_v5_moves_old_rows_into_the_compact_table(tmp_path: Path) -> None:
    c = _v4_database(tmp_path / "old.db")
    old = [ev(10.0), ev(11.0, "PUT"), ev(12.0, "PUT", dur=4000.0, piece="PS"),
           ev(13.0, "PUT", "canceled", ip="2001:db8::1"), ev(14.0, dur=None, ip=None)]  # fmt: skip
    c.executemany(
        f"INSERT INTO events (id, {COLUMNS}) VALUES (?, {', '.join('?' * 12)})",
        [(100 + i, *se.event_rows([e])[0]) for i, e in enumerate(old)],
    )
    assert migrate(c) == schema.SCHEMA_VERSION
    assert view_rows(c) == [expected(e) for e in old]
    assert [r[0] for r in c.execute("SELECT id FROM events ORDER BY id")] == list(range(100, 105))
    assert c.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone() == ("view",)
    transaction(c, lambda conn: se.insert_events(conn, [ev(15.0)]))
    assert c.execute("SELECT MAX(id) FROM events").fetchone() == (105,)  # no key reused
    assert {n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                    "AND tbl_name = 'piece_ops'")} == {"idx_piece_ops_slow"}  # fmt: skip
    c.close()


def test_thinning_keeps_the_detail_window_and_the_slow_ones(conn: sqlite3.Connection) -> None:
    rows = [ev(float(t), dur=d, node=n) for n in ("n1", "n2") for t in range(100)
            for d in (None, 100.0, 4999.0, 5000.0, 9e4)]  # fmt: skip
    transaction(conn, lambda c: se.insert_events(c, rows))
    deleted, chunks = 0, 0
    for node in se.raw_event_nodes(conn):  # the loop a retention pass runs
        since: float | None = None
        while True:
            n, reached = transaction(
                conn, lambda c, s=since, k=node: se.thin_events_chunk(c, k, s, 60.0, 5000.0, 7)
            )
            assert n <= 7 and (since is None or reached > since)  # always forward
            deleted, chunks = deleted + n, chunks + 1
            if reached >= 60.0:
                break
            since = reached
    left = conn.execute("SELECT node_name, timestamp, duration_ms FROM events").fetchall()
    keep = [(e.node_name, e.timestamp, e.duration_ms) for e in rows
            if e.timestamp >= 60.0 or (e.duration_ms or 0) >= 5000.0]  # fmt: skip
    assert sorted(left, key=repr) == sorted(keep, key=repr)
    assert deleted == len(rows) - len(keep) == 2 * 60 * 3
    assert chunks <= 2 * (60 * 3 // 6 + 1) + len(se.raw_event_nodes(conn))  # ~7 per chunk


def test_chunked_deletes_finish_when_many_rows_share_one_time(conn: sqlite3.Connection) -> None:
    transaction(conn, lambda c: se.insert_events(c, [ev(5.0) for _ in range(50)] + [ev(9.0)]))
    (node,) = conn.execute("SELECT id FROM names WHERE name = 'n1'").fetchone()
    n, reached = transaction(conn, lambda c: se.thin_events_chunk(c, node, None, 8.0, 1000.0, 10))
    assert (n, reached) == (50, 5.0)  # all 50 at one time, past the limit: still progress
    assert transaction(conn, lambda c: se.thin_events_chunk(c, node, 5.0, 8.0, 1000.0, 10)) == (0, 8.0)
    assert transaction(conn, lambda c: se.delete_events_before(c, 10.0, limit=10)) == 1
    assert se.count_events(conn) == 0


def test_raw_window_of_an_import() -> None:
    window = rw.raw_window(1000 * DAY, 7, 24, 5000.0)
    assert window == rw.RawWindow(993 * DAY, 999 * DAY, 5000.0)
    rows = se.event_rows([
        ev(992 * DAY, dur=9e4), ev(994 * DAY, dur=100.0), ev(994 * DAY, dur=5000.0),
        ev(994 * DAY, dur=None), ev(999.5 * DAY, dur=None),
    ])  # fmt: skip
    assert rw.raw_rows(rows, window) == [rows[2], rows[4]]
    assert rw.raw_rows(rows, 993 * DAY) == rows[1:]  # a plain cutoff: retention only
    assert rw.raw_window(1000 * DAY, 0.5, 24, 1.0).full_since == 999.5 * DAY  # never before


async def test_retention_thins_past_the_detail_window_once(tmp_path: Path) -> None:
    now = 1000 * DAY
    s = defaults().replace(events_detail_hours=24, latency_warning_ms=5000.0)
    with Store(tmp_path / "m.db") as store:
        rows = [ev(now - h * 3600.0, dur=d) for h in range(0, 100, 2) for d in (100.0, 6000.0)]
        await store.write(lambda c: se.insert_events(c, rows))
        m = Maintenance(s, store, clock=lambda: now, interval=3600)
        await m.run_once()
        old_fast = sum(1 for e in rows if e.timestamp < now - DAY and e.duration_ms == 100.0)
        assert m.thinned_events == old_fast == 37
        left = await store.read(lambda c: c.execute("SELECT timestamp, duration_ms FROM events").fetchall())
        assert len(left) == len(rows) - old_fast
        assert all(t >= now - DAY or d == 6000.0 for t, d in left)
        await m.run_once()  # the next pass starts where this one ended: nothing new
        assert m.thinned_events == 37


def test_traffic_details_never_read_thinned_rows(conn: sqlite3.Connection) -> None:
    now = 1000 * DAY
    transaction(conn, lambda c: se.insert_events(c, [ev(now - 3 * DAY), ev(now - 600.0)]))
    floor = now - DAY
    past = get_traffic_stats(conn, ["n1"], 24, now - 2 * DAY, detail_floor=floor)
    assert past["top_pieces"] == [] and past["details_window_hours"] == 0.0
    recent = get_traffic_stats(conn, ["n1"], 24, now, detail_floor=floor)
    assert [p["piece_id"] for p in recent["top_pieces"]] == ["P1"]
    assert recent["details_window_hours"] == 24.0


def test_the_address_cache_stays_bounded() -> None:
    cache: dict[str, object] = {}
    for i in range(piece_ops.IP_CACHE_MAX + 5):
        assert piece_ops.ip_code(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", cache) == (
            (10 << 24) + i - 2**31
        )
        assert len(cache) <= piece_ops.IP_CACHE_MAX
    assert piece_ops.ip_code("not an address", cache) == "not an address"


def test_an_upgrade_rebuilds_the_index_a_killed_import_left_missing(tmp_path: Path) -> None:
    """A v5 database whose first import was killed before building its index gets the
    index back in the same start that migrates it further (not one start later)."""
    c = connect(tmp_path / "u.db")
    migrate(c)
    assert transaction(c, schema.drop_event_indexes_if_empty) is True
    c.execute("ALTER TABLE node_info DROP COLUMN prices")  # as schema v5 left it
    c.execute("DELETE FROM schema_version WHERE version > 5")
    assert migrate(c) == schema.SCHEMA_VERSION
    names = {n for (n,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "idx_piece_ops_slow" in names
    c.close()
