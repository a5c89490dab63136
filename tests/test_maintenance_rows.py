"""analytics/maintenance_status without a store: every field of the card's rows and of the
overdue / failed alert conditions, worked out by hand from hand-made runs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.maintenance import TASKS, MaintenanceRun
from storj_monitor.analytics.maintenance_status import (
    human_duration,
    maintenance_conditions,
    status_rows,
)
from storj_monitor.model import AlertCondition

AP1 = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"
EU1 = "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs"
US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
T = 1_770_800_400.0  # 2026-02-11T09:00:00Z
DAY = 86_400.0
NAMES = {US1: "us1.storj.io:7777"}

#: used_space on US1 took 1800, 2400.46 and 3000 s: median 2400.46 s; it runs again from T.
HISTORY = [
    MaintenanceRun("used_space", US1, None, T - 3 * DAY, T - 3 * DAY + 1800, "completed", 1_800_000.0),
    MaintenanceRun("used_space", US1, None, T - 2 * DAY, T - 2 * DAY + 2400, "completed", 2_400_460.0),
    MaintenanceRun("used_space", US1, None, T - DAY, T - DAY + 3000, "completed", 3_000_000.0, 300, 3000),
]  # fmt: skip
RUNNING = MaintenanceRun("used_space", US1, None, T, None, "running")
GC_FAILED = MaintenanceRun("gc", EU1, None, T - 7200, T - 3600, "failed", 3_600_000.0,
                           error="lazyfilewalker: signal: killed")  # fmt: skip
COMPACTION_FAILED = MaintenanceRun("compaction", None, "s1", T - 600, T - 500, "failed", 100_000.0)
TRASH = MaintenanceRun("trash", AP1, None, T - 100, T - 50, "completed", 50_000.0, 7, 70)
RUNS = [*HISTORY, GC_FAILED, COMPACTION_FAILED, TRASH, RUNNING]
#: 3 × 2400.46 s = 7201.38 s after the start: overdue.
NOW = T + 7300.06

OVERDUE = AlertCondition(
    "n1", "maintenance_overdue", f"maintenance_overdue:used_space:{US1}:-", "warning",
    "Used-space filewalker running unusually long on n1",
    "The used-space filewalker for us1.storj.io:7777 has been running for 2 h 1 min; it usually "
    "takes 40 min (alert after 3× that). A walker that never ends keeps the disk busy and its "
    "figures out of date.",
    {"task": "used_space", "satellite_id": US1, "store": None, "running_for_s": 7300.1,
     "typical_duration_s": 2400.5},
)  # fmt: skip
GC_ALERT = AlertCondition(
    "n1", "maintenance_failed", f"maintenance_failed:gc:{EU1}:-", "warning",
    "Garbage collection failed on n1",
    "The last garbage collection for 12L9ZFwhzVpu failed: lazyfilewalker: signal: killed. "
    "The node retries it; this alert ends when a run completes.",
    {"task": "gc", "satellite_id": EU1, "store": None, "finished_at": "2026-02-11T08:00:00Z",
     "error": "lazyfilewalker: signal: killed"},
)  # fmt: skip
COMPACTION_ALERT = AlertCondition(
    "n1", "maintenance_failed", "maintenance_failed:compaction:-:s1", "warning",
    "Hashstore compaction failed on n1",
    "The last hashstore compaction (store s1) failed. "
    "The node retries it; this alert ends when a run completes.",
    {"task": "compaction", "satellite_id": None, "store": "s1",
     "finished_at": "2026-02-11T08:51:40Z", "error": None},
)  # fmt: skip


def test_every_field_of_the_conditions() -> None:
    assert maintenance_conditions("n1", RUNS, NOW, NAMES) == [OVERDUE, GC_ALERT, COMPACTION_ALERT]


def test_conditions_without_names_and_before_the_threshold() -> None:
    # No names: the satellite is its ID's first 12 characters.
    (overdue, *_) = maintenance_conditions("n1", RUNS, NOW)
    assert overdue.message.startswith("The used-space filewalker for 12EayRS2V1kE has been")
    # Just under 3× the median (and under 4×): only the failures.
    assert maintenance_conditions("n1", RUNS, T + 7201.3, NAMES) == [GC_ALERT, COMPACTION_ALERT]
    # A factor passed in is the one used (2 × 2400.46 = 4800.92 s).
    (early, *_) = maintenance_conditions("n1", RUNS, T + 4801, NAMES, factor=2.0)
    assert early.kind == "maintenance_overdue" and "(alert after 2× that)" in early.message
    not_yet = maintenance_conditions("n1", RUNS, T + 4800, NAMES, factor=2.0)
    assert [c.kind for c in not_yet] == ["maintenance_failed", "maintenance_failed"]


def _row(run: MaintenanceRun, **kw: object) -> dict[str, object]:
    labels = {"used_space": "used-space filewalker", "gc": "garbage collection",
              "trash": "trash cleanup", "compaction": "hashstore compaction"}  # fmt: skip
    row: dict[str, object] = {
        "task": run.task, "task_label": labels[run.task], "satellite_id": run.satellite_id,
        "satellite_name": None, "store": run.store, "status": run.status,
        "started_at": None, "finished_at": None, "duration_ms": run.duration_ms,
        "pieces": run.pieces, "bytes": run.bytes, "error": run.error, "running_for_s": None,
        "typical_duration_ms": None, "overdue": False,
    }  # fmt: skip
    row.update(kw)
    return row


def test_every_field_of_the_rows() -> None:
    rows = status_rows(RUNS, NOW, NAMES)
    assert rows == [
        _row(RUNNING, satellite_name="us1.storj.io:7777", started_at="2026-02-11T09:00:00Z",
             running_for_s=pytest.approx(7300.06), typical_duration_ms=2_400_460.0, overdue=True),
        _row(HISTORY[2], satellite_name="us1.storj.io:7777", started_at="2026-02-10T09:00:00Z",
             finished_at="2026-02-10T09:50:00Z", typical_duration_ms=2_400_460.0),
        # A failed run's duration is no one's typical duration.
        _row(GC_FAILED, started_at="2026-02-11T07:00:00Z", finished_at="2026-02-11T08:00:00Z"),
        _row(TRASH, started_at="2026-02-11T08:58:20Z", finished_at="2026-02-11T08:59:10Z",
             typical_duration_ms=50_000.0),
        _row(COMPACTION_FAILED, started_at="2026-02-11T08:50:00Z",
             finished_at="2026-02-11T08:51:40Z"),
    ]  # fmt: skip
    # The default factor is 3: at 3.5× the median the run is overdue.
    assert status_rows(RUNS, T + 3.5 * 2400.46)[0]["overdue"] is True
    assert status_rows(RUNS, T + 2.5 * 2400.46)[0]["overdue"] is False
    # A factor passed in is the one used.
    assert status_rows(RUNS, T + 2.5 * 2400.46, factor=2.0)[0]["overdue"] is True


def test_running_for_starts_at_zero() -> None:
    assert status_rows([RUNNING], T)[0]["running_for_s"] == 0.0
    assert status_rows([RUNNING], T - 30)[0]["running_for_s"] == 0.0  # a clock behind the log


_SATS = st.sampled_from([None, AP1, EU1, US1])
_STORES = st.one_of(st.none(), st.text(alphabet="0AXs1", min_size=1, max_size=3))


@given(st.lists(st.tuples(st.sampled_from(TASKS), _SATS, _STORES), max_size=12))
def test_rows_are_ordered_by_task_then_satellite_then_store(
    keys: list[tuple[str, str | None, str | None]],
) -> None:
    # One completed run per job, listed in the order drawn; a missing satellite or store first.
    runs = [MaintenanceRun(task, sat, store, 0.0, 1.0, "completed", 1000.0)  # type: ignore[arg-type]
            for task, sat, store in keys]  # fmt: skip
    rows = status_rows(runs, 2.0)
    got = [(r["task"], r["satellite_id"], r["store"]) for r in rows]
    assert got == sorted(set(keys), key=lambda k: (TASKS.index(k[0]), k[1] or "", k[2] or ""))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (45.9, "45 s"), (59, "59 s"), (60, "1 min"), (27 * 60 + 7, "27 min"),
     (3599, "59 min"), (3600, "1 h 0 min"), (3 * 3600 + 12 * 60, "3 h 12 min"),
     (86399, "23 h 59 min"), (86400, "1 d 0 h"), (2 * 86400 + 4 * 3600 + 59, "2 d 4 h"),
     (-5, "0 s")],
)  # fmt: skip
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
