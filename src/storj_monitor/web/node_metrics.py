"""Our own per-node gauges on /metrics (``storj_monitor_*``, every one with a ``node`` label).

Read at scrape time from what the monitor already holds: the node API coordinators' last
replies (disk, scores), the live window of :class:`~storj_monitor.services.live_stats.LiveStats`
(success ratio), the ingest services (time of the last log line), the alert engine (open alerts), and
:class:`~storj_monitor.services.metrics_feed.MetricsFeed`, a bus subscriber that keeps the monotonic counters Prometheus needs
(operations per satellite, a latency histogram per category) and each node's last capacity
forecast (bus ``poll``). No store read and no API call happen at scrape time. The families
and example alert rules are listed in docs/metrics.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from storj_monitor.analytics.reputation import audits_until_disqualification
from storj_monitor.web.exporter_metrics import number

if TYPE_CHECKING:
    from storj_monitor.web.context import ApiContext

P = "storj_monitor_"


def _gauge(name: str, text: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(P + name, text, labels=["node", *labels])


def node_families(ctx: ApiContext) -> Iterator[Metric]:
    """Every ``storj_monitor_*`` per-node family of docs/metrics.md's "our own" table."""
    feed = ctx.metrics_feed
    runtime = ctx.runtime
    now = ctx.clock()

    ops = CounterMetricFamily(
        P + "operations",
        "Piece operations seen since start, per satellite, action and status",
        labels=["node", "satellite", "action", "status"],
    )
    for (node, sat, action, status), n in sorted(feed.operations.items()):
        ops.add_metric([node, sat, action, status], float(n))
    yield ops

    ratio = _gauge(
        "success_ratio",
        "Successful share (0..1) of the operations of the live window (last 5 minutes)",
        "satellite",
        "action",
    )
    for node, window in sorted(ctx.live.nodes.items()):
        per: dict[tuple[str, str], list[int]] = {}
        for (sat, action, status, _category), (n, _bytes) in window.totals.items():
            acc = per.setdefault((sat, action), [0, 0])
            acc[1] += n
            if status == "success":
                acc[0] += n
        for (sat, action), (ok, total) in sorted(per.items()):
            if total > 0:
                ratio.add_metric([node, sat, action], ok / total)
    yield ratio

    latency = HistogramMetricFamily(
        P + "operation_duration_seconds",
        "Measured durations of piece operations per category (get, put, audit, repair, other)",
        labels=["node", "category"],
    )
    for (node, category), hist in sorted(feed.latency.items()):
        latency.add_metric([node, category], hist.buckets(), sum_value=hist.sum)
    yield latency

    yield from _api_families(ctx)
    yield from _forecast_families(feed.forecasts)

    age = _gauge(
        "last_log_line_age_seconds",
        "Seconds since the newest log line was read (live) or written (backlog)",
    )
    for node, ing in runtime.ingests.items():
        last_at, _per_minute = ing.line_activity()
        if last_at is not None:
            age.add_metric([node], max(now - float(last_at), 0.0))
    yield age

    alerts = _gauge("open_alerts", "Open alerts per kind", "kind")
    counts: Counter[tuple[str, str]] = Counter(
        (a.node_name, a.kind) for a in ctx.engine.open_alerts()
    )
    for (node, kind), n in sorted(counts.items()):
        alerts.add_metric([node, kind], float(n))
    yield alerts


def _api_families(ctx: ApiContext) -> Iterator[Metric]:
    """Disk and reputation from the coordinators' last good poll (none while the API is down)."""
    used = _gauge(
        "disk_used_ratio", "Used share (0..1) of the allocated disk space, trash included"
    )
    scores = {
        key: _gauge(f"{key}_score_ratio", f"{key.capitalize()} score (0..1) per satellite",
                    "satellite")
        for key in ("audit", "suspension", "online")
    }  # fmt: skip
    left = _gauge(
        "audits_until_disqualification",
        "Consecutive failed audits the node survives before its audit score drops below 96 %",
        "satellite",
    )
    failing = _gauge(
        "node_api_endpoint_failing",
        "1 for each API path that failed in the node's last poll (its families are left out)",
        "endpoint",
    )
    for node, c in ctx.runtime.coordinators.items():
        for path in sorted(c.endpoint_failures):
            failing.add_metric([node, path], 1.0)
        data = c.data
        if data is None or not c.live:
            continue
        disk = data.summary.disk
        if disk.total_bytes > 0:
            used.add_metric([node], disk.used_bytes / disk.total_bytes)
        for sid, detail in sorted(data.details.items()):
            audits = detail.raw.get("audits")
            if not isinstance(audits, dict):
                continue
            for key, family in scores.items():
                value = number(audits.get(f"{key}Score"))
                if value is not None:
                    family.add_metric([node, sid], value)
            audit = number(audits.get("auditScore"))
            n = audits_until_disqualification(None if audit is None else audit * 100.0)
            if n is not None:
                left.add_metric([node, sid], float(n))
    yield failing
    yield used
    yield from scores.values()
    yield left


def _forecast_families(forecasts: dict[str, dict[str, Any]]) -> Iterator[Metric]:
    """Days until the disk is full (None = not filling: no sample) and its low/high bounds."""
    families = {
        "days_until_full": _gauge("disk_days_until_full", "Days until the allocation is full"),
        "days_until_full_low": _gauge(
            "disk_days_until_full_low", "Days until full at the fast end of the growth range"
        ),
        "days_until_full_high": _gauge(
            "disk_days_until_full_high", "Days until full at the slow end of the growth range"
        ),
    }
    for node, forecast in sorted(forecasts.items()):
        for key, family in families.items():
            value = number(forecast.get(key))
            if value is not None:
                family.add_metric([node], value)
    yield from families.values()
