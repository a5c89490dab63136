"""Prometheus metrics through a custom collector that reads the monitor's state at scrape time.

Nothing is counted twice and no global gauges exist: the collector is registered on a registry
passed in (``CollectorRegistry()`` in tests), and each scrape reads the monitor's typed Runtime
(log ingest counters, node API coordinators, the alert engine, the store's write queue) and the
web server's hub and live stats.

Every family (ours and the Storj-Exporter ones), its labels and units: docs/metrics.md.
``/metrics?node=NAME`` serves :class:`NodeView` of the registry (one node, no ``node`` label).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from storj_monitor import __version__
from storj_monitor.model import SEVERITY_RANK
from storj_monitor.web.context import ApiContext
from storj_monitor.web.exporter_metrics import exporter_families
from storj_monitor.web.metrics_earnings import earnings_families
from storj_monitor.web.metrics_health import health_families
from storj_monitor.web.metrics_maintenance import disk_families, maintenance_families
from storj_monitor.web.node_metrics import node_families

P = "storj_monitor_"
SEVERITIES = tuple(SEVERITY_RANK)


class MonitorCollector(Collector):
    """Reads the state of one running monitor (through its web ApiContext) at each scrape."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        ctx = self.ctx
        info = GaugeMetricFamily(P + "info", "storj_monitor build", labels=["version"])
        info.add_metric([__version__], 1)
        yield info

        counters = {
            "lines": ("ingest_lines", "Log lines read"),
            "events": ("ingest_events", "Piece operations stored"),
            "records": ("ingest_records", "Other typed log lines stored"),
            "unparseable": ("ingest_unparseable_lines", "Log lines that could not be read"),
        }
        families = {
            attr: CounterMetricFamily(P + name, text, labels=["node"])
            for attr, (name, text) in counters.items()
        }
        backlog = GaugeMetricFamily(
            P + "ingest_backlog_bytes", "Bytes of the log not read yet", labels=["node"]
        )
        caught_up = GaugeMetricFamily(
            P + "ingest_caught_up", "1 once the log's backlog is read", labels=["node"]
        )
        bad_lines = CounterMetricFamily(
            P + "bad_lines", "Log lines skipped and kept in bad_lines", labels=["node", "reason"]
        )
        last_event = GaugeMetricFamily(
            P + "last_event_timestamp_seconds",
            "Log time of the newest piece operation (UTC unix seconds)",
            labels=["node"],
        )
        for name, ing in ctx.runtime.ingests.items():
            families["lines"].add_metric([name], float(ing.lines))
            families["events"].add_metric([name], float(ing.events))
            families["records"].add_metric([name], float(ing.records))
            families["unparseable"].add_metric([name], float(ing.unparseable))
            backlog.add_metric([name], float(ing.backlog_bytes))
            caught_up.add_metric([name], 1.0 if ing.caught_up else 0.0)
            if ing.last_event_time is not None:
                last_event.add_metric([name], float(ing.last_event_time))
            for reason, n in ing.bad_lines_by_reason.items():
                bad_lines.add_metric([name, reason], float(n))
        yield from families.values()
        yield bad_lines
        yield backlog
        yield caught_up
        yield last_event

        events = CounterMetricFamily(
            P + "events",
            "Piece operations seen live since start (of a backlog, only its last hour)",
            labels=["node", "action", "status"],
        )
        for (node, action, status), n in sorted(ctx.live.live_counts.items()):
            events.add_metric([node, action, status], float(n))
        yield events

        up = GaugeMetricFamily(
            P + "node_api_up", "1 when the node's last API poll succeeded", labels=["node"]
        )
        polls = CounterMetricFamily(P + "node_api_polls", "Node API polls run", labels=["node"])
        last_ok = GaugeMetricFamily(
            P + "node_api_last_success_timestamp_seconds",
            "Time of the last successful API poll (UTC unix seconds)",
            labels=["node"],
        )
        listener_failing = GaugeMetricFamily(
            P + "node_api_listener_failing",
            "1 while a consumer of the node's API data (e.g. the store recorder) fails",
            labels=["node", "listener"],
        )
        for name, c in ctx.runtime.coordinators.items():
            up.add_metric([name], 1.0 if c.live else 0.0)
            polls.add_metric([name], float(c.polls))
            if c.last_success is not None:
                last_ok.add_metric([name], float(c.last_success))
            for listener in c.listener_failures:
                listener_failing.add_metric([name, listener], 1.0)
        yield up
        yield polls
        yield last_ok
        yield listener_failing

        alerts = GaugeMetricFamily(P + "alerts_open", "Open alerts", labels=["severity"])
        counts = dict.fromkeys(SEVERITIES, 0)
        for alert in ctx.engine.open_alerts():
            counts[alert.severity] = counts.get(alert.severity, 0) + 1
        for severity, n in counts.items():
            alerts.add_metric([severity], float(n))
        yield alerts

        hub = ctx.hub
        yield GaugeMetricFamily(
            P + "websocket_clients", "Connected WebSocket clients", value=len(hub.clients)
        )
        yield CounterMetricFamily(
            P + "websocket_dropped_clients",
            "WebSocket clients dropped as too slow",
            value=hub.dropped_clients,
        )
        yield CounterMetricFamily(
            P + "websocket_messages", "Frames received from clients", value=ctx.ws_messages
        )
        yield CounterMetricFamily(
            P + "websocket_errors", "Requests answered with an error", value=ctx.ws_errors
        )
        yield CounterMetricFamily(
            P + "rest_requests", "REST API requests answered", value=ctx.rest_requests
        )
        yield GaugeMetricFamily(
            P + "store_write_queue_depth",
            "Write jobs waiting for the store writer",
            value=ctx.store.write_queue_depth,
        )
        yield GaugeMetricFamily(
            P + "store_connections",
            "Open SQLite connections (the writer and the read pool)",
            value=ctx.store.connections,
        )
        yield GaugeMetricFamily(
            P + "store_cache_limit_bytes",
            "Bytes the page caches of all SQLite connections may hold at most",
            value=ctx.store.cache_limit_bytes,
        )
        yield from health_families(ctx)  # web/metrics_health.py
        yield from earnings_families(ctx)
        yield from node_families(ctx)  # docs/metrics.md: our own per-node families
        yield from exporter_families(ctx.runtime.coordinators)  # docs/metrics.md
        yield from maintenance_families(ctx)
        yield from disk_families(ctx)


