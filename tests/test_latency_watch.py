"""LatencyWatch end to end: real Store and AlertEngine, injected time, no sleeping."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storj_monitor.model import Event, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.latency_watch import LatencyWatch
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as q
from storj_monitor.store import events as se
from storj_monitor.store.database import Store

S = defaults()
NOW = 1_767_600_000.0 + 8 * 86400 + 1800.0
HOUR = 3600.0


def events(n: int, start: float, end: float, median_ms: float, action: str = "GET") -> list[Event]:
    rnd = random.Random(int(start))
    return [
        Event(
            timestamp=start + (end - start) * i / n,
            node_name="My-Node",
            action=action,
            status="success",
            size=1000,
            satellite_id="sat",
            piece_id=f"p{start}-{i}",
            remote_ip="203.0.113.5",
            duration_ms=median_ms * rnd.lognormvariate(0, 0.3),
            duration_source="precise",
        )
        for i in range(n)
    ]


class Env:
    def __init__(self, path: Path) -> None:
        self.store = Store(path).open()
        self.bus = Bus()
        self.now = NOW
        self.engine = AlertEngine(S, self.store, self.bus, clock=lambda: self.now)
        self.watch = LatencyWatch(
            S, self.store, self.engine, [NodeSpec("My-Node", "/x.log")], clock=lambda: self.now
        )

    async def ingest(self, evs: list[Event]) -> None:
        for i in range(0, len(evs), 5000):
            batch = evs[i : i + 5000]
            await self.store.write(lambda c, b=batch: se.write_batch(c, b, []))

    def open_alerts(self) -> dict[str, str]:
        return {a.key: a.severity for a in self.engine.open_alerts("My-Node")}

    def rows(self) -> list[dict]:
        return self.store.read_sync(lambda c: q.recent_alerts(c, None, 100))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path / "w.db")
    await e.engine.start()
    yield e
    await e.watch.stop()
    await e.engine.stop()
    e.store.close()


async def test_no_data_no_alerts(env: Env) -> None:
    await env.watch.run_once()
    assert env.open_alerts() == {}
    assert env.watch.passes == 1


async def test_high_p99_warns_then_escalates_then_resolves(env: Env) -> None:
    await env.ingest(events(600, NOW - HOUR + 60, NOW, 3500.0))  # p99 ~ 7 s
    await env.watch.run_once(NOW - 300)  # above, but not yet for LATENCY_ALERT_MIN_SECONDS
    assert env.open_alerts() == {} and env.rows() == []
    await env.watch.run_once()
    assert env.open_alerts() == {"latency:get": "warning"}
    alert = env.engine.open_alerts("My-Node")[0]
    assert alert.first_seen == NOW - 300  # the alert started when the condition did
    assert alert.title == "High GET Latency on My-Node"
    assert "across 600 operations" in alert.message

    env.now += 60
    await env.ingest(events(600, NOW, env.now, 9000.0))  # p99 now > 10 s
    await env.watch.run_once()
    assert env.open_alerts() == {"latency:get": "critical"}
    assert len(env.rows()) == 1  # the same alert, updated

    env.now += 2 * HOUR  # the slow hour is over
    await env.ingest(events(600, env.now - HOUR + 60, env.now, 200.0))
    await env.watch.run_once()
    assert env.open_alerts() == {}
    assert env.rows()[0]["resolved_at"] is not None


async def test_latency_spike_against_baseline(env: Env) -> None:
    start = NOW - 7 * 86400
    base = []
    for h in range(7 * 24 - 1):
        t = start + h * HOUR
        base += events(40, t, t + HOUR, 300.0)
    await env.ingest(base)
    await env.ingest(events(200, NOW - 900 + 30, NOW, 2500.0))  # last 15 min: ~8x slower
    await env.watch.run_once()
    alerts = env.open_alerts()
    assert alerts.get("latency_spike:get") == "info"
    assert "latency:get" not in alerts  # p99 still under 5 s


async def test_compaction_runs_hourly(env: Env) -> None:
    await env.ingest(events(10, NOW - 30 * 86400, NOW - 30 * 86400 + 60, 100.0))
    await env.watch.run_once()
    count = env.store.read_sync(
        lambda c: c.execute("SELECT COUNT(*) FROM rollups_minute").fetchone()[0]
    )
    assert count == 0
    assert (
        env.store.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM rollups_hour").fetchone()[0])
        == 1
    )
    await env.ingest(events(10, NOW - 30 * 86400, NOW - 30 * 86400 + 60, 100.0))
    env.now += 60
    await env.watch.run_once()  # not due yet: the old minute rows stay
    count = env.store.read_sync(
        lambda c: c.execute("SELECT COUNT(*) FROM rollups_minute").fetchone()[0]
    )
    assert count > 0


async def test_start_stop_idempotent_and_loop_survives_errors(env: Env) -> None:
    calls = []

    class Broken:
        async def evaluate(self, *a: object) -> None:
            calls.append(a)
            raise RuntimeError("engine down")

    watch = LatencyWatch(S, env.store, Broken(), ["My-Node"], clock=lambda: env.now, interval=0.01)
    await watch.start()
    await watch.start()
    for _ in range(200):
        if len(calls) >= 2:
            break
        await asyncio.sleep(0.01)
    await watch.stop()
    await watch.stop()
    assert len(calls) >= 2  # it kept trying
