"""The real v1.13x sample (CC0, 181 lines + an unterminated shell prompt): exact counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import LineParser, PieceLine
from storj_monitor.logs.timestamps import parse_timestamp
from storj_monitor.model import Event, LogRecord

SAMPLE = Path(__file__).parent / "fixtures" / "real-node-v1.13x.log"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    with SAMPLE.open(encoding="utf-8", newline="") as handle:
        return handle.readlines()


def parse_all(lines: list[str]) -> tuple[LineParser, list[PieceLine], list[LogRecord]]:
    parser = LineParser("sample")
    pieces: list[PieceLine] = []
    records: list[LogRecord] = []
    for line in lines:
        result = parser.parse(line)
        if isinstance(result, PieceLine):
            pieces.append(result)
        elif isinstance(result, LogRecord):
            records.append(result)
    return parser, pieces, records


def test_counters(lines: list[str]) -> None:
    parser, pieces, records = parse_all(lines)
    assert len(lines) == 182
    assert parser.lines == 182
    assert parser.piece_lines == len(pieces) == 58
    assert parser.records == len(records) == 76
    assert parser.unparseable == 1  # the pasted shell prompt at the end
    assert parser.ignored == 182 - 58 - 76 - 1


def test_events_per_status(lines: list[str]) -> None:
    _, pieces, _ = parse_all(lines)
    assert sum(p.started for p in pieces) == 15
    results = Counter(p.status for p in pieces if not p.started)
    assert results == {"success": 15, "canceled": 13, "failed": 15}
    by_action = Counter((p.action, p.status) for p in pieces if not p.started)
    assert by_action == {
        ("GET", "success"): 3,
        ("GET_AUDIT", "success"): 3,
        ("GET_REPAIR", "success"): 3,
        ("PUT", "success"): 3,
        ("PUT_REPAIR", "success"): 3,
        ("GET", "canceled"): 3,
        ("GET_AUDIT", "canceled"): 1,
        ("GET_REPAIR", "canceled"): 3,
        ("PUT", "canceled"): 3,
        ("PUT_REPAIR", "canceled"): 3,
        ("GET", "failed"): 3,
        ("GET_REPAIR", "failed"): 3,
        ("PUT", "failed"): 6,
        ("PUT_REPAIR", "failed"): 3,
    }


def test_error_categories(lines: list[str]) -> None:
    _, pieces, _ = parse_all(lines)
    failed = Counter(p.error_category for p in pieces if p.status == "failed")
    assert failed == {
        "unexpected EOF": 6,
        "timeout": 5,  # context deadline exceeded, read: operation timed out
        "connection refused": 2,
        "broken pipe": 2,
    }
    canceled = Counter(p.error_category for p in pieces if p.status == "canceled")
    assert canceled == {None: 6, "context canceled": 3, "size mismatch": 3, "stream closed": 1}


def test_record_kinds(lines: list[str]) -> None:
    _, _, records = parse_all(lines)
    assert Counter(r.kind for r in records) == {
        "hashstore_compaction": 21,
        "lazyfilewalker": 12,
        "trash": 12,
        "storage_check": 6,
        "reputation": 6,
        "version": 4,
        "retain": 4,
        "upload_internal_error": 3,
        "collector": 3,
        "orders": 3,
        "gc_filewalker": 2,
    }


def test_record_values(lines: list[str]) -> None:
    _, _, records = parse_all(lines)
    retain = next(r for r in records if r.message == "Moved pieces to trash during retain")
    assert retain.duration_ms == pytest.approx(311.370704)
    assert retain.satellite_id == "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs"
    assert retain.fields["retain_status"] == "enabled"
    assert retain.timestamp == parse_timestamp("2025-10-07T00:44:49Z")

    finished = [r for r in records if r.message == "finished compaction"]
    assert [r.duration_ms for r in finished] == pytest.approx(
        [100.031853, 26051.478463, 68935.185195]
    )
    assert finished[0].fields["stats"]["NumLogs"] == 11

    scores = [r for r in records if r.kind == "reputation"]
    updated = next(
        r for r in scores if r.satellite_id == "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"
    )
    assert updated.fields["total_audits"] == 3298
    assert updated.fields["online_score"] == pytest.approx(0.9994736842105263)
    assert {r.level for r in scores} == {"INFO", "WARN"}

    trash = [r.duration_ms for r in records if r.message == "emptying trash finished"]
    assert trash == pytest.approx([346.279855, 275.119746, 277.482258])


def test_offsets_become_utc(lines: list[str]) -> None:
    _, pieces, _ = parse_all(lines)
    first = pieces[0]  # 2025-10-06T00:00:14-07:00
    assert first.timestamp == parse_timestamp("2025-10-06T07:00:14Z")


def test_pairing_the_time_sorted_sample(lines: list[str]) -> None:
    """The sample is grouped by message; in time order its starts pair with their results."""
    _, pieces, _ = parse_all(lines)
    pairer = Pairer("sample")
    events: list[Event] = []
    for piece in sorted(pieces, key=lambda p: (p.timestamp, not p.started)):
        event = pairer.feed(piece)
        if event is not None:
            events.append(event)
    assert len(events) == 43
    paired = [e for e in events if e.duration_ms is not None]
    # 15 start lines; 10 of them have a result line in the sample.
    assert pairer.paired == len(paired) == 10
    assert pairer.unmatched == 33
    assert pairer.pending == 0 and pairer.expired == 5  # the sample spans a day; ttl is 1 h
    assert all(e.duration_source == "log_seconds" and e.status == "success" for e in paired)
    assert sorted(e.duration_ms for e in paired) == [0.0] * 8 + [1000.0, 1000.0]
