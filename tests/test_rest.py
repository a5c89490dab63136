"""REST API and static files against the real Monitor (port 0, log appended in tmp_path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storj_monitor.web.app import STATIC_DIR
from web_harness import Running, poll_until, running_monitor

pytestmark = pytest.mark.timeout(60)


async def _get(session: aiohttp.ClientSession, run: Running, path: str) -> tuple[int, Any]:
    async with session.get(run.base + path) as resp:
        return resp.status, await resp.json()


async def test_rest_endpoints_return_the_websocket_payloads(tmp_path: Path) -> None:
    async with (
        running_monitor(tmp_path, scenario_a="disk_nearly_full") as run,
        aiohttp.ClientSession() as session,
    ):
        run.transfers("A", 3, "GET")
        run.transfers("B", 2, "PUT")

        async def traffic() -> Any:
            status, body = await _get(session, run, "/api/traffic?view=A,B&hours=1")
            assert status == 200
            return body if body["data"]["total_operations"] >= 5 else None

        body = await poll_until(traffic)
        assert body["type"] == "traffic_stats" and body["view"] == ["A", "B"]
        assert body["data"]["operations"]["get"]["success"] == 3
        assert body["data"]["operations"]["put"]["success"] == 2

        status, repeated = await _get(session, run, "/api/traffic?view=A&view=B&hours=2")
        assert status == 200 and repeated["hours"] == 2 and repeated["view"] == ["A", "B"]
        status, default = await _get(session, run, "/api/traffic")
        assert status == 200 and default["view"] == ["Aggregate"] and default["hours"] == 1

        status, nodes = await _get(session, run, "/api/nodes")
        assert status == 200 and [n["name"] for n in nodes["data"]] == ["A", "B"]

        async def storage() -> Any:
            status, body = await _get(session, run, "/api/storage?view=A")
            assert status == 200 and body["type"] == "storage_data"
            return body if body["data"] else None

        stored = await poll_until(storage)
        assert stored["data"][0]["node_name"] == "A"
        status, history = await _get(session, run, "/api/storage/history?node_name=A&days=3")
        assert status == 200 and history["type"] == "storage_history" and history["days"] == 3
        status, rep = await _get(session, run, "/api/reputation?view=Aggregate")
        assert status == 200 and rep["type"] == "reputation_data"
        status, geo = await _get(session, run, "/api/geo?view=A&hours=1")
        assert status == 200 and geo["type"] == "geo_stats"
        assert sum(c["operations"] for c in geo["data"]["countries"]) == 3

        async def alerts() -> Any:
            status, body = await _get(session, run, "/api/alerts?view=A")
            assert status == 200
            return body if body["data"]["active"] else None

        listed = await poll_until(alerts)
        assert listed["data"]["recent"]
        alert_id = listed["data"]["active"][0]["id"]
        status, active = await _get(session, run, "/api/alerts/active")
        assert status == 200 and active["data"][0]["id"] == alert_id
        async with session.post(f"{run.base}/api/alerts/{alert_id}/acknowledge") as resp:
            assert resp.status == 200
            assert await resp.json() == {
                "type": "alert_acknowledge_result",
                "alert_id": alert_id,
                "success": True,
            }
        async with session.post(f"{run.base}/api/alerts/987654/acknowledge") as resp:
            assert resp.status == 404 and (await resp.json())["success"] is False
        async with session.post(f"{run.base}/api/alerts/abc/acknowledge") as resp:
            assert resp.status == 400

        status, health = await _get(session, run, "/healthz")
        assert status == 200 and health["status"] == "ok"


BAD = [
    ("/api/traffic?hours=0", "'hours' must be between 1 and 720"),
    ("/api/traffic?hours=721", "'hours' must be between 1 and 720"),
    ("/api/traffic?hours=abc", "'hours' must be a number"),
    ("/api/traffic?hours=nan", "'hours' must be a finite number"),
    ("/api/latency?view=Nope", "unknown node 'Nope'"),
    ("/api/latency?view=A,Nope&hours=1", "unknown node 'Nope'"),
    ("/api/latency/histogram?bucket_size_ms=0", "'bucket_size_ms'"),
    ("/api/storage/history", "missing field 'node_name'"),
    ("/api/storage/history?node_name=Z", "unknown node 'Z'"),
    ("/api/storage/history?node_name=A&days=0", "'days'"),
    ("/api/storage?view=", "'view'"),
    ("/api/alerts?limit=0", "'limit'"),
    ("/api/geo?hours=-1", "'hours'"),
]


@pytest.mark.parametrize(("path", "message"), BAD)
async def test_rest_validation(tmp_path: Path, path: str, message: str) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        status, body = await _get(session, run, path)
        assert status == 400
        assert message in body["error"]


async def test_static_files_and_unknown_paths(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        async with session.get(run.base + "/") as resp:
            assert resp.status == 200
            assert resp.content_type == "text/html"
            assert "<html" in (await resp.text()).lower()
        shipped = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file() and p.name != "index.html")
        if shipped:
            rel = shipped[0].relative_to(STATIC_DIR).as_posix()
            async with session.get(f"{run.base}/{rel}") as resp:
                assert resp.status == 200
                assert await resp.read() == shipped[0].read_bytes()
        async with session.get(run.base + "/api/no-such-thing") as resp:
            assert resp.status == 404
        async with session.get(run.base + "/%2e%2e/%2e%2e/pyproject.toml") as resp:
            assert resp.status == 404
        async with session.get(run.base + "/nope.js") as resp:
            assert resp.status == 404
