"""Bad lines, pure and store parts: the sane time window, negative sizes, rollups that do not
allocate by time span, isolating a poisonous row (issue #14, items 1 and 5)."""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglines import SAT, T0, piece_id, stamp, transfer
from storj_monitor.logs.parser import LineParser, PieceLine
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.logs.rejects import BAD_SIZE, BAD_TIME
from storj_monitor.logs.timestamps import SANE_SINCE, sane_window
from storj_monitor.store import events as se
from storj_monitor.store.bad_lines import BadLine, isolate
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.schema import migrate

NOW = T0 + 3600.0
#: Dates no log line can truly carry at NOW (issue #14 item 1), as the log's time column.
EXTREME = {
    "year 1": "0001-01-01T00:00:00Z",
    "year 9999": "9999-12-31T23:59:59Z",
    "2017": "2017-12-31T23:59:59Z",
    "now + 2 days": stamp(NOW + 2 * 86400),
}


def dated(line: str, ts_text: str) -> str:
    """``line`` with its time column replaced."""
    return ts_text + line[line.index("\t") :]


def finish_line(i: int, ts_text: str, **fields: object) -> str:
    base = {"Piece ID": piece_id(i), "Satellite ID": SAT, "Action": "GET", "Size": 1000,
            "Remote Address": "203.0.113.9:40112"}  # fmt: skip
    return f"{ts_text}\tINFO\tpiecestore\tdownloaded\t{json.dumps({**base, **fields})}"


def test_sane_window_takes_now() -> None:
    assert sane_window(NOW) == (SANE_SINCE, NOW + 86400.0)
    assert sane_window(None)[1] == float("inf")
    assert SANE_SINCE == 1514764800.0  # 2018-01-01T00:00:00Z


@pytest.mark.parametrize("ts_text", EXTREME.values(), ids=EXTREME.keys())
@pytest.mark.parametrize("via", ["parser", "pipeline"])
def test_extreme_dates_are_rejected_as_bad_lines(ts_text: str, via: str) -> None:
    proc = LineProcessor("n", max_pending=100, ttl_seconds=3600)
    good = transfer(1, NOW - 60)
    bad = [dated(line, ts_text) for line in transfer(2, NOW - 60)]
    if via == "parser":  # the full parser (also what the pipeline's slow path calls)
        parser = proc.parser
        parser.set_now(NOW)
        assert [parser.parse(line) for line in bad] == [None, None]
        assert (parser.rejected, parser.unparseable, parser.internal_errors) == (2, 0, 0)
        assert parser.rejected_lines == [(line, BAD_TIME) for line in bad]
        return
    # the fast path, twice: a cached in-window stamp must not let the bad ones through
    for _ in range(2):
        out = proc.process_rows(good + bad, now=NOW)
        assert [r[6] for r in out.rows] == [piece_id(1)]
        assert out.bad == [(line, BAD_TIME) for line in bad]
    assert (proc.lines, proc.rejected, proc.unparseable) == (8, 4, 0)


def test_window_edges_and_a_moving_now() -> None:
    proc = LineProcessor("n", max_pending=100, ttl_seconds=3600)
    first = stamp(SANE_SINCE)  # 2018-01-01T00:00:00Z: the first second believed
    lines = [*transfer(1, SANE_SINCE), *transfer(2, NOW + 86399)]
    assert lines[0].startswith(first)
    assert len(proc.process_rows(lines, now=NOW).rows) == 2
    later = transfer(3, NOW + 3 * 86400)
    assert proc.process_rows(later, now=NOW).rows == []  # two days ahead of now
    assert len(proc.process_rows(transfer(4, NOW + 3 * 86400), now=NOW + 2.5 * 86400).rows) == 1
    # the clock going back forgets cached times that are too new again
    assert proc.process_rows(transfer(5, NOW + 3 * 86400), now=NOW).rows == []


def test_zap_json_epoch_and_docker_times_outside_the_window() -> None:
    parser = LineParser("n")
    parser.set_now(NOW)
    fields = {"Piece ID": piece_id(1), "Satellite ID": SAT, "Action": "GET", "Size": 5}
    zap = {"L": "INFO", "N": "piecestore", "M": "downloaded", **fields}
    assert parser.parse(json.dumps({**zap, "T": 1.0})) is None  # 1970
    assert parser.rejected_by_reason == {BAD_TIME: 1}
    assert isinstance(parser.parse(json.dumps({**zap, "T": NOW})), PieceLine)
    # a docker receive time outside the window is dropped, the line is kept
    inner = finish_line(1, stamp(NOW)) + "\n"
    piece = parser.parse(json.dumps({"log": inner, "time": "0001-01-01T00:00:00.5Z"}))
    assert isinstance(piece, PieceLine) and piece.precise_ts is None
    assert piece.timestamp == NOW


