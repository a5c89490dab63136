"""Node API coordinators and their recorder against the fake storagenode API: rows written,
alerts, failures, stale data, and the whole monitor end to end with a 0.2 s poll interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from storj_monitor.demo.fake_node_api import NODE_ID, FakeNodeApi, estimated_payout_json, scenario
from storj_monitor.model import NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import ApiState, NodeCoordinator
from storj_monitor.services.monitor import Monitor
from storj_monitor.services.pollers import NodeApiRecorder, Pollers, PollResult
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as qa
from storj_monitor.store import snapshots as qs
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.presentation import reputation_payload, reputation_stale_after


def reputation(read, names: list[str], now: float, settings) -> list[dict]:  # type: ignore[no-untyped-def]
    """The ``reputation_data`` payload: the store's rows shaped by web/presentation.py."""
    rows = read(lambda c: qs.reputation_rows(c, names))
    return reputation_payload(
        rows, thresholds_from(settings), now, stale_after=reputation_stale_after(settings)
    )


US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
SALT = "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"


class Poller:
    """A coordinator with the recorder listening: ``poll_once`` is one refresh, its result."""

    def __init__(self, coordinator: NodeCoordinator, recorder: type, env: Env) -> None:
        self.coordinator = coordinator
        self.recorder = recorder(env.settings, env.store, env.bus, env.engine, coordinator)

    def __getattr__(self, name: str) -> object:
        return getattr(self.coordinator, name)

    @property
    def data(self) -> PollResult | None:
        return self.recorder.result

    def add_listener(self, callback):  # a sync callback of the PollResult, after the recorder
        async def call(_c: NodeCoordinator) -> None:
            callback(self.recorder.result)

        return self.coordinator.add_listener(call)

    async def poll_once(self) -> PollResult:
        await self.coordinator.refresh()
        assert self.recorder.result is not None
        return self.recorder.result

    async def stop(self) -> None:
        await self.coordinator.stop()


class Env:
    def __init__(self, tmp_path: Path, api: FakeNodeApi, **overrides: object) -> None:
        self.settings = defaults().replace(
            db_path=str(tmp_path / "p.db"),
            node_api_poll_interval=0.2,
            node_api_timeout=0.5,
            node_api_retries=0,
            node_api_offline_alert_seconds=600,
            **overrides,
        )
        self.api = api
        self.store = Store(self.settings.db_path).open()
        self.bus = Bus()
        self.now = 1_767_225_600.0
        self.engine = AlertEngine(self.settings, self.store, self.bus, clock=lambda: self.now)
        self.poller = Poller(
            NodeCoordinator(self.settings, "My-Node", api.url, clock=lambda: self.now),
            NodeApiRecorder,
            self,
        )

    def q(self, fn):
        return self.store.read_sync(fn)

    def active(self) -> list[dict]:
        return self.q(lambda c: qa.active_alerts(c, ["My-Node"]))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    api = await FakeNodeApi(scenario("healthy")).start()
    e = Env(tmp_path, api)
    api.state.now = e.now  # the fake's money replies are computed at the test's time
    await e.engine.start()
    yield e
    await e.poller.stop()
    await e.engine.stop()
    e.store.close()
    await api.stop()


async def test_poll_writes_every_table(env: Env) -> None:
    got: list[PollResult] = []
    env.poller.add_listener(got.append)
    bus_polls: list[str] = []
    env.bus.subscribe("poll", lambda node, result: bus_polls.append(node))
    r = await env.poller.poll_once()
    assert r.ok and not r.stale and got == [r] and bus_polls == ["My-Node"]
    snap = env.q(lambda c: qs.latest_storage_snapshot(c, "My-Node"))
    assert snap == {
        "timestamp": env.now,
        "node_name": "My-Node",
        "total_bytes": 2_000_000_000_000,
        "used_bytes": 1_220_000_000_000,
        "available_bytes": 780_000_000_000,
        "trash_bytes": 20_000_000_000,
        "used_percent": 61.0,
        "trash_percent": 1.0,
        "available_percent": 39.0,
        "source": "api",
    }
    rep = reputation(env.q, ["My-Node"], env.now, env.settings)
    assert len(rep) == 4
    us1 = next(x for x in rep if x["satellite_id"] == US1)
    assert us1["audit_score"] == 100.0 and us1["online_score"] == pytest.approx(99.87)
    assert us1["failed_audits_until_disqualification"] == 40 and us1["status"] == "ok"
    assert us1["vetted"] is True and us1["timestamp"] == "2026-01-01T00:00:00Z"
    n_sat = env.q(lambda c: c.execute("SELECT COUNT(*) FROM satellite_storage").fetchone()[0])
    payout = env.q(lambda c: c.execute("SELECT raw FROM payout_snapshots").fetchone()[0])
    info = env.q(lambda c: c.execute("SELECT node_id, version, api_url FROM node_info").fetchone())
    assert n_sat == 4
    assert orjson.loads(payout) == estimated_payout_json(env.api.state)
    assert info == (NODE_ID, "1.162.3", env.api.url)
    assert env.active() == []


