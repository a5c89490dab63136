"""analytics/maintenance: job runs paired from real log lines (reference A.8–A.11)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.maintenance import (
    MaintenanceRun,
    latest_runs,
    overdue,
    parse_size,
    runs_from_records,
    typical_duration_ms,
)
from storj_monitor.logs.parser import LineParser
from storj_monitor.model import LogRecord

AP1 = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"
EU1 = "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs"
US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"

LINES = f"""\
2025-10-06T00:00:03Z	INFO	pieces	used-space-filewalker started	{{"Process": "storagenode", "Satellite ID": "{EU1}"}}
2025-10-06T00:00:03Z	INFO	lazyfilewalker.used-space-filewalker	starting subprocess	{{"Process": "storagenode", "satelliteID": "{EU1}"}}
2025-10-06T00:27:10Z	INFO	pieces	used-space-filewalker completed	{{"Process": "storagenode", "Satellite ID": "{EU1}", "Lazy File Walker": true, "Total Pieces Size": 1941971737884, "Total Pieces Content Size": 1932261879195, "Total Pieces Count": 1765428, "Duration": "27m7.168320336s"}}
2025-10-06T02:57:49Z	INFO	hashstore	beginning compaction	{{"Process": "storagenode", "satellite": "{AP1}", "store": "s1", "stats": {{"NumLogs":212}}}}
2025-10-06T02:59:26Z	INFO	hashstore	hashtbl rewritten	{{"Process": "storagenode", "satellite": "{AP1}", "store": "s1", "duration": "55.270116027s", "trashed records": 4687, "reclaimed logs": 2, "reclaimed bytes": "2.5 GiB"}}
2025-10-06T02:59:26Z	INFO	hashstore	finished compaction	{{"Process": "storagenode", "satellite": "{AP1}", "store": "s1", "duration": "1m37.535705102s", "stats": {{"NumLogs":210}}}}
2025-10-06T17:44:49Z	INFO	retain	Prepared to run a Retain request.	{{"Process": "storagenode", "Created Before": "2025-10-03T14:56:00Z", "Filter Size": 1187031, "Satellite ID": "{EU1}"}}
2025-10-06T17:44:49Z	INFO	lazyfilewalker.gc-filewalker.subprocess	gc-filewalker started	{{"Process": "storagenode", "satelliteID": "{EU1}", "createdBefore": "2025-10-03T14:56:00Z", "bloomFilterSize": 1187031, "Process": "storagenode"}}
2025-10-06T18:09:06Z	INFO	lazyfilewalker.gc-filewalker.subprocess	gc-filewalker completed	{{"Process": "storagenode", "satelliteID": "{EU1}", "Trashed Pieces": 24414, "Process": "storagenode", "piecesCount": 632837, "Total Pieces To Trash": 24414, "Pieces Skipped": 0}}
2025-10-06T18:09:06Z	INFO	retain	Moved pieces to trash during retain	{{"Process": "storagenode", "Deleted pieces": 24414, "Failed to delete": 0, "Pieces count": 632837, "Satellite ID": "{EU1}", "Duration": "24m17.305833601s", "Retain Status": "enabled"}}
2025-10-07T00:20:52Z	INFO	pieces:trash	emptying trash started	{{"Process": "storagenode", "Satellite ID": "{US1}"}}
2025-10-07T00:21:08Z	INFO	lazyfilewalker.trash-cleanup-filewalker.subprocess	trash-filewalker completed	{{"Process": "storagenode", "satelliteID": "{US1}", "bytesDeleted": 6170432512, "Process": "storagenode", "numKeysDeleted": 4122}}
2025-10-07T00:21:08Z	INFO	pieces:trash	emptying trash finished	{{"Process": "storagenode", "Satellite ID": "{US1}", "elapsed": "15.475214484s"}}
2026-02-11T09:00:00Z	INFO	pieces	used-space-filewalker started	{{"process": "storagenode", "satellite_id": "{US1}"}}
2026-02-11T09:14:02Z	ERROR	pieces	used-space-filewalker failed	{{"process": "storagenode", "satellite_id": "{US1}", "lazy_file_walker": true, "error": "lazyfilewalker: signal: killed"}}
"""


def records(text: str) -> list[LogRecord]:
    parser = LineParser("n1")
    out = [parser.parse(line) for line in text.splitlines()]
    return [r for r in out if isinstance(r, LogRecord)]


def test_runs_from_real_lines() -> None:
    runs = runs_from_records(records(LINES))
    assert [(r.task, r.satellite_id, r.store, r.status) for r in runs] == [
        ("used_space", EU1, None, "completed"),
        ("compaction", AP1, "s1", "completed"),
        ("gc", EU1, None, "completed"),
        ("trash", US1, None, "completed"),
        ("used_space", US1, None, "failed"),
    ]
    used, compaction, gc, trash, failed = runs
    assert used.duration_ms == pytest.approx(27 * 60_000 + 7_168.320336)
    assert (used.pieces, used.bytes) == (1_765_428, 1_941_971_737_884)
    assert compaction.duration_ms == pytest.approx(97_535.705102)
    assert compaction.bytes == round(2.5 * 2**30) and compaction.pieces == 4687
    # The gc run ends at its first end line; the retain summary right after adds its figures.
    assert gc.started_at is not None and gc.finished_at is not None
    assert gc.finished_at - gc.started_at == 24 * 60 + 17
    assert gc.pieces == 24_414
    assert trash.bytes == 6_170_432_512 and trash.pieces == 4122
    assert failed.error == "lazyfilewalker: signal: killed"
    assert failed.duration_ms == pytest.approx(842_000)


def test_running_run_and_restart() -> None:
    start = f'2026-02-11T09:00:00Z\tINFO\tpieces\tused-space-filewalker started\t{{"Satellite ID": "{US1}"}}\n'
    restart = '2026-02-11T10:00:00Z\tINFO\tConfiguration loaded\t{"Location": "/app/config/config.yaml"}\n'
    (run,) = runs_from_records(records(start))
    assert run.status == "running" and run.finished_at is None
    interrupted, = runs_from_records(records(start + restart))
    assert interrupted.status == "interrupted"
    assert interrupted.finished_at == interrupted.started_at + 3600  # type: ignore[operator]


def _run(status: str, start: float, duration_s: float | None = None) -> MaintenanceRun:
    return MaintenanceRun(
        "used_space", US1, None, start, None if duration_s is None else start + duration_s,
        status, None if duration_s is None else duration_s * 1000,  # type: ignore[arg-type]
    )  # fmt: skip


def test_overdue_against_its_own_history() -> None:
    history = [_run("completed", 0, 1800), _run("completed", 86400, 2400), _run("completed", 2 * 86400, 2100)]
    running = _run("running", 3 * 86400)
    runs = [*history, running]
    assert typical_duration_ms(runs, running.key) == (2_100_000, 3)
    # 3 × 2100 s = 6300 s: not yet at 6300 s, overdue just after.
    assert overdue(runs, now=3 * 86400 + 6300) == []
    assert overdue(runs, now=3 * 86400 + 6301) == [(running, 2100.0)]
    # The floor: a job that usually takes 60 s is not overdue before an hour.
    quick = [_run("completed", 0, 60), _run("completed", 100, 60), running]
    assert overdue(quick, now=3 * 86400 + 3600) == []
    assert overdue(quick, now=3 * 86400 + 3601) == [(running, 60.0)]
    # Without enough history nothing is judged.
    assert overdue([history[0], running], now=10**9) == []


def test_latest_runs_keeps_last_and_running() -> None:
    a, b, r = _run("completed", 0, 10), _run("failed", 100, 10), _run("running", 200)
    assert latest_runs([a, b, r])[r.key] == {"last": b, "running": r}


@pytest.mark.parametrize(
    ("text", "size"),
    [("2.1 GiB", round(2.1 * 2**30)), ("0 B", 0), ("923.6 MiB", round(923.6 * 2**20)),
     ("1.2 TiB", round(1.2 * 2**40)), ("12 MB", 12_000_000), (512, 512), (0, 0), (0.5, 0),
     ("NaN", None), ("", None), ("5 XB", None), (-3, None), (True, None), (None, None)],
)  # fmt: skip
def test_parse_size(text: object, size: int | None) -> None:
    assert parse_size(text) == size


@given(st.text(max_size=30))
def test_parse_size_never_raises(text: str) -> None:
    result = parse_size(text)
    assert result is None or result >= 0


def rec(ts: float, message: str, sat: str | None = US1, kind: str = "job",
        duration_ms: float | None = None, **fields: object) -> LogRecord:  # fmt: skip
    return LogRecord(ts, "n1", kind, "INFO", message, sat, duration_ms, dict(fields))


def test_end_without_a_start_is_a_run_of_its_own() -> None:
    # The log begins mid-compaction: the end line alone makes a completed run with no start.
    end = rec(500.0, "finished compaction", AP1,
              duration_ms=9e3, store="s0", reclaimed_bytes="1 KiB")  # fmt: skip
    (run,) = runs_from_records([end])
    assert run == MaintenanceRun(
        "compaction", AP1, "s0", None, 500.0, "completed", 9_000.0, None, 1024, None
    )


def test_merge_window_is_inclusive_and_measured_from_the_end() -> None:
    start = rec(0.0, "gc-filewalker started")
    end = rec(0.0, "gc-filewalker completed", trashed_pieces=3)
    # A retain summary exactly 120 s after the run ended adds its figures to it ...
    summary = rec(120.0, "Moved pieces to trash during retain", deleted_pieces=7)
    merged = runs_from_records([start, end, summary])
    assert [(r.started_at, r.finished_at, r.pieces) for r in merged] == [(0.0, 0.0, 7)]
    # ... 120.5 s after, it is a run of its own (finished at 120.5, duration from its field).
    late = rec(120.5, "Moved pieces to trash during retain", duration_ms=6e4, deleted_pieces=7)
    apart = runs_from_records([start, end, late])
    assert [(r.started_at, r.finished_at, r.pieces, r.duration_ms) for r in apart] == [
        (0.0, 0.0, 3, 0.0), (None, 120.5, 7, 60_000.0),
    ]  # fmt: skip


def test_runs_are_ordered_by_start_and_orphan_ends_by_their_end() -> None:
    long = [rec(5.0, "used-space-filewalker started"),
            rec(100.0, "used-space-filewalker completed")]  # fmt: skip
    short = [rec(10.0, "emptying trash started"), rec(50.0, "emptying trash finished")]
    orphan = [rec(30.0, "gc-filewalker completed")]
    records = sorted([*long, *short, *orphan], key=lambda r: r.timestamp)
    runs = runs_from_records(records)
    assert [(r.task, r.started_at, r.finished_at) for r in runs] == [
        ("used_space", 5.0, 100.0), ("trash", 10.0, 50.0), ("gc", None, 30.0),
    ]  # fmt: skip
    # An orphan end at the epoch sorts at 0, before a run that started half a second later.
    first = runs_from_records(
        [rec(0.0, "gc-filewalker completed"), rec(0.5, "emptying trash started")]
    )
    assert [r.task for r in first] == ["gc", "trash"]


def test_progress_lines_add_bytes_and_the_end_line_replaces_them() -> None:
    begin = rec(0.0, "beginning compaction", AP1, store="s1")
    p1 = rec(10.0, "hashtbl rewritten", AP1, store="s1", trashed_records=4, reclaimed_bytes="100 B")
    p2 = rec(20.0, "hashtbl rewritten", AP1, store="s1", reclaimed_bytes=50)
    p3 = rec(25.0, "hashtbl rewritten", AP1, store="s1", trashed_records=6)  # pieces, no bytes
    end = rec(30.0, "finished compaction", AP1, store="s1")
    (run,) = runs_from_records([begin, p1, p2, p3, end])
    assert (run.pieces, run.bytes, run.duration_ms, run.status) == (6, 150, 30_000.0, "completed")
    end = rec(30.0, "finished compaction", AP1, store="s1", reclaimed_bytes=40)
    (replaced,) = runs_from_records([begin, p1, end])
    assert replaced.bytes == 40


def test_store_is_a_compaction_string_only() -> None:
    runs = runs_from_records([
        rec(0.0, "used-space-filewalker started", store="s0"),
        rec(1.0, "beginning compaction", AP1, store=1),
    ])  # fmt: skip
    assert [r.key for r in runs] == [("used_space", US1, None), ("compaction", AP1, None)]


def test_failed_or_errored_ends() -> None:
    def end(message: str, **fields: object) -> tuple[str, str | None]:
        start = rec(0.0, "emptying trash started")
        (run,) = runs_from_records([start, rec(5.0, message, **fields)])
        return run.status, run.error

    # A fail line is a failure with or without an error field.
    assert end("emptying trash failed") == ("failed", None)
    # An end line carrying an error string failed too.
    assert end("emptying trash finished", error="disk") == ("failed", "disk")
    # An empty or non-string error is no error.
    for odd in ("", 5, None):
        assert end("emptying trash finished", error=odd) == ("completed", None)


def test_piece_counts_are_numbers_not_flags_or_text() -> None:
    end = rec(5.0, "emptying trash finished",
              total_pieces_count=True, trashed_pieces="12", num_keys_deleted=4.0)  # fmt: skip
    (run,) = runs_from_records([rec(0.0, "emptying trash started"), end])
    assert run.pieces == 4 and isinstance(run.pieces, int)


def test_only_a_configuration_reload_interrupts() -> None:
    start = rec(0.0, "used-space-filewalker started")
    # Another start-up line (the server comes up after the config is loaded) changes nothing.
    server = rec(1.0, "Public server started on [::]:28967", None, "startup")
    (run,) = runs_from_records([start, server])
    assert run.status == "running"
    # After a restart, the records that follow are read as usual.
    runs = runs_from_records([
        start, rec(10.0, "Configuration loaded", None, "startup"),
        rec(20.0, "used-space-filewalker started"), rec(50.0, "used-space-filewalker completed"),
    ])  # fmt: skip
    assert [(r.status, r.started_at, r.finished_at) for r in runs] == [
        ("interrupted", 0.0, 10.0), ("completed", 20.0, 50.0),
    ]  # fmt: skip


def test_latest_runs_compares_times_not_list_order() -> None:
    early = _run("completed", 0, 10)  # finished at 10
    late = _run("failed", 5, 2)  # started after `early`, finished before it
    assert latest_runs([early, late])[early.key]["last"] is early
    assert latest_runs([late, early])[early.key]["last"] is early
    # Equal end times: the later in the list wins.
    tie = _run("interrupted", 8, 2)
    assert latest_runs([early, tie])[early.key]["last"] is tie
    assert latest_runs([tie, early])[early.key]["last"] is early
    # Running runs compare by their start.
    r1, r2 = _run("running", 100), _run("running", 200)
    assert latest_runs([r2, r1])[r1.key]["running"] is r2
    assert latest_runs([r1, r2])[r1.key]["running"] is r2
    # A run at the epoch counts as time 0, not 1.
    zero, half = _run("completed", 0, 0), _run("completed", 0, 0.5)
    assert latest_runs([half, zero])[half.key]["last"] is half
    assert latest_runs([zero, half])[half.key]["last"] is half


def test_typical_duration_counts_only_the_keys_completed_runs() -> None:
    other = MaintenanceRun("gc", US1, None, 0.0, 1.0, "completed", 999_000.0)
    failed = _run("failed", 0, 50)
    runs = [_run("completed", 0, 10), other, failed, _run("completed", 0, 20)]
    assert typical_duration_ms(runs, failed.key) == (15_000.0, 2)
    assert typical_duration_ms([other], failed.key) == (None, 0)
    assert typical_duration_ms([], failed.key) == (None, 0)


def test_overdue_judges_every_running_run() -> None:
    fresh = MaintenanceRun("gc", US1, None, 0.0, None, "running")  # no gc history
    history = [_run("completed", 0, 60), _run("completed", 100, 60)]
    running = _run("running", 1000)
    assert overdue([fresh, *history, running], now=1000 + 3601) == [(running, 60.0)]
    assert overdue([fresh], now=10**9) == []
