"""Filewalker, garbage-collection, trash and hashstore-compaction runs from log records (pure).

The node logs each of its background jobs as a start line and an end line (reference A.8–A.11);
``runs_from_records`` pairs them per job and satellite (and hashstore store ``s0``/``s1``) into
runs with start, end, duration, pieces and bytes. A start with no end yet is ``running``; a node
restart (a start-up line) ends every running job as ``interrupted``. ``overdue`` says which
running jobs take far longer than their own history. Sizes like ``"923.6 MiB"`` are bytes here.
Times are UTC unix seconds; durations ms.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from storj_monitor.model import LogRecord

Task = Literal["used_space", "gc", "trash", "compaction"]
RunStatus = Literal["running", "completed", "failed", "interrupted"]
TASKS: tuple[Task, ...] = ("used_space", "gc", "trash", "compaction")

#: message → (task, role). A second start line of a run that is already running (the lazy
#: walker logs one in the parent and one in the child) does not start another run.
_MESSAGES: dict[str, tuple[Task, str]] = {
    "used-space-filewalker started": ("used_space", "start"),
    "used-space-filewalker completed": ("used_space", "end"),
    "used-space-filewalker failed": ("used_space", "fail"),
    "Prepared to run a Retain request.": ("gc", "start"),
    "gc-filewalker started": ("gc", "start"),
    "gc-filewalker completed": ("gc", "end"),
    "Moved pieces to trash during retain": ("gc", "end"),
    "retain pieces failed": ("gc", "fail"),
    "emptying trash started": ("trash", "start"),
    "trash-filewalker started": ("trash", "start"),
    "trash-filewalker completed": ("trash", "end"),
    "emptying trash finished": ("trash", "end"),
    "emptying trash failed": ("trash", "fail"),
    "beginning compaction": ("compaction", "start"),
    "hashtbl rewritten": ("compaction", "progress"),
    "finished compaction": ("compaction", "end"),
    "compaction failed": ("compaction", "fail"),
}
#: A second end line this soon after a run ended adds its figures to that run (seconds).
MERGE_WINDOW_S = 120.0
_RESTART_MESSAGES = ("Configuration loaded",)
#: Every message ``runs_from_records`` reads (the store filters on it).
MESSAGES: frozenset[str] = frozenset(_MESSAGES) | frozenset(_RESTART_MESSAGES)

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGTPE]?i?B)\s*$")
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
          "EB": 10**18, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
          "PiB": 2**50, "EiB": 2**60}  # fmt: skip
#: Fields that count pieces / give bytes, per end or progress line, in the order tried.
_PIECES = ("total_pieces_count", "trashed_pieces", "deleted_pieces", "num_keys_deleted",
           "trashed_records")  # fmt: skip
_BYTES = ("total_pieces_size", "bytes_deleted", "reclaimed_bytes")


def parse_size(value: Any) -> int | None:
    """Bytes from a number or a Go-style human size (``"2.1 GiB"``, ``"0 B"``, ``"12 MB"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    m = _SIZE.match(value)
    if m is None or m.group(2) not in _UNITS:
        return None
    return round(float(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True, slots=True)
class MaintenanceRun:
    """One run of a background job; None where the log did not say."""

    task: Task
    satellite_id: str | None
    store: str | None
    started_at: float | None
    finished_at: float | None
    status: RunStatus
    duration_ms: float | None = None
    pieces: int | None = None
    bytes: int | None = None
    error: str | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return (self.task, self.satellite_id, self.store)


def _first(fields: dict[str, Any], names: Sequence[str], parse: Any) -> Any:
    for name in names:
        if name in fields:
            value = parse(fields[name])
            if value is not None:
                return value
    return None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _figures(run: MaintenanceRun, r: LogRecord, *, add_bytes: bool = False) -> MaintenanceRun:
    pieces = _first(r.fields, _PIECES, _count)
    size = _first(r.fields, _BYTES, parse_size)
    if add_bytes and size is not None and run.bytes is not None:
        size += run.bytes
    return replace(
        run,
        pieces=pieces if pieces is not None else run.pieces,
        bytes=size if size is not None else run.bytes,
    )


def runs_from_records(records: Iterable[LogRecord]) -> list[MaintenanceRun]:
    """Every run the records tell of, in order of start (records must be in time order)."""
    running: dict[tuple[str, str | None, str | None], MaintenanceRun] = {}
    done: list[MaintenanceRun] = []
    last_done: dict[tuple[str, str | None, str | None], int] = {}
    for r in records:
        if r.kind == "startup" and r.message in _RESTART_MESSAGES:
            for open_run in running.values():
                done.append(replace(open_run, status="interrupted", finished_at=r.timestamp))
            running.clear()
            continue
        rule = _MESSAGES.get(r.message)
        if rule is None:
            continue
        task, role = rule
        store = r.fields.get("store") if task == "compaction" else None
        key = (task, r.satellite_id, store if isinstance(store, str) else None)
        run = running.get(key)
        if role == "start":
            if run is None:
                running[key] = MaintenanceRun(task, key[1], key[2], r.timestamp, None, "running")
            continue
        if role == "progress":
            if run is not None:
                running[key] = _figures(run, r, add_bytes=True)
            continue
        error = r.fields.get("error")
        failed = role == "fail" or (isinstance(error, str) and bool(error))
        if run is None:  # an end with no start: merge into the run that just ended, or keep
            index = last_done.get(key)
            if index is not None and r.timestamp - (done[index].finished_at or 0) <= MERGE_WINDOW_S:
                done[index] = _figures(done[index], r)
                continue
            run = MaintenanceRun(task, key[1], key[2], None, None, "running")
        duration = r.duration_ms
        if duration is None and run.started_at is not None:
            duration = (r.timestamp - run.started_at) * 1000.0
        finished = replace(
            _figures(run, r), finished_at=r.timestamp, duration_ms=duration,
            status="failed" if failed else "completed",
            error=error if isinstance(error, str) and error else None,
        )  # fmt: skip
        running.pop(key, None)
        last_done[key] = len(done)
        done.append(finished)
    out = done + list(running.values())
    out.sort(key=lambda x: x.started_at if x.started_at is not None else x.finished_at or 0.0)
    return out


def latest_runs(runs: Sequence[MaintenanceRun]) -> dict[tuple[str, str | None, str | None], dict[str, MaintenanceRun]]:
    """Per job key: its ``last`` finished run and its ``running`` run (each if any)."""
    out: dict[tuple[str, str | None, str | None], dict[str, MaintenanceRun]] = {}
    for run in runs:
        slot = "running" if run.status == "running" else "last"
        entry = out.setdefault(run.key, {})
        prev = entry.get(slot)
        if prev is None or (run.finished_at or run.started_at or 0) >= (prev.finished_at or prev.started_at or 0):
            entry[slot] = run
    return out


def typical_duration_ms(runs: Sequence[MaintenanceRun], key: tuple[str, str | None, str | None]) -> tuple[float | None, int]:
    """Median duration of the key's completed runs, and how many there were."""
    durations = [r.duration_ms for r in runs
                 if r.key == key and r.status == "completed" and r.duration_ms is not None]  # fmt: skip
    return (statistics.median(durations) if durations else None, len(durations))


def overdue(
    runs: Sequence[MaintenanceRun],
    *,
    now: float,
    factor: float = 3.0,
    min_history: int = 2,
    floor_s: float = 3600.0,
) -> list[tuple[MaintenanceRun, float]]:
    """Running runs that have taken longer than ``factor`` × their key's median completed
    duration (with at least ``min_history`` completed runs) and at least ``floor_s``;
    each with its expected duration in seconds."""
    out = []
    for run in runs:
        if run.status != "running" or run.started_at is None:
            continue
        typical, n = typical_duration_ms(runs, run.key)
        if typical is None or n < min_history:
            continue
        expected_s = typical / 1000.0
        if now - run.started_at > max(factor * expected_s, floor_s):
            out.append((run, expected_s))
    return out
