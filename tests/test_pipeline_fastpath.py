"""LineProcessor's fast path gives exactly what LineParser.parse + Pairer.feed give.

The fast path (plain console piece lines read inline, start lines straight into the pairer's
dict, events as row tuples) must not change a single row, record or counter, whatever the
dialect, wrapper, arrival clock, ttl expiry or pending bound.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.parser import PIECE_MESSAGES, PieceLine
from storj_monitor.logs.piece_lines import (
    CANCELED,
    DELETE,
    RACE_LOST,
    RACE_LOST_PUT,
    UPLOAD_FAILED,
)
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.model import Event, LogRecord
from storj_monitor.store.events import event_rows


def _reference(proc: LineProcessor, lines: list[str], arrival: float | None):
    """The general path only: parse, feed, Event -> row."""
    rows: list[tuple] = []
    records: list[LogRecord] = []
    space = None
    for line in lines:
        item = proc.parser.parse(line)
        if item is None:
            continue
        if type(item) is PieceLine:
            event = proc.pairer.feed(item, arrival)
            if event is not None:
                rows += event_rows([event])
            elif item.available_space is not None:
                space = (item.timestamp, item.available_space)
        else:
            records.append(item)
    return rows, records, space


def _counters(proc: LineProcessor) -> tuple[int, ...]:
    p, q = proc.parser, proc.pairer
    return (p.lines, p.piece_lines, p.records, p.ignored, p.unparseable,
            q.paired, q.unmatched, q.expired, q.pending)  # fmt: skip


EXTRA = [
    "",
    "garbage without tabs",
    '2026-11-28T10:30:15Z\tINFO\tpiecestore\tuploaded\t{"Piece ID": "P1", broken',
    '2026-11-28T10:30:15Z\tINFO\tpiecestore\tuploaded\t["not", "a", "dict"]',
    '2026-11-28T10:30:15Z\tINFO\tpiecestore\tuploaded\t{"Piece ID": 7, "Satellite ID": "S",'
    ' "Action": "PUT", "Size": "12", "Remote Address": "[2a01::1]:5"}',
    '2026-11-28T10:30:15Z\tDEBUG\tpiecestore\tupload started\t{"Piece ID": "P2",'
    ' "Satellite ID": "S", "Action": "PUT", "Available Space": 1.5e3, "Remote Address": "1.2.3.4:5"}',
    '2026-11-28T10:30:16Z\tINFO\tpiecestore\tuploaded\t{"Piece ID": "P2", "Satellite ID": "S",'
    ' "Action": "PUT", "Size": 3, "Remote Address": "1.2.3.4:5", "error": 5}\r\n',
    '2026-11-28T10:30:16Z\tINFO\tpiecestore\tupload canceled\t{"piece_id": "P3",'
    ' "satellite_id": "S", "action": "PUT", "remote_address": "h:1", "reason": "context canceled"}',
    '2026-11-28T10:30:16Z\tNOTALEVEL\tpiecestore\tuploaded\t{"Piece ID": "P4"}',
]


@pytest.mark.parametrize(
    ("gen_kwargs", "max_pending", "ttl"),
    [
        ({"dialect": "mixed"}, 200_000, 3600.0),
        ({"dialect": "old"}, 40, 1.5),  # the bound and ttl expiry both at work
        ({"dialect": "new", "docker": True}, 1000, 0.5),
        ({"dialect": "mixed", "debug": False}, 1000, 600.0),
    ],
)
@pytest.mark.parametrize("arrival", [None, 1_700_000_000.0])
def test_fast_path_matches_general_path(gen_kwargs, max_pending, ttl, arrival) -> None:
    lines = list(LogGenerator(seed=5, **gen_kwargs).lines(6000))
    lines[100:100] = EXTRA
    fast = LineProcessor("n", max_pending=max_pending, ttl_seconds=ttl)
    slow = LineProcessor("n", max_pending=max_pending, ttl_seconds=ttl)
    for i in range(0, len(lines), 700):
        chunk = lines[i : i + 700]
        got = fast.process_rows(chunk, arrival)
        rows, records, space = _reference(slow, chunk, arrival)
        assert got.rows == rows
        assert got.records == records
        assert got.available_space == space
    assert _counters(fast) == _counters(slow)
    assert fast.pairer.waiting == slow.pairer.waiting


def test_process_returns_events_of_the_rows() -> None:
    lines = list(LogGenerator(seed=2).lines(2000))
    a = LineProcessor("n", max_pending=1000, ttl_seconds=600.0)
    b = LineProcessor("n", max_pending=1000, ttl_seconds=600.0)
    out = a.process(lines)
    rows = b.process_rows(lines).rows
    assert out.events == [Event(*row) for row in rows]
    assert len(out.events) > 500
    assert all(e.duration_ms is not None for e in out.events)


# --- every stamp form: random lines, fast path == general path -----------------------------

_FRACTIONS = ("", ".5", ".25", ".123", ",123", ".123456", ".123456789", ".000")
_ZONES = ("Z", "+01:00", "-07:00", "+0100", "+05:30", "", "+01", "z")
_PIECES = ("P1", "P2", "P3")
_ADDRESSES = ("1.2.3.4:5", "[2a01:4f8::2]:34310", "h:1", "5.6.7.8:9")
_NEW_KEYS = ("action", "piece_id", "satellite_id", "size", "remote_address", "available_space")
_OLD_KEYS = ("Action", "Piece ID", "Satellite ID", "Size", "Remote Address", "Available Space")


NOW_2026_11_28 = 1_795_861_800.0  # 2026-11-28T10:30:00Z


@st.composite
def stamps(draw: st.DrawFn) -> str:
    """A log time in any form the storagenode (or a wrapper) writes, now and then broken."""
    second = draw(st.integers(0, 7))
    year = draw(st.sampled_from(("2026",) * 12 + ("2017", "2027")))  # outside the sane window
    head = f"{year}-11-28{draw(st.sampled_from('T '))}10:30:{second:02d}"
    stamp = head + draw(st.sampled_from(_FRACTIONS)) + draw(st.sampled_from(_ZONES))
    if draw(st.integers(0, 30)) == 0:
        stamp = draw(st.sampled_from(("2026-13-28T10:30:15Z", "garbage", stamp + "x")))
    return stamp


@st.composite
def piece_lines(draw: st.DrawFn) -> str:
    """A console piece line (either dialect, random field types now and then)."""
    keys = draw(st.sampled_from((_NEW_KEYS, _OLD_KEYS)))
    message = draw(st.sampled_from(sorted(PIECE_MESSAGES)))
    fields: dict[str, object] = {
        keys[0]: draw(st.sampled_from(("GET", "PUT", "GET_AUDIT"))),
        keys[1]: draw(st.sampled_from(_PIECES)),
        keys[2]: "S",
        keys[4]: draw(st.sampled_from(_ADDRESSES)),
    }
    if draw(st.booleans()):
        fields[keys[3]] = draw(st.one_of(st.integers(0, 1 << 40), st.just("12"), st.just(1.5)))
    if message.endswith("started") and draw(st.booleans()):
        fields[keys[5]] = draw(st.one_of(st.integers(0, 1 << 40), st.just(2.5)))
    if draw(st.integers(0, 3)) == 0:
        fields["error"] = draw(st.sampled_from(("file does not exist", "context canceled", 5)))
    if draw(st.integers(0, 10)) == 0:
        del fields[draw(st.sampled_from(sorted(fields)))]
    level = draw(st.sampled_from(("DEBUG", "INFO", "WARN", "ERROR", "warning", "NOTALEVEL")))
    logger = draw(st.sampled_from(("piecestore", "piecestore", "piecestore", "pieces")))
    body = orjson.dumps(fields).decode()
    if draw(st.integers(0, 20)) == 0:
        body = body[:-3]  # cut off
    ending = draw(st.sampled_from(("", "", "\r\n", "\n")))
    return f"{draw(stamps())}\t{level}\t{logger}\t{message}\t{body}{ending}"


@st.composite
def any_lines(draw: st.DrawFn) -> str:
    line = draw(piece_lines())
    shape = draw(st.integers(0, 9))
    if shape == 0:  # zap's --log.encoding=json of the same line
        ts, level, logger, message, body = line.rstrip("\r\n").split("\t")
        try:
            fields = orjson.loads(body)
        except orjson.JSONDecodeError:
            return line
        return orjson.dumps({"L": level, "T": ts, "N": logger, "M": message, **fields}).decode()
    if shape == 1:  # docker -t prefix with a nanosecond stamp
        return f"2026-11-28T10:30:0{draw(st.integers(0, 7))}.123456789Z {line}"
    if shape == 2:  # journald / syslog prefix
        return f"Nov 28 10:30:15 host storagenode[123]: {line}"
    if shape == 3:  # docker's json-file wrapper
        nanos = draw(st.integers(0, 999_999_999))
        wrapper = {"log": line.rstrip("\r\n") + "\n", "stream": "stderr",
                   "time": f"2026-11-28T10:30:0{draw(st.integers(0, 7))}.{nanos:09d}Z"}  # fmt: skip
        return orjson.dumps(wrapper).decode()
    return line


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(any_lines(), min_size=1, max_size=40),
    arrival=st.sampled_from((None, 1_700_000_000.0)),
    ttl=st.sampled_from((0.5, 3600.0)),
    now=st.sampled_from((None, NOW_2026_11_28)),
)
def test_fast_path_matches_general_path_for_every_stamp_form(lines, arrival, ttl, now) -> None:
    fast = LineProcessor("n", max_pending=8, ttl_seconds=ttl)
    slow = LineProcessor("n", max_pending=8, ttl_seconds=ttl)
    if now is not None:
        slow.parser.set_now(now)
    half = len(lines) // 2
    for chunk in (lines[:half], lines[half:]):
        got = fast.process_rows(chunk, arrival, now)
        rows, records, space = _reference(slow, chunk, arrival)
        assert got.rows == rows
        assert got.records == records
        assert got.available_space == space
        assert got.bad == slow.parser.rejected_lines  # rejected: outside the window
        slow.parser.rejected_lines = []
    assert _counters(fast) == _counters(slow)
    assert fast.parser.rejected == slow.parser.rejected
    assert fast.pairer.waiting == slow.pairer.waiting


@pytest.mark.parametrize(
    ("ts", "source", "durations_whole_seconds"),
    [("seconds", "log_seconds", True), ("millis", "log_millis", False),
     ("micros", "log_millis", False), ("nanos", "log_millis", False)],
)  # fmt: skip
def test_sub_second_stamps_stay_on_the_fast_path(
    ts: str, source: str, durations_whole_seconds: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unique stamps (every line its own millisecond) take the fast path all the same, and
    their durations are labelled by the stamps' real precision."""
    lines = list(LogGenerator(seed=9, ts=ts, background_per_hour=0).lines(3000))  # type: ignore[arg-type]
    proc = LineProcessor("n", max_pending=100_000, ttl_seconds=3600.0)
    slow_calls = []
    real_slow = proc._slow_line
    monkeypatch.setattr(
        proc, "_slow_line", lambda line, *a: slow_calls.append(line) or real_slow(line, *a)
    )
    rows = proc.process_rows(lines).rows
    assert slow_calls == _special_cases(lines)  # only the special cases go slow
    assert len(lines) - len(slow_calls) > 2900
    measured = [row for row in rows if row[10] is not None]
    assert len(measured) > 1000
    assert {row[11] for row in measured} == {source}
    whole = all(row[10] % 1000.0 == 0.0 for row in measured)
    assert whole is durations_whole_seconds


