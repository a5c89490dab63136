"""The seeded log generator: realistic, deterministic, and readable by our own parser."""

from __future__ import annotations

import re
import statistics
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.demo.background import go_duration
from storj_monitor.demo.loggen import DEFAULT_START, SATELLITES, LogGenerator
from storj_monitor.logs.goduration import parse_go_duration
from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import LineParser, PieceLine
from storj_monitor.logs.timestamps import parse_timestamp
from storj_monitor.model import Event, LogRecord

BASE32_PIECE = re.compile(r"[A-Z2-7]{52}")


def run(lines: list[str]) -> tuple[LineParser, Pairer, list[Event], list[LogRecord]]:
    parser, pairer = LineParser("demo"), Pairer("demo")
    events: list[Event] = []
    records: list[LogRecord] = []
    for line in lines:
        result = parser.parse(line)
        if isinstance(result, PieceLine):
            event = pairer.feed(result)
            if event is not None:
                events.append(event)
        elif isinstance(result, LogRecord):
            records.append(result)
    return parser, pairer, events, records


@pytest.fixture(scope="module")
def sample() -> list[str]:
    return list(LogGenerator(seed=7).lines(20_000))


def test_deterministic_per_seed() -> None:
    assert list(LogGenerator(seed=1).lines(500)) == list(LogGenerator(seed=1).lines(500))
    assert list(LogGenerator(seed=1).lines(50)) != list(LogGenerator(seed=2).lines(50))


def test_lines_continue_the_same_stream() -> None:
    one = LogGenerator(seed=5)
    first, second = list(one.lines(300)), list(one.lines(300))
    assert first + second == list(LogGenerator(seed=5).lines(600))


def test_everything_parses(sample: list[str]) -> None:
    parser, _, _, _ = run(sample)
    assert parser.unparseable == 0 and parser.internal_errors == 0
    assert parser.lines == len(sample) == 20_000
    assert all("\n" not in line for line in sample)


def test_time_ordered_whole_seconds_from_start(sample: list[str]) -> None:
    stamps = [line.split("\t", 1)[0] for line in sample]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)
    times = [parse_timestamp(s) or 0.0 for s in stamps]
    assert times == sorted(times)
    assert times[0] >= DEFAULT_START
    # ~50 transfers/s, two lines each: 20,000 lines span roughly 200 s.
    assert 120 < times[-1] - times[0] < 320


def test_realistic_mix(sample: list[str]) -> None:
    _, _, events, _ = run(sample)
    actions = Counter(e.action for e in events)
    total = len(events)
    assert 0.64 < actions["GET"] / total < 0.76
    assert 0.16 < actions["PUT"] / total < 0.24
    assert 0.01 < actions["GET_AUDIT"] / total < 0.05
    assert 0.01 < actions["GET_REPAIR"] / total < 0.07
    assert 0.01 < actions["PUT_REPAIR"] / total < 0.06
    statuses = Counter(e.status for e in events)
    assert statuses["success"] / total > 0.85
    assert statuses["canceled"] > 0 and statuses["failed"] > 0
    categories = Counter(e.error_category for e in events if e.status == "failed")
    assert {"unexpected EOF", "broken pipe", "connection reset", "timeout"} <= set(categories)
    satellites = Counter(e.satellite_id for e in events)
    assert set(satellites) == {sat for sat, _ in SATELLITES}
    assert all(BASE32_PIECE.fullmatch(e.piece_id or "") for e in events)
    ips = {e.remote_ip for e in events}
    assert any(":" in (ip or "") for ip in ips) and any("." in (ip or "") for ip in ips)


def test_every_result_pairs_with_its_start(sample: list[str]) -> None:
    _, pairer, events, _ = run(sample)
    assert pairer.unmatched == 0
    # The only starts left waiting are transfers still running at the end of the sample.
    assert pairer.pending < 400
    durations = [e.duration_ms for e in events if e.duration_ms is not None]
    assert len(durations) == len(events)
    assert {e.duration_source for e in events} == {"log_seconds"}
    assert statistics.median(durations) <= 1000.0
    assert max(durations) >= 3000.0


