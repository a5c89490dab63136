"""WebSocket API against the real Monitor: a log being appended, fake node APIs, port 0.

One conversation per test covers every request type of the seed, the broadcasts, and every
kind of bad input (the socket must stay open after each).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storj_monitor.demo.fake_node_api import scenario
from web_harness import WAIT, Conversation, Running, poll_until, running_monitor

pytestmark = pytest.mark.timeout(60)
HAVE_LATENCY = importlib.util.find_spec("storj_monitor.store.latency_queries") is not None


async def _connect(session: aiohttp.ClientSession, run: Running) -> Conversation:
    ws = await session.ws_connect(run.ws_url)
    return Conversation(ws)


async def test_init_live_stats_and_set_view(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        conv = await _connect(session, run)
        init = await conv.next()
        assert init["type"] == "init"
        assert init["node_names"] == ["A", "B"]
        assert [n["name"] for n in init["nodes"]] == ["A", "B"]
        assert init["view"] == ["Aggregate"]
        assert init["settings"]["latency_warning_ms"] == 5000
        assert init["settings"]["storage_warning_percent"] == 80
        assert "get_traffic_stats" in init["requests"]
        assert init["thresholds"]["disk_usage"] == {
            "name": "disk_usage",
            "label": "Disk used",
            "unit": "%",
            "warning": 80.0,
            "critical": 95.0,
            "direction": "above",
            "network_limit": None,
            "hysteresis": 1.0,
        }
        assert init["thresholds"]["audit_score"]["network_limit"] == 96.0
        assert set(init["thresholds"]) == {
            "disk_usage", "disk_forecast", "latency", "audit_score", "suspension_score",
            "online_score", "success_rate", "audit_success_rate",
        }  # fmt: skip
        assert init["thresholds"]["audit_success_rate"]["warning"] == 99.5
        assert init["severity_rank"] == {"info": 0, "warning": 1, "critical": 2}
        first = await conv.next()
        assert first["type"] == "stats_update" and first["full"] is True
        assert first["view"] == ["Aggregate"] and first["nodes"] == ["A", "B"]
        assert len(first["series"]["points"]) > 200  # the whole live window

        run.transfers("A", 5, "GET")
        run.transfers("B", 2, "PUT", "canceled", error="context canceled")
        update = await conv.until(lambda m: m["type"] == "stats_update" and m["received"] >= 7)
        assert update["operations"]["get"]["success"] == 5
        assert update["operations"]["put"]["canceled"] == 2
        assert update["errors"] == [{"category": "context canceled", "count": 2}]
        assert update["bandwidth"]["egress_bytes"] == 5 * 2319360

        only_b = await conv.request({"type": "set_view", "view": ["B"]})
        assert only_b["type"] == "stats_update" and only_b["view"] == ["B"]
        assert only_b["full"] is True and only_b["operations"]["get"]["total"] == 0
        nxt = await conv.until(lambda m: m["type"] == "stats_update")
        assert nxt["view"] == ["B"] and nxt["full"] is False
        assert nxt["operations"]["put"]["canceled"] == 2

        bad = await conv.request({"type": "set_view", "view": []})
        assert bad["type"] == "error" and "view" in bad["message"]
        await conv.ws.close()


async def _eventually(conv: Conversation, message: dict[str, Any], ok: Any) -> dict[str, Any]:
    async def attempt() -> dict[str, Any] | None:
        reply = await conv.request(message)
        return reply if ok(reply) else None

    return await poll_until(attempt)  # type: ignore[no-any-return]


async def test_every_request_type(tmp_path: Path) -> None:
    async with (
        running_monitor(tmp_path) as run,
        aiohttp.ClientSession() as session,
    ):
        conv = await _connect(session, run)
        await conv.until(lambda m: m["type"] == "init")
        # The disk fills only now, so the alert it opens is broadcast to this client (opened
        # before the client connected, it could never be: the test was racy).
        full = scenario("disk_nearly_full")
        run.apis["A"].state.used_bytes = full.used_bytes
        run.apis["A"].state.trash_bytes = full.trash_bytes
        run.transfers("A", 4, "GET")
        run.transfers("A", 2, "PUT")
        run.transfers("A", 1, "GET_AUDIT")

        # traffic: stored through the pipeline, then queried
        traffic = await _eventually(
            conv,
            {"type": "get_traffic_stats", "view": ["A"], "hours": 1},
            lambda r: r["type"] == "traffic_stats" and r["data"]["total_operations"] >= 7,
        )
        assert traffic["view"] == ["A"] and traffic["hours"] == 1
        data = traffic["data"]
        assert data["operations"]["get"]["success"] == 4
        assert data["operations"]["audit"]["success"] == 1
        assert data["top_pieces"] and data["size_buckets"]
        assert data["series"]["step_seconds"] == 60

        latency = await conv.request({"type": "get_latency_stats", "view": ["A"], "hours": 1})
        hist = await conv.request(
            {"type": "get_latency_histogram", "view": ["A"], "hours": 1, "bucket_size_ms": 50}
        )
        if HAVE_LATENCY:
            assert latency["type"] == "latency_stats", latency
            assert "statistics" in latency["data"] and "slow_operations" in latency["data"]
            assert hist["type"] == "latency_histogram", hist
            assert hist["bucket_size_ms"] == 50
        else:  # a build without latency analytics answers with a clear error
            assert latency["type"] == hist["type"] == "error"
            assert "not available" in latency["message"]

        storage = await _eventually(  # a poll after the disk filled has been stored
            conv,
            {"type": "get_storage_data", "view": ["A"]},
            lambda r: r["type"] == "storage_data" and r["data"]
            and r["data"][0]["used_percent"] > 90,
        )
        row = storage["data"][0]
        assert row["node_name"] == "A" and row["used_percent"] == pytest.approx(96.5, abs=0.1)
        assert row["timestamp"].endswith("Z")
        history = await conv.request({"type": "get_storage_history", "node_name": "A", "days": 7})
        assert history["type"] == "storage_history" and history["node_name"] == "A"
        assert history["days"] == 7
        reputation = await conv.request({"type": "get_reputation_data", "view": ["A"]})
        assert reputation["type"] == "reputation_data" and isinstance(reputation["data"], list)

        # the nearly full disk opened a critical alert: broadcast, listed, acknowledged
        storage_alerts = await conv.seen_or_until(
            lambda m: m["type"] == "storage_alerts" and m["node_name"] == "A"
        )
        assert storage_alerts["alerts"][0]["severity"] == "critical"
        assert storage_alerts["alerts"][0]["title"] == "Critical Disk Usage on A"
        assert set(storage_alerts["alerts"][0]) == {"severity", "title", "message"}
        new = await conv.seen_or_until(lambda m: m["type"] == "alert" and m["change"] == "new")
        assert new["alert"]["node_name"] == "A"
        active = await conv.request({"type": "get_active_alerts", "view": ["A"]})
        assert active["type"] == "active_alerts"
        ids = [a["id"] for a in active["data"]]
        assert ids and all(a["active"] for a in active["data"])
        ack = await conv.request({"type": "acknowledge_alert", "alert_id": ids[0]})
        assert ack == {
            "type": "alert_acknowledge_result",
            "alert_id": ids[0],
            "success": True,
            "id": ack["id"],
        }
        acked = await conv.seen_or_until(
            lambda m: m["type"] == "alert" and m["change"] == "acknowledged"
        )
        assert acked["alert"]["id"] == ids[0] and acked["alert"]["acknowledged_at"] is not None
        missing = await conv.request({"type": "acknowledge_alert", "alert_id": 999999})
        assert missing["success"] is False

        alerts = await conv.request({"type": "get_alerts"})
        assert alerts["type"] == "alerts" and alerts["data"]["active"]
        nodes = await conv.request({"type": "get_nodes"})
        by_name = {n["name"]: n for n in nodes["data"]}
        assert by_name["A"]["has_api"] is True and by_name["B"]["has_api"] is False
        geo = await conv.request({"type": "get_geo_stats", "view": ["Aggregate"], "hours": 1})
        assert geo["type"] == "geo_stats"
        assert sum(c["operations"] for c in geo["data"]["countries"]) >= 7
        await conv.ws.close()


BAD_REQUESTS = [
    ({"type": "no_such_type"}, "unknown message type"),
    ({"view": ["A"]}, "missing field 'type'"),
    ({"type": 5}, "missing field 'type'"),
    ({"type": "get_latency_stats", "view": ["Nope"], "hours": 1}, "unknown node 'Nope'"),
    ({"type": "get_latency_stats", "view": "A", "hours": 0}, "'hours' must be between 1 and 720"),
    ({"type": "get_traffic_stats", "view": ["A"], "hours": 721}, "between 1 and 720"),
    ({"type": "get_traffic_stats", "view": ["A"], "hours": "1"}, "'hours' must be a number"),
    ({"type": "get_traffic_stats", "view": ["A"], "hours": True}, "'hours' must be a number"),
    ({"type": "get_traffic_stats", "view": [1], "hours": 1}, "node names"),
    ({"type": "get_storage_history", "days": 7}, "missing field 'node_name'"),
    ({"type": "get_storage_history", "node_name": "Z"}, "unknown node 'Z'"),
    ({"type": "get_storage_history", "node_name": "A", "days": 0}, "'days'"),
    ({"type": "get_latency_histogram", "bucket_size_ms": -5}, "'bucket_size_ms'"),
    ({"type": "acknowledge_alert"}, "missing field 'alert_id'"),
    ({"type": "acknowledge_alert", "alert_id": 1.5}, "'alert_id' must be an integer"),
]


async def test_bad_input_is_answered_and_the_socket_stays_open(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        conv = await _connect(session, run)
        await conv.until(lambda m: m["type"] == "init")
        for message, expected in BAD_REQUESTS:
            reply = await conv.request(message)
            assert reply["type"] == "error", message
            assert expected in reply["message"], (message, reply)

        malformed = await conv.raw('{"type": "get_nodes", ')
        assert malformed["message"].startswith("malformed JSON")
        not_object = await conv.raw("[1, 2, 3]")
        assert "JSON object" in not_object["message"]
        binary = await conv.raw(b"\x00\x01\x02")
        assert "binary frames" in binary["message"]
        huge = await conv.raw('{"type": "get_nodes", "pad": "' + "x" * 100_000 + '"}')
        assert "too large" in huge["message"]
        wide = await conv.raw('{"type": "get_nodes", "pad": "' + "é" * 40_000 + '"}')
        assert "too large" in wide["message"]  # 40,000 characters, 80,000 bytes

        still = await conv.request({"type": "get_nodes"})
        assert still["type"] == "nodes" and not conv.ws.closed
        await conv.ws.close()


async def test_many_clients_each_get_updates(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        convs = [await _connect(session, run) for _ in range(5)]
        for c in convs:
            await c.until(lambda m: m["type"] == "init")
        run.transfers("A", 3, "GET")
        for c in convs:
            upd = await c.until(lambda m: m["type"] == "stats_update" and m["received"] >= 3, WAIT)
            assert upd["operations"]["get"]["total"] == 3
        assert len(run.monitor.web.hub.clients) == 5
        for c in convs:
            await c.ws.close()
        await poll_until(_no_clients(run))


def _no_clients(run: Running) -> Any:
    async def check() -> bool:
        return not run.monitor.web.hub.clients

    return check


async def test_a_client_that_stops_reading_is_dropped_and_others_carry_on(tmp_path: Path) -> None:
    async with (
        running_monitor(tmp_path, ws_client_queue_size=4) as run,
        aiohttp.ClientSession() as session,
    ):
        good = await _connect(session, run)
        await good.until(lambda m: m["type"] == "init")
        stuck = await session.ws_connect(run.ws_url)  # never reads again
        big = {"type": "set_view", "view": ["Aggregate"]}  # answered with a full ~45 KB update
        hub = run.monitor.web.hub
        for _ in range(400):
            if hub.dropped_clients:
                break
            await stuck.send_json(big)
            ok = await good.request({"type": "get_nodes"})  # the others are served meanwhile
            assert ok["type"] == "nodes"
        assert hub.dropped_clients == 1
        run.transfers("A", 2, "GET")
        upd = await good.until(lambda m: m["type"] == "stats_update" and m["received"] >= 2)
        assert upd["operations"]["get"]["total"] == 2
        assert len(hub.clients) == 1
        await stuck.close()
        await good.ws.close()


async def test_storage_alerts_clear_when_the_disk_is_freed(tmp_path: Path) -> None:
    async with (
        running_monitor(tmp_path, scenario_a="disk_nearly_full") as run,
        aiohttp.ClientSession() as session,
    ):
        conv = await _connect(session, run)
        first = await conv.seen_or_until(
            lambda m: m["type"] == "storage_alerts" and m["node_name"] == "A"
        )
        assert first["alerts"] and first["alerts"][0]["severity"] == "critical"
        run.apis["A"].state.used_bytes = 500_000_000_000  # 26 % used
        cleared = await conv.until(
            lambda m: m["type"] == "storage_alerts" and m["node_name"] == "A" and not m["alerts"]
        )
        assert cleared == {"type": "storage_alerts", "node_name": "A", "alerts": []}
        resolved = await conv.seen_or_until(
            lambda m: m["type"] == "alert" and m["change"] == "resolved"
        )
        assert resolved["alert"]["kind"] == "disk_usage"
        assert resolved["alert"]["active"] is False
        active = await conv.request({"type": "get_active_alerts", "view": ["A"]})
        assert [a for a in active["data"] if a["kind"] == "disk_usage"] == []
        await conv.ws.close()
