"""/metrics families of background jobs (filewalkers, garbage collection, trash, hashstore
compaction), from the runs :class:`~storj_monitor.services.maintenance_watch.MaintenanceWatch`
found on its last pass (no I/O at scrape time). Labels: node, task (``used_space``, ``gc``,
``trash``, ``compaction``), satellite (id, "" when the line names none), store (hashstore
``s0``/``s1``, "" for the others: two stores of one satellite compact separately).

| metric | type | meaning |
|---|---|---|
| storj_monitor_maintenance_last_duration_seconds | gauge | duration of the job's last finished run |
| storj_monitor_maintenance_running | gauge | 1 while a run is going, else 0 |
| storj_monitor_maintenance_last_success_timestamp_seconds | gauge | end of the last completed run |

and the disk seen three ways (``services.disk_views``), labels node and ``view`` (``node``,
``filesystem``) / ``gap``:

| metric | type | meaning |
|---|---|---|
| storj_monitor_disk_view_bytes | gauge | node, view, figure (used, trash, free, total): bytes as that view says |
| storj_monitor_disk_paid_bytes | gauge | node: what the satellites pay for (newest daily tallies, summed) |
| storj_monitor_disk_gap_bytes | gauge | node, gap (trash, uncollected_garbage, hidden_by_allocation) |
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from storj_monitor.analytics.maintenance import latest_runs
from storj_monitor.web.context import ApiContext

P = "storj_monitor_maintenance_"
LABELS = ["node", "task", "satellite", "store"]


def maintenance_families(ctx: ApiContext) -> Iterator[Metric]:
    last = GaugeMetricFamily(
        P + "last_duration_seconds", "Duration of the job's last finished run", labels=LABELS
    )
    running = GaugeMetricFamily(P + "running", "1 while a run of the job is going", labels=LABELS)
    success = GaugeMetricFamily(
        P + "last_success_timestamp_seconds",
        "End of the job's last completed run (UTC unix seconds)",
        labels=LABELS,
    )
    watch = ctx.runtime.maintenance
    for node, runs in sorted((watch.runs if watch else {}).items()):
        completed: dict[tuple[str, str | None, str | None], float] = {}
        for run in runs:
            if run.status == "completed" and run.finished_at is not None:
                completed[run.key] = max(completed.get(run.key, 0.0), run.finished_at)
        for key, entry in sorted(latest_runs(runs).items(), key=lambda kv: str(kv[0])):
            labels = [node, key[0], key[1] or "", key[2] or ""]
            done = entry.get("last")
            if done is not None and done.duration_ms is not None:
                last.add_metric(labels, done.duration_ms / 1000.0)
            running.add_metric(labels, 1.0 if "running" in entry else 0.0)
            if key in completed:
                success.add_metric(labels, completed[key])
    yield last
    yield running
    yield success


def disk_families(ctx: ApiContext) -> Iterator[Metric]:
    views = GaugeMetricFamily(
        "storj_monitor_disk_view_bytes",
        "The node's disk as one view says (node API or log, filesystem)",
        labels=["node", "view", "figure"],
    )
    paid = GaugeMetricFamily(
        "storj_monitor_disk_paid_bytes",
        "Bytes the satellites pay the node to store (newest daily tallies, summed)",
        labels=["node"],
    )
    gaps = GaugeMetricFamily(
        "storj_monitor_disk_gap_bytes",
        "Named gaps between the views: trash, uncollected garbage, free space the allocation hides",
        labels=["node", "gap"],
    )
    disks = ctx.runtime.disks
    for node in ctx.runtime.node_names:
        c = disks.comparison(node) if disks is not None else None
        if not c:
            continue
        for view in ("node", "filesystem"):
            for figure, value in (c.get(view) or {}).items():
                if value is not None:
                    views.add_metric([node, view, figure], float(value))
        if c.get("paid_bytes") is not None:
            paid.add_metric([node], float(c["paid_bytes"]))
        for gap, value in (c.get("gaps") or {}).items():
            if value is not None:
                gaps.add_metric([node, gap], float(value))
    yield views
    yield paid
    yield gaps