def _special_cases(lines: list[str]) -> list[str]:
    """The lines the fast path leaves to the parser: race-lost and delete lines, and the
    DEBUG twin (``download canceled`` / ``upload failed``) of a race-lost transfer."""
    race_lost: set[str] = set()
    special = []
    for line in lines:
        _ts, level, _logger, message, body = line.split("\t")
        kind = PIECE_MESSAGES[message][2]
        fields = orjson.loads(body)
        piece = fields.get("piece_id", fields.get("Piece ID"))
        if kind in (RACE_LOST, RACE_LOST_PUT, DELETE):
            special.append(line)
            if kind != DELETE:
                race_lost.add(piece)
        elif kind in (CANCELED, UPLOAD_FAILED) and level == "DEBUG" and piece in race_lost:
            special.append(line)
            race_lost.discard(piece)
    return special


def test_canceled_and_failed_lines_take_the_fast_path_unless_a_race_lost_twin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``download canceled`` and ``upload failed`` are events on the fast path; only the
    DEBUG twin of a race-lost line (not an event) goes to the parser, which drops it."""

    def line(ts: str, level: str, message: str, piece: str, action: str) -> str:
        body = orjson.dumps({"piece_id": piece, "satellite_id": "S", "action": action,
                             "remote_address": "1.2.3.4:5", "error": "context canceled"})  # fmt: skip
        return f"2026-11-28T10:30:{ts}Z\t{level}\tpiecestore\t{message}\t{body.decode()}"

    lines = [
        line("15.100", "DEBUG", "download started", "A", "GET"),
        line("15.200", "DEBUG", "download started", "B", "GET"),
        line("15.300", "DEBUG", "upload started", "C", "PUT"),
        line("16.000", "INFO", "download canceled (race lost or node shutdown)", "A", "GET"),
        line("16.001", "DEBUG", "download canceled", "A", "GET"),  # the twin: not an event
        line("16.500", "DEBUG", "download canceled", "B", "GET"),  # no race lost: an event
        line("16.700", "ERROR", "upload failed", "C", "PUT"),
    ]
    proc = LineProcessor("n", max_pending=100, ttl_seconds=3600.0)
    slow_calls: list[str] = []
    real_slow = proc._slow_line
    monkeypatch.setattr(
        proc, "_slow_line", lambda line, *a: slow_calls.append(line) or real_slow(line, *a)
    )
    rows = proc.process_rows(lines).rows
    assert slow_calls == [lines[3], lines[4]]
    assert [(r[2], r[3], r[6], r[11]) for r in rows] == [
        ("GET", "canceled", "A", "log_millis"),
        ("GET", "canceled", "B", "log_millis"),
        ("PUT", "failed", "C", "log_millis"),
    ]
    assert [round(r[10]) for r in rows] == [900, 1300, 1400]
    assert rows[1][9] == "context canceled"
    assert proc.parser.race_lost == {}  # the twin was taken off
    assert proc.ignored == 1


def test_log_millis_durations_are_exact_to_the_millisecond() -> None:
    lines = [
        '2026-11-28T10:30:15.120Z\tDEBUG\tpiecestore\tupload started\t{"piece_id": "P",'
        ' "satellite_id": "S", "action": "PUT", "remote_address": "1.2.3.4:5"}',
        '2026-11-28T11:30:16.455+01:00\tINFO\tpiecestore\tuploaded\t{"piece_id": "P",'
        ' "satellite_id": "S", "action": "PUT", "remote_address": "1.2.3.4:5", "size": 7}',
        '2026-11-28T10:30:15.12Z\tDEBUG\tpiecestore\tupload started\t{"piece_id": "Q",'
        ' "satellite_id": "S", "action": "PUT", "remote_address": "1.2.3.4:5"}',
        '2026-11-28T10:30:16.455Z\tINFO\tpiecestore\tuploaded\t{"piece_id": "Q",'
        ' "satellite_id": "S", "action": "PUT", "remote_address": "1.2.3.4:5", "size": 7}',
    ]
    for arrival in (None, 1_700_000_000.0):
        rows = (
            LineProcessor("n", max_pending=10, ttl_seconds=60.0).process_rows(lines, arrival).rows
        )
        assert rows[0][11] == "log_millis"
        assert rows[0][10] == pytest.approx(1335.0, abs=1e-3)  # float seconds: ~0.2 µs
        # two fraction digits are not milliseconds: not labelled as such
        assert rows[1][11] == ("arrival" if arrival is not None else "log_seconds")
