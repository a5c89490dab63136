"""/metrics families of node health (services/node_watch.py), read at scrape time.

| metric | type | labels | meaning |
|---|---|---|---|
| storj_monitor_node_log_readable | gauge | node | 1 when the local log file can be read, 0 when missing or unreadable (local files only) |
| storj_monitor_node_last_line_timestamp_seconds | gauge | node | when the newest log line was read (live) or written (backlog), UTC |
| storj_monitor_node_log_lines_per_minute | gauge | node | the learned line rate the silence alert uses (0: not learned yet) |
| storj_monitor_node_start_timestamp_seconds | gauge | node | the node's last start (API ``startedAt``, else its start-up lines) |
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from storj_monitor.web.context import ApiContext

P = "storj_monitor_"


def health_families(ctx: ApiContext) -> Iterator[Metric]:
    runtime = ctx.runtime
    readable = GaugeMetricFamily(
        P + "node_log_readable", "1 when the node's local log file can be read", labels=["node"]
    )
    last_line = GaugeMetricFamily(
        P + "node_last_line_timestamp_seconds", "When the newest log line was read (live) "
        "or written (backlog)", labels=["node"],
    )  # fmt: skip
    rate = GaugeMetricFamily(
        P + "node_log_lines_per_minute", "Learned log line rate (0: not learned yet)",
        labels=["node"],
    )  # fmt: skip
    started = GaugeMetricFamily(
        P + "node_start_timestamp_seconds", "The node's last start", labels=["node"]
    )
    now = ctx.clock()
    for name in runtime.node_names:
        ingest = runtime.ingests.get(name)
        if ingest is not None:
            state = ingest.log_state
            if state is not None:
                readable.add_metric([name], 1.0 if state.state == "ok" else 0.0)
            last_at, per_minute = ingest.line_activity()
            if last_at is not None:
                last_line.add_metric([name], last_at)
            rate.add_metric([name], per_minute)
        if runtime.health is not None:
            start = runtime.health.uptime(name, now)["started_at"]
            if start is not None:
                started.add_metric([name], start)
    yield from (readable, last_line, rate, started)