@pytest.mark.parametrize("size", [-1, -5, "-7", -1.0, 1 << 41], ids=str)
@pytest.mark.parametrize("key", ["Size", "size"])
def test_negative_or_absurd_sizes_are_rejected(size: object, key: str) -> None:
    proc = LineProcessor("n", max_pending=100, ttl_seconds=3600)
    start = transfer(1, NOW)[0]
    if key == "size":  # the v1.146 dialect
        fields = {"piece_id": piece_id(1), "satellite_id": SAT, "action": "GET", "size": size,
                  "remote_address": "203.0.113.1:40112"}  # fmt: skip
        line = f"{stamp(NOW + 1)}\tINFO\tpiecestore\tdownloaded\t{json.dumps(fields)}"
    else:
        line = finish_line(1, stamp(NOW + 1), Size=size, **{"Remote Address": "203.0.113.1:40112"})
    out = proc.process_rows([start, line], now=NOW)
    assert out.rows == [] and out.bad == [(line, BAD_SIZE)]
    assert proc.parser.rejected_by_reason == {BAD_SIZE: 1}
    assert len(proc.process_rows(transfer(2, NOW), now=NOW).rows) == 1  # size 1002 is fine


# --- hypothesis: no timestamp string makes the pipeline (store included) raise ------------

_digits = st.integers
_FRACTIONS = ["", ".5", ".123456789", ",001", ".", ".x"]
_ZONES = ["", "Z", "z", "+01:00", "-07:00", "+0100", "+01", "+23:59", "-99:99", "+"]
_STAMP_PARTS = (
    _digits(0, 9999), _digits(0, 13), _digits(0, 32), st.sampled_from(["T", " ", "x"]),
    _digits(0, 25), _digits(0, 61), _digits(0, 61), st.sampled_from(_FRACTIONS),
    st.sampled_from(_ZONES),
)  # fmt: skip
STAMPS = st.one_of(
    st.builds("{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}{}".format, *_STAMP_PARTS),
    st.text(max_size=45),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STAMPS, st.one_of(st.none(), st.floats(allow_nan=True), st.integers(-(2**70), 2**70)))
def test_no_timestamp_makes_the_pipeline_raise(ts_text: str, epoch: float | int | None) -> None:
    proc = LineProcessor("n", max_pending=100, ttl_seconds=3600)
    lines = [dated(line, ts_text) for line in transfer(1, NOW)] + transfer(2, NOW)
    if "\t" not in ts_text and "\n" not in ts_text and "\r" not in ts_text:
        zap = {"L": "INFO", "N": "piecestore", "M": "uploaded", "Piece ID": piece_id(3),
               "Satellite ID": SAT, "Action": "PUT", "Size": 1,
               "T": ts_text if epoch is None else epoch}  # fmt: skip
        lines.append(json.dumps(zap))
    out = proc.process_rows(lines, now=NOW)
    parser = proc.parser
    assert parser.internal_errors == 0
    assert proc.lines == len(lines)
    lo, hi = sane_window(NOW)
    assert all(lo <= row[0] <= hi for row in out.rows)
    conn = connect(":memory:")
    try:
        migrate(conn)
        stored = transaction(conn, lambda c: se.write_row_batch(c, out.rows, out.records))
        assert stored == len(out.rows)
    finally:
        conn.close()


# --- the store ------------------------------------------------------------------------------


def _row(t: float, i: int = 0) -> tuple[object, ...]:
    return (t, "n", "GET", "success", 10, SAT, piece_id(i), "203.0.113.1", None, None, 5.0,
            "log_seconds")  # fmt: skip