def test_race_lost_twin_is_one_event() -> None:
    lines = list(LogGenerator(seed=11).lines(60_000))
    race = sum("\tdownload canceled (race lost or node shutdown)\t" in line for line in lines)
    twins = sum("\tDEBUG\tpiecestore\tdownload canceled\t" in line for line in lines)
    results = sum(
        line.split("\t")[3] in {"uploaded", "downloaded", "upload canceled", "download canceled",
                                "download canceled (race lost or node shutdown)", "upload failed", "download failed"}
        for line in lines
    )  # fmt: skip
    assert race > 0 and twins == race
    _, _, events, _ = run(lines)
    assert len(events) == results - twins


@pytest.mark.parametrize(("dialect", "key"), [("old", '"Piece ID"'), ("new", '"piece_id"')])
def test_dialects(dialect: str, key: str) -> None:
    lines = list(LogGenerator(seed=2, dialect=dialect, background_per_hour=0).lines(400))  # type: ignore[arg-type]
    assert all(key in line for line in lines)
    _, _, events, _ = run(lines)
    assert events and all(e.piece_id for e in events)


def test_mixed_dialect_has_both(sample: list[str]) -> None:
    assert any('"Piece ID"' in line for line in sample)
    assert any('"piece_id"' in line for line in sample)


def test_without_debug_no_start_lines() -> None:
    lines = list(LogGenerator(seed=3, debug=False).lines(2000))
    assert not any("\tDEBUG\t" in line for line in lines)
    assert not any(" started\t" in line and "piecestore" in line for line in lines)
    _, pairer, events, _ = run(lines)
    assert len(events) == 2000 - sum("\tpiecestore\t" not in line for line in lines)
    assert all(e.duration_ms is None for e in events) and pairer.unmatched == len(events)


def test_docker_wrapper_gives_precise_durations() -> None:
    lines = list(LogGenerator(seed=4, docker=True).lines(3000))
    assert all(line.startswith('{"log":') for line in lines)
    _, _, events, _ = run(lines)
    sources = Counter(e.duration_source for e in events)
    assert sources == {"precise": len(events)}
    assert any(0 < (e.duration_ms or 0) < 1000 and (e.duration_ms or 0) % 1000 for e in events)


def test_background_lines_become_records() -> None:
    # Few transfers, many background lines (some finish up to 50 minutes after they start).
    lines = list(LogGenerator(seed=9, ops_per_second=0.5, background_per_hour=7200).lines(5000))
    _, _, _, records = run(lines)
    kinds = Counter(r.kind for r in records)
    assert {"reputation", "hashstore_compaction", "used_space_filewalker", "ping_failed",
            "trash", "retain", "orders", "collector"} <= set(kinds)  # fmt: skip
    compactions = [r for r in records if r.message == "finished compaction"]
    assert compactions and all((r.duration_ms or 0) > 0 for r in compactions)
    scores = [r for r in records if r.kind == "reputation"]
    assert all(0 <= r.fields["audit_score"] <= 1 for r in scores)


def test_lines_between_windows() -> None:
    gen = LogGenerator(seed=6, start=DEFAULT_START)
    t0 = DEFAULT_START
    first = list(gen.lines_between(t0, t0 + 10))
    second = list(gen.lines_between(t0 + 10, t0 + 20))
    for lines, lo in ((first, t0), (second, t0 + 10)):
        assert lines
        times = [parse_timestamp(line.split("\t", 1)[0]) or 0 for line in lines]
        assert lo <= min(times) and max(times) < lo + 10
    # ~50 ops/s: ~1000 lines per 10 s window.
    assert 600 < len(first) < 1400