class NodeView(Collector):
    """One node's samples of another collector's families, without the ``node`` label: what
    ``/metrics?node=NAME`` serves (the multi-target pattern of blackbox_exporter), so one
    Prometheus job per node sees what a per-node Storj-Exporter would show. Families without a
    ``node`` label (process-wide ones) are left out."""

    def __init__(self, source: CollectorRegistry, node: str) -> None:
        self.source = source
        self.node = node

    def collect(self) -> Iterator[Metric]:
        for family in self.source.collect():
            samples = [
                s._replace(labels={k: v for k, v in s.labels.items() if k != "node"})
                for s in family.samples
                if s.labels.get("node") == self.node
            ]
            if samples:
                view = Metric(family.name, family.documentation, family.type, family.unit)
                view.samples = samples
                yield view


def node_registry(source: CollectorRegistry, node: str) -> CollectorRegistry:
    """A registry serving :class:`NodeView` of ``source`` for ``node``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(NodeView(source, node))
    return registry


def make_registry(ctx: ApiContext, registry: CollectorRegistry | None = None) -> CollectorRegistry:
    """Register a :class:`MonitorCollector` for ``ctx`` on ``registry`` (a new one by default)."""
    registry = CollectorRegistry(auto_describe=False) if registry is None else registry
    registry.register(MonitorCollector(ctx))
    return registry