async def test_connected_line_logged_once(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="storj_monitor")
    await env.poller.poll_once()
    await env.poller.poll_once()
    lines = [r.getMessage() for r in caplog.records if "API client connected" in r.getMessage()]
    assert lines == [
        f"[My-Node] API client connected to {env.api.url} (Node ID: {NODE_ID}, "
        "Wallet: 0x9aC1f3d4B7e2a0c5D8F6b3E1A2c4D5e6F7a8B9C0, Version: 1.162.3)"
    ]


async def test_disk_nearly_full_raises_the_seed_alert(env: Env) -> None:
    env.api.state.used_bytes = 1_910_000_000_000
    r = await env.poller.poll_once()
    assert r.storage_alerts == [
        {
            "severity": "critical",
            "title": "Critical Disk Usage on My-Node",
            "message": "Disk is 96.5% full (threshold: 95.0%). Free space: 70.00 GB. "
            "Immediate action required to prevent downtime.",
        }
    ]
    (alert,) = env.active()
    assert alert["title"] == "Critical Disk Usage on My-Node"
    env.api.state.used_bytes = 1_000_000_000_000
    env.now += 300
    await env.poller.poll_once()
    assert env.active() == []


async def test_disk_filling_fast_forecast_alert(env: Env) -> None:
    env.api.state.used_bytes = 1_600_000_000_000  # 81 % used with trash, 380 GB free
    env.api.state.growth_bytes_per_second = 100e9 / 86400  # 100 GB/day
    for _ in range(24):  # two hours of 5-minute polls
        await env.poller.poll_once()
        env.now += 300
        env.api.state.advance(300)
    r = env.poller.data
    assert r is not None and r.forecast is not None
    assert r.forecast["status"] == "filling"
    free_at_last_poll = 380e9 - 100e9 * 23 * 300 / 86400
    assert r.forecast["days_until_full"] == pytest.approx(free_at_last_poll / 100e9, rel=0.10)
    kinds = {a["kind"]: a["severity"] for a in env.active()}
    assert kinds == {"disk_forecast": "critical", "disk_usage": "warning"}
    five_min = env.settings.replace(node_api_poll_interval=300)
    data = env.q(lambda c: qs.get_storage_data(c, ["My-Node"], env.now, five_min))
    assert data[0]["forecast_status"] == "filling" and data[0]["stale"] is False
    assert data[0]["data_points"] == 24


async def test_legacy_disk_layout_gives_the_same_snapshot(tmp_path: Path) -> None:
    async with FakeNodeApi(scenario("legacy_disk")) as api:
        e = Env(tmp_path, api)
        try:
            r = await e.poller.poll_once()
            assert r.snapshot is not None
            assert (
                r.snapshot.total_bytes,
                r.snapshot.available_bytes,
                r.snapshot.used_percent,
            ) == (
                2_000_000_000_000,
                780_000_000_000,
                61.0,
            )
        finally:
            await e.poller.stop()
            e.store.close()


async def test_low_audit_and_suspended_alerts(env: Env) -> None:
    env.api.state.satellites[US1].audit = 0.962
    env.api.state.satellites[SALT].suspended = "2026-08-14T06:00:00Z"
    env.api.state.satellites[SALT].suspension = 0.55
    await env.poller.poll_once()
    got = {(a["kind"], a["severity"]) for a in env.active()}
    assert got == {
        ("audit_score", "critical"),
        ("suspended", "critical"),
        ("suspension_score", "critical"),
    }
    rep = reputation(env.q, ["My-Node"], env.now, env.settings)
    us1 = next(x for x in rep if x["satellite_id"] == US1)
    assert us1["failed_audits_until_disqualification"] == 2 and us1["audit_status"] == "critical"
    env.api.state.satellites[US1].audit = 1.0
    env.now += 300
    await env.poller.poll_once()
    assert {a["kind"] for a in env.active()} == {"suspended", "suspension_score"}


@pytest.mark.parametrize("mode", ["http500", "garbage", "html", "truncated", "hang"])
async def test_failures_keep_last_good_data_stale(env: Env, mode: str) -> None:
    good = await env.poller.poll_once()
    env.api.state.mode = mode
    env.now += 300
    bad = await env.poller.poll_once()
    assert not bad.ok and bad.stale and bad.error
    assert bad.snapshot == good.snapshot and bad.last_success == good.timestamp
    assert env.poller.last_update_success is False and env.poller.last_exception is not None
    env.api.state.mode = "ok"
    env.now += 300
    assert (await env.poller.poll_once()).ok
    assert env.poller.failing_since is None