def test_lines_between_skips_a_gap() -> None:
    gen = LogGenerator(seed=6)
    list(gen.lines_between(DEFAULT_START, DEFAULT_START + 5))
    later = DEFAULT_START + 86_400
    lines = list(gen.lines_between(later, later + 5))
    times = [parse_timestamp(line.split("\t", 1)[0]) or 0 for line in lines]
    assert lines and min(times) >= later and max(times) < later + 5


def test_failure_line_with_any_error_text() -> None:
    gen = LogGenerator(seed=1)
    text = "<img src=x onerror=alert(1)>"
    line = gen.failure_line("GET_AUDIT", text, at=DEFAULT_START + 3)
    piece = LineParser("n").parse(line)
    assert isinstance(piece, PieceLine)
    assert (piece.action, piece.status, piece.error, piece.level) == (
        "GET_AUDIT",
        "failed",
        text,
        "ERROR",
    )
    assert piece.timestamp == DEFAULT_START + 3
    quoted = gen.failure_line("PUT", 'quote " backslash \\ newline \n tab \t', dialect="new")
    upload = LineParser("n").parse(quoted)
    assert (
        isinstance(upload, PieceLine) and upload.error == 'quote " backslash \\ newline \n tab \t'
    )
    assert upload.action == "PUT"


def test_transfer_helper() -> None:
    gen = LogGenerator(seed=1)
    lines = gen.transfer("PUT", "canceled", at=DEFAULT_START, latency=2.0, piece_id="X" * 52, remote_address="[2001:db8::1]:4000")  # fmt: skip
    assert len(lines) == 2
    _, _, events, _ = run(lines)
    assert len(events) == 1
    event = events[0]
    assert (event.action, event.status, event.piece_id, event.remote_ip) == (
        "PUT",
        "canceled",
        "X" * 52,
        "2001:db8::1",
    )
    assert event.duration_ms == 2000.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="dialect"):
        LogGenerator(dialect="klingon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ops_per_second"):
        LogGenerator(ops_per_second=0)


def test_available_space_goes_down_with_uploads() -> None:
    gen = LogGenerator(seed=8, available_space=10**12, background_per_hour=0)
    lines = list(gen.lines(2000))
    parser = LineParser("n")
    spaces = [
        p.available_space
        for p in map(parser.parse, lines)
        if isinstance(p, PieceLine) and p.available_space is not None
    ]
    assert spaces and spaces[0] < 10**12
    assert spaces == sorted(spaces, reverse=True)
    assert gen.available_space == spaces[-1]
    gen.available_space = 5
    assert gen.available_space == 5


@given(st.floats(0, 400_000, allow_nan=False))
def test_generated_go_durations_parse_back(seconds: float) -> None:
    text = go_duration(seconds)
    assert parse_go_duration(text) == pytest.approx(seconds * 1000, abs=1e-5, rel=1e-9)


@pytest.mark.parametrize(
    ("ts", "pattern"),
    [
        ("seconds", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
        ("millis", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
        ("micros", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"),
        ("nanos", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"),
    ],
)
def test_stamp_precision(ts: str, pattern: str) -> None:
    """``ts=`` writes the log's own stamps with that many fraction digits, in time order,
    the same lines otherwise."""
    lines = list(LogGenerator(seed=4, ts=ts).lines(300))  # type: ignore[arg-type]
    plain = list(LogGenerator(seed=4).lines(300))
    stamps = [line.split("\t", 1)[0] for line in lines]
    assert all(re.fullmatch(pattern, s) for s in stamps)
    times = [parse_timestamp(s) for s in stamps]
    assert times == sorted(times)
    assert [int(t) for t in times] == [int(parse_timestamp(p.split("\t", 1)[0])) for p in plain]
    assert [line.split("\t", 1)[1] for line in lines] == [p.split("\t", 1)[1] for p in plain]


def test_stamp_precision_must_be_known() -> None:
    with pytest.raises(ValueError, match="ts must be"):
        LogGenerator(ts="hours")  # type: ignore[arg-type]