def test_rollups_do_not_allocate_by_time_span() -> None:
    """Two rows ten years apart once needed a table of 5 M minutes (42 MB); now a few KB."""
    conn = connect(":memory:")
    migrate(conn)
    rows = [_row(NOW, 1), _row(NOW + 10 * 365 * 86400.0, 2)]
    tracemalloc.start()
    try:
        transaction(conn, lambda c: se.write_row_batch(c, rows, []))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
    minutes = conn.execute("SELECT bucket_start, count FROM rollups_minute ORDER BY 1").fetchall()
    assert minutes == [(NOW // 60 * 60, 1), ((NOW + 10 * 365 * 86400.0) // 60 * 60, 1)]
    conn.close()


def test_rollups_store_rows_of_any_year_written_directly() -> None:
    """The store does not judge times (the parser does); a row of year 1 or 9999 that gets
    here anyway is aggregated like any other, without a span-sized allocation."""
    conn = connect(":memory:")
    migrate(conn)
    times = [-62135596800.0, 253402300799.0, NOW]  # 0001-01-01, 9999-12-31T23:59:59, now
    rows = [_row(t, i) for i, t in enumerate(times)]
    transaction(conn, lambda c: se.write_row_batch(c, rows, []))
    transaction(conn, lambda c: se.write_row_batch(c, rows, []))  # merged with the stored ones
    hours = conn.execute("SELECT bucket_start, count FROM rollups_hour ORDER BY 1").fetchall()
    assert hours == [(t // 3600 * 3600, 2) for t in sorted(times)]
    assert conn.execute("SELECT SUM(count) FROM latency_minute").fetchone()[0] == 6
    conn.close()


def _table_with_a_poison(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE t (x INTEGER CHECK (x != 13))")


def test_isolate_bisects_down_to_the_failing_rows() -> None:
    conn = connect(":memory:")
    _table_with_a_poison(conn)
    calls: list[int] = []

    def write(c: sqlite3.Connection, part: Sequence[int]) -> None:
        calls.append(len(part))
        c.executemany("INSERT INTO t VALUES (?)", [(x,) for x in part])

    conn.execute("BEGIN")
    failed = isolate(conn, list(range(100)), write)
    conn.execute("COMMIT")
    assert [(x, why.split(":")[0]) for x, why in failed] == [(13, "IntegrityError")]
    assert conn.execute("SELECT COUNT(*), SUM(x) FROM t").fetchone() == (99, 4950 - 13)
    assert calls[0] == 100 and len(calls) <= 2 * 7 + 1  # halves, not one row at a time
    conn.close()


def test_isolate_raises_operational_errors_instead_of_blaming_rows() -> None:
    conn = connect(":memory:")
    conn.execute("BEGIN")

    def write(c: sqlite3.Connection, part: Sequence[int]) -> None:
        c.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(sqlite3.OperationalError):
        isolate(conn, [1, 2, 3], write)
    conn.execute("ROLLBACK")
    conn.close()


def test_write_with_retries_retries_once_then_isolates() -> None:
    attempts: list[str] = []
    fail_plain = [2]

    def run(fn):  # type: ignore[no-untyped-def]
        return fn(None)

    def write(conn: object, quarantine: list[BadLine] | None) -> str:
        attempts.append("plain" if quarantine is None else "isolating")
        if quarantine is None and fail_plain[0]:
            fail_plain[0] -= 1
            raise sqlite3.IntegrityError("poison")
        if quarantine is not None:
            quarantine.append(BadLine("n", "p", 0, "{}", "event row failed to write: x", 1.0))
        return "done"

    assert se.write_with_retries(run, write) == ("done", [BadLine(
        "n", "p", 0, "{}", "event row failed to write: x", 1.0)])  # fmt: skip
    assert attempts == ["plain", "plain", "isolating"]
    attempts.clear()
    fail_plain[0] = 1  # a transient failure: the retry stores everything
    assert se.write_with_retries(run, write) == ("done", [])
    assert attempts == ["plain", "plain"]
    attempts.clear()
    fail_plain[0] = 1
    assert se.write_with_retries(run, write, failures=1)[0] == "done"  # failed elsewhere once
    assert attempts == ["plain", "isolating"]


def test_write_with_retries_never_retries_an_offset_conflict() -> None:
    calls = [0]

    def write(conn: object, quarantine: list[BadLine] | None) -> None:
        calls[0] += 1
        raise se.OffsetConflictError("n|fp", 0, 10)

    with pytest.raises(se.OffsetConflictError):
        se.write_with_retries(lambda fn: fn(None), write)
    assert calls == [1]
