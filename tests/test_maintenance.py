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
     ("1.2 TiB", round(1.2 * 2**40)), ("12 MB", 12_000_000), (512, 512), ("NaN", None),
     ("", None), ("5 XB", None), (-3, None), (True, None), (None, None)],
)  # fmt: skip
def test_parse_size(text: object, size: int | None) -> None:
    assert parse_size(text) == size


@given(st.text(max_size=30))
def test_parse_size_never_raises(text: str) -> None:
    result = parse_size(text)
    assert result is None or result >= 0
