"""The maintenance card's rows and alert conditions from background-job runs (pure).

Per node, job (task, satellite, hashstore store): the last finished run and the running one,
each a row with ISO times, duration (ms), pieces, bytes, ``running_for_s`` while it runs and
the job's ``typical_duration_ms`` (median of its completed runs). Alerts:

- ``maintenance_overdue`` (warning): a run has been going for longer than ``factor`` × its
  job's median (``analytics.maintenance.overdue``); resolved when it ends.
- ``maintenance_failed`` (warning): the job's last finished run failed; resolved by the next
  run that completes.

Times UTC unix seconds in, ISO 8601 ``Z`` out; durations ms.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from storj_monitor.analytics.maintenance import TASKS, MaintenanceRun, latest_runs, overdue
from storj_monitor.model import AlertCondition, iso_utc

MAINTENANCE_KINDS = frozenset({"maintenance_overdue", "maintenance_failed"})
TASK_LABELS = {
    "used_space": "used-space filewalker",
    "gc": "garbage collection",
    "trash": "trash cleanup",
    "compaction": "hashstore compaction",
}


def human_duration(seconds: float) -> str:
    """``"2 d 4 h"``, ``"3 h 12 min"``, ``"27 min"``, ``"45 s"``: the two largest units."""
    s = max(int(seconds), 0)
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    if m:
        return f"{m} min"
    return f"{sec} s"


def _job_text(run: MaintenanceRun, names: Mapping[str, str]) -> str:
    text = TASK_LABELS[run.task]
    if run.satellite_id:
        text += f" for {names.get(run.satellite_id) or run.satellite_id[:12]}"
    if run.store:
        text += f" (store {run.store})"
    return text


def _alert_key(kind: str, run: MaintenanceRun) -> str:
    return f"{kind}:{run.task}:{run.satellite_id or '-'}:{run.store or '-'}"


def status_rows(
    runs: Sequence[MaintenanceRun],
    now: float,
    names: Mapping[str, str] | None = None,
    *,
    factor: float = 3.0,
) -> list[dict[str, Any]]:
    """The last and the running run of every job, ordered by task, satellite, store."""
    names = names or {}
    late = {r.key for r, _ in overdue(runs, now=now, factor=factor)}
    order: dict[str, int] = {t: i for i, t in enumerate(TASKS)}  # run keys hold a str task
    rows: list[dict[str, Any]] = []
    latest = latest_runs(runs)
    durations: dict[tuple[str, str | None, str | None], list[float]] = {}
    for r in runs:  # grouped once: typical_duration_ms per key would rescan every run
        if r.status == "completed" and r.duration_ms is not None:
            durations.setdefault(r.key, []).append(r.duration_ms)
    for key in sorted(latest, key=lambda k: (order[k[0]], k[1] or "", k[2] or "")):
        typical = statistics.median(durations[key]) if key in durations else None
        for slot in ("running", "last"):
            run = latest[key].get(slot)
            if run is None:
                continue
            running = run.status == "running"
            rows.append(
                {
                    "task": run.task,
                    "task_label": TASK_LABELS[run.task],
                    "satellite_id": run.satellite_id,
                    "satellite_name": names.get(run.satellite_id or ""),
                    "store": run.store,
                    "status": run.status,
                    "started_at": iso_utc(run.started_at),
                    "finished_at": iso_utc(run.finished_at),
                    "duration_ms": run.duration_ms,
                    "pieces": run.pieces,
                    "bytes": run.bytes,
                    "error": run.error,
                    "running_for_s": (
                        max(now - run.started_at, 0.0)
                        if running and run.started_at is not None
                        else None
                    ),
                    "typical_duration_ms": typical,
                    "overdue": running and run.key in late,
                }
            )
    return rows


def maintenance_conditions(
    node_name: str,
    runs: Sequence[MaintenanceRun],
    now: float,
    names: Mapping[str, str] | None = None,
    *,
    factor: float = 3.0,
) -> list[AlertCondition]:
    """Overdue running runs and jobs whose last run failed, as alert conditions."""
    names = names or {}
    out: list[AlertCondition] = []
    for run, expected_s in overdue(runs, now=now, factor=factor):
        assert run.started_at is not None
        running_s = now - run.started_at
        job = _job_text(run, names)
        out.append(
            AlertCondition(
                node_name=node_name,
                kind="maintenance_overdue",
                key=_alert_key("maintenance_overdue", run),
                severity="warning",
                title=f"{TASK_LABELS[run.task].capitalize()} running unusually long on {node_name}",
                message=(
                    f"The {job} has been running for {human_duration(running_s)}; it usually "
                    f"takes {human_duration(expected_s)} (alert after {factor:g}× that). A walker "
                    "that never ends keeps the disk busy and its figures out of date."
                ),
                details={
                    "task": run.task,
                    "satellite_id": run.satellite_id,
                    "store": run.store,
                    "running_for_s": round(running_s, 1),
                    "typical_duration_s": round(expected_s, 1),
                },
            )
        )
    for entry in latest_runs(runs).values():
        last = entry.get("last")
        if last is None or last.status != "failed":
            continue
        job = _job_text(last, names)
        out.append(
            AlertCondition(
                node_name=node_name,
                kind="maintenance_failed",
                key=_alert_key("maintenance_failed", last),
                severity="warning",
                title=f"{TASK_LABELS[last.task].capitalize()} failed on {node_name}",
                message=(
                    f"The last {job} failed"
                    + (f": {last.error}" if last.error else "")
                    + ". The node retries it; this alert ends when a run completes."
                ),
                details={
                    "task": last.task,
                    "satellite_id": last.satellite_id,
                    "store": last.store,
                    "finished_at": iso_utc(last.finished_at),
                    "error": last.error,
                },
            )
        )
    return out
