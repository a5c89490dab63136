"""LineProcessor's fast path gives exactly what LineParser.parse + Pairer.feed give.

The fast path (plain console piece lines read inline, start lines straight into the pairer's
dict, events as row tuples) must not change a single row, record or counter, whatever the
dialect, wrapper, arrival clock, ttl expiry or pending bound.
"""

from __future__ import annotations

import pytest

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.parser import PieceLine
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
