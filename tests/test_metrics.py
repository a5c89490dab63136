"""/metrics: a custom collector reading the running monitor at scrape time."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from storj_monitor.web.metrics import MonitorCollector
from web_harness import poll_until, running_monitor

pytestmark = pytest.mark.timeout(60)


async def test_collector_reads_current_state(tmp_path: Path) -> None:
    async with (
        running_monitor(tmp_path, scenario_a="disk_nearly_full") as run,
        aiohttp.ClientSession() as session,
    ):
        registry = CollectorRegistry()
        registry.register(MonitorCollector(run.monitor.web.ctx))
        value = registry.get_sample_value
        assert value("storj_monitor_info", {"version": "0.1.0"}) == 1
        assert value("storj_monitor_ingest_lines_total", {"node": "A"}) == 0

        run.transfers("A", 4, "GET")
        run.transfers("A", 1, "PUT", "failed", error="unexpected EOF")

        async def read() -> bool:
            return value("storj_monitor_ingest_lines_total", {"node": "A"}) == 10  # start+finish

        await poll_until(read)
        # the collector reads the ingest service's own counters at scrape time
        ingest = next(
            s for s in run.monitor.services if getattr(s, "node", None) == run.monitor.nodes[0]
        )
        assert value("storj_monitor_ingest_events_total", {"node": "A"}) == ingest.events
        ingest.writes.events += 1000  # the counter behind ingest.events
        assert value("storj_monitor_ingest_events_total", {"node": "A"}) == ingest.events
        ingest.writes.events -= 1000
        assert value("storj_monitor_ingest_events_total", {"node": "B"}) == 0
        assert value("storj_monitor_ingest_unparseable_lines_total", {"node": "A"}) == 0
        assert value("storj_monitor_ingest_caught_up", {"node": "A"}) == 1
        assert value("storj_monitor_last_event_timestamp_seconds", {"node": "A"}) > 0
        labels = {"node": "A", "action": "GET", "status": "success"}
        assert value("storj_monitor_events_total", labels) == 4
        failed = {"node": "A", "action": "PUT", "status": "failed"}
        assert value("storj_monitor_events_total", failed) == 1

        async def polled() -> bool:
            return (value("storj_monitor_node_api_polls_total", {"node": "B"}) or 0) >= 1 and (
                value("storj_monitor_alerts_open", {"severity": "critical"}) or 0
            ) >= 1

        await poll_until(polled)
        assert value("storj_monitor_node_api_up", {"node": "A"}) == 1
        assert value("storj_monitor_node_api_up", {"node": "B"}) == 0
        assert value("storj_monitor_node_api_last_success_timestamp_seconds", {"node": "A"}) > 0
        assert value("storj_monitor_alerts_open", {"severity": "info"}) == 0

        assert value("storj_monitor_websocket_clients") == 0
        ws = await session.ws_connect(run.ws_url)
        await ws.receive_json()
        await ws.send_str("not json")
        await ws.receive_json()  # the full stats_update
        reply = await ws.receive_json()
        while reply["type"] == "stats_update":  # a periodic push may come first under load
            reply = await ws.receive_json()
        assert reply["type"] == "error"
        assert value("storj_monitor_websocket_clients") == 1
        assert value("storj_monitor_websocket_messages_total") == 1
        assert value("storj_monitor_websocket_errors_total") == 1
        assert value("storj_monitor_websocket_dropped_clients_total") == 0
        assert value("storj_monitor_store_write_queue_depth") is not None
        conns = value("storj_monitor_store_connections")
        assert conns is not None and 1 <= conns <= 5  # the writer + a bounded read pool
        assert value("storj_monitor_store_cache_limit_bytes") == (16 + 4 * 8) * 1024 * 1024
        await ws.close()

        async with session.get(run.base + "/api/nodes") as resp:
            assert resp.status == 200
        assert value("storj_monitor_rest_requests_total") == 1
        async with session.get(run.base + "/metrics") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/plain"
            text = await resp.text()
        assert 'storj_monitor_ingest_lines_total{node="A"} 10.0' in text
        assert "# TYPE storj_monitor_events_total counter" in text