async def test_offline_alert_after_threshold_and_resolve(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="storj_monitor.pollers")
    await env.poller.poll_once()
    env.api.state.mode = "http500"
    for _ in range(4):  # 0, 300, 600, 900 s of failure
        env.now += 300
        await env.poller.poll_once()
    (alert,) = env.active()
    assert alert["kind"] == "node_offline" and alert["severity"] == "critical"
    assert "HTTP 500" in alert["message"]
    unreachable = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(unreachable) == 1  # transitions only
    env.api.state.mode = "ok"
    env.now += 300
    await env.poller.poll_once()
    assert env.active() == []
    assert any("recovered" in r.getMessage() for r in caplog.records)


async def test_discovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unused_tcp_port: int
) -> None:
    caplog.set_level(logging.INFO, logger="storj_monitor")
    settings = defaults().replace(
        db_path=str(tmp_path / "d.db"), node_api_timeout=0.3, node_api_retries=0
    )
    nodes = [
        NodeSpec("Local", str(tmp_path / "n.log")),
        NodeSpec("Remote", "nas.local:9000", is_remote=True),
        NodeSpec("Given", str(tmp_path / "g.log"), api_url=f"http://127.0.0.1:{unused_tcp_port}"),
    ]
    store = Store(settings.db_path).open()
    try:
        p = Pollers(settings, store, Bus(), None, nodes, clock=lambda: 0.0)
        assert p.coordinators["Local"].api_url == "http://localhost:14002"
        assert not p.coordinators["Local"].explicit
        assert "Remote" not in p.coordinators
        assert p.coordinators["Given"].explicit
        assert any("[Remote] no node API URL" in r.getMessage() for r in caplog.records)
        given = p.coordinators["Given"]
        assert (p.api_state("Remote"), p.api_state("Given")) == ("none", "unknown")
        await given.refresh()
        r = p.recorders["Given"].result
        assert r is not None and not r.ok and p.api_state("Given") is not ApiState.LIVE
        assert p.api_state("Given") == "down"
        assert any(
            r.getMessage().startswith("[Given] node API not reachable at http://127.0.0.1:")
            and "enhanced features" in r.getMessage()
            for r in caplog.records
        )
        await p.stop()
        for coordinator in p.coordinators.values():
            await coordinator.client.close()
    finally:
        store.close()


async def test_monitor_end_to_end_with_a_dead_node(tmp_path: Path, unused_tcp_port: int) -> None:
    """Two nodes: one API answers, one is dead (nothing listens). Polls every 0.2 s; the dead
    node never stops the live one."""
    async with FakeNodeApi(scenario("disk_nearly_full")) as api:
        settings = defaults().replace(
            db_path=str(tmp_path / "m.db"),
            node_api_poll_interval=0.2,
            node_api_timeout=0.5,
            node_api_retries=1,
        )
        (tmp_path / "a.log").write_text("")
        (tmp_path / "b.log").write_text("")
        nodes = [
            NodeSpec("Alive", str(tmp_path / "a.log"), api_url=api.url),
            NodeSpec(
                "Dead", str(tmp_path / "b.log"), api_url=f"http://127.0.0.1:{unused_tcp_port}"
            ),
        ]
        monitor = Monitor(settings, nodes, serve=False)
        polls: dict[str, int] = {"Alive": 0, "Dead": 0}
        enough = asyncio.Event()

        def on_poll(node: str, result: PollResult) -> None:
            polls[node] += 1
            if polls["Alive"] >= 3 and polls["Dead"] >= 1:
                enough.set()

        monitor.bus.subscribe("poll", on_poll)
        await monitor.start()
        try:
            await asyncio.wait_for(enough.wait(), 20)
            runtime = monitor.runtime
            assert runtime.api_state("Alive") is ApiState.LIVE
            assert runtime.api_state("Dead") is ApiState.DOWN
            alerts = await monitor.store.read(lambda c: qa.active_alerts(c, ["Alive"]))
            assert [a["title"] for a in alerts] == ["Critical Disk Usage on Alive"]
            assert runtime.engine.open_alerts("Alive")[0].severity == "critical"
            data = await monitor.store.read(
                lambda c: qs.get_storage_data(c, ["Alive", "Dead"], monitor.clock(), settings)
            )
            assert [d["node_name"] for d in data] == ["Alive"]
            assert data[0]["used_percent"] == 96.5 and data[0]["timestamp"].endswith("Z")
        finally:
            await monitor.stop()


async def test_payout_and_satellite_storage_rows_only_when_changed_or_hourly(env: Env) -> None:
    def count(table: str) -> int:
        return env.q(lambda c: c.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    for _ in range(3):  # 3 polls, 5 minutes apart, nothing changes
        await env.poller.poll_once()
        env.now += 300
    assert (count("storage_snapshots"), count("reputation_history")) == (3, 12)
    assert (count("payout_snapshots"), count("satellite_storage")) == (1, 4)
    env.now += 3600
    await env.poller.poll_once()
    assert (count("payout_snapshots"), count("satellite_storage")) == (2, 8)
