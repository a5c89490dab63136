"""NodeCoordinator: fetch only, last good data, one ApiState, failures mapped in one place and
logged on transitions, listeners awaited in order (and isolated), and the recorder's store
failure reported without calling the API dead."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from types import MappingProxyType

import pytest
from prometheus_client import CollectorRegistry

from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.geoip import GeoIP
from storj_monitor.model import NodeSpec
from storj_monitor.nodeapi import (
    NodeApiBadStatus,
    NodeApiMalformed,
    NodeApiNotJson,
    NodeApiTimeout,
    NodeApiUnreachable,
)
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import ApiState, NodeCoordinator, describe_failure
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats
from storj_monitor.services.pollers import NodeApiRecorder
from storj_monitor.services.runtime import Runtime
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as qa
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.context import ApiContext
from storj_monitor.web.metrics import make_registry

T0 = 1_767_225_600.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def settings_for(tmp_path: Path, **overrides: object):
    return defaults().replace(
        db_path=str(tmp_path / "c.db"),
        node_api_poll_interval=0.2,
        node_api_timeout=0.5,
        node_api_retries=0,
        **overrides,
    )


@pytest.fixture
async def api() -> AsyncIterator[FakeNodeApi]:
    fake = await FakeNodeApi(scenario("healthy")).start()
    yield fake
    await fake.stop()


@pytest.mark.parametrize(
    ("exc", "text", "answered"),
    [
        (NodeApiBadStatus("u", 500, "boom"), "answered HTTP 500: boom", True),
        (NodeApiNotJson("u", "answered HTML, not JSON"), "answered HTML, not JSON", True),
        (NodeApiMalformed("u", "missing nodeID"), "answered something unusable (missing nodeID)", True),
        (NodeApiTimeout("u", "no answer within 10 s"), "did not answer (no answer within 10 s)", False),
        (NodeApiUnreachable("u", "ConnectionRefused"), "did not answer (ConnectionRefused)", False),
        (KeyError("x"), "failed unexpectedly (KeyError: 'x')", False),
    ],
)  # fmt: skip
def test_every_failure_maps_to_words(exc: Exception, text: str, answered: bool) -> None:
    assert describe_failure(exc) == (text, answered)


@pytest.mark.parametrize(
    ("mode", "failure_start", "answered"),
    [
        ("http500", "answered HTTP 500", True),
        ("html", "answered HTML, not JSON", True),
        ("garbage", "answered something unusable (not JSON", True),
        ("truncated", "answered something unusable (truncated or invalid JSON", True),
        ("hang", "did not answer (no answer within 0.5 s)", False),
    ],
)
async def test_state_and_last_good_data_through_a_failure(
    tmp_path: Path,
    api: FakeNodeApi,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    failure_start: str,
    answered: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger="storj_monitor.pollers")
    clock = Clock()
    c = NodeCoordinator(settings_for(tmp_path), "N", api.url, clock=clock)
    seen: list[tuple[ApiState, float | None]] = []

    async def listener(coord: NodeCoordinator) -> None:
        seen.append((coord.state, coord.data.fetched_at if coord.data else None))

    c.add_listener(listener)
    try:
        assert c.state is ApiState.UNKNOWN and c.last_update_success is None
        await c.refresh()
        assert c.state is ApiState.LIVE and c.last_success == T0 and c.data is not None
        assert set(c.data.details) == set(api.state.satellites) and c.data.payout is not None
        api.state.mode = mode
        for _ in range(3):
            clock.now += 300
            await c.refresh()
        assert c.state is ApiState.DOWN and c.last_update_success is False
        assert c.failure is not None and c.failure.startswith(failure_start), c.failure
        assert c.answered is answered and c.failing_since == T0 + 300
        assert c.data is not None and c.data.fetched_at == T0  # the last good data is kept
        assert seen == [(ApiState.LIVE, T0)] + [(ApiState.DOWN, T0)] * 3
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1  # the transition only; repeats are DEBUG
        api.state.mode = "ok"
        clock.now += 300
        await c.refresh()
        assert c.state is ApiState.LIVE and c.failing_since is None and c.failure is None
        assert [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()] == [
            f"[N] node API at {api.url} recovered"
        ]
    finally:
        await c.stop()


async def test_listeners_in_order_isolated_and_unsubscribed(
    tmp_path: Path, api: FakeNodeApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="storj_monitor.pollers")
    c = NodeCoordinator(settings_for(tmp_path), "N", api.url, clock=Clock())
    calls: list[str] = []
    broken = True

    async def first(_c: NodeCoordinator) -> None:
        calls.append("first")
        if broken:
            raise RuntimeError("disk full")

    async def second(_c: NodeCoordinator) -> None:
        calls.append("second")

    c.add_listener(first, name="first")
    remove = c.add_listener(second, name="second")
    try:
        await c.refresh()
        await c.refresh()
        assert calls == ["first", "second"] * 2  # a failing listener never stops the next
        assert c.listener_failures == {"first": "RuntimeError: disk full"}
        assert c.state is ApiState.LIVE
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is not None  # traceback once
        broken = False
        remove()
        await c.refresh()
        assert calls[-1] == "first" and calls.count("second") == 2
        assert c.listener_failures == {}
        assert any("listener first recovered" in r.getMessage() for r in caplog.records)
    finally:
        await c.stop()


async def test_store_failure_keeps_the_api_live_and_is_reported_once(
    tmp_path: Path, api: FakeNodeApi, caplog: pytest.LogCaptureFixture
) -> None:
    """The old poller let a store error escape to its loop (a traceback every poll) and kept
    saying "API live" while nothing was stored. Now: the API is live (it is), the recorder's
    failure is state (``listener_failures``, /metrics) and logged once."""
    caplog.set_level(logging.DEBUG, logger="storj_monitor")
    settings = settings_for(tmp_path)
    store = Store(settings.db_path).open()
    clock = Clock()
    c = NodeCoordinator(settings, "N", api.url, clock=clock)
    recorder = NodeApiRecorder(settings, store, Bus(), None, c)
    real_write = store.write

    async def failing_write(fn):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")

    store.write = failing_write  # type: ignore[method-assign]
    try:
        for _ in range(3):
            await c.refresh()
            clock.now += 300
        assert c.state is ApiState.LIVE
        assert c.listener_failures == {"recorder": "OperationalError: database or disk is full"}
        assert recorder.result is None
        tracebacks = [r for r in caplog.records if r.exc_info is not None]
        assert len(tracebacks) == 1
        store.write = real_write  # type: ignore[method-assign]
        await c.refresh()
        assert c.listener_failures == {} and recorder.result is not None and recorder.result.ok
        rows = store.read_sync(
            lambda q: q.execute("SELECT COUNT(*) FROM storage_snapshots").fetchone()
        )
        assert rows == (1,)
    finally:
        await c.stop()
        store.close()


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("http500", "has failed for 15 minutes: it answered HTTP 500"),
        ("html", "has failed for 15 minutes: it answered HTML, not JSON"),
        ("hang", "has not answered for 15 minutes (no answer within 0.5 s)"),
    ],
)
async def test_offline_alert_says_what_the_api_answered(
    tmp_path: Path, api: FakeNodeApi, mode: str, words: str
) -> None:
    """Issue 14.5: an API that answers a 500 or an HTML page has not been silent."""
    settings = settings_for(tmp_path, node_api_offline_alert_seconds=900)
    store = Store(settings.db_path).open()
    clock = Clock()
    bus = Bus()
    engine = AlertEngine(settings, store, bus, clock=clock)
    await engine.start()
    c = NodeCoordinator(settings, "N", api.url, clock=clock)
    NodeApiRecorder(settings, store, bus, engine, c)
    try:
        await c.refresh()
        api.state.mode = mode
        for _ in range(4):  # failing at 300, 600, 900, 1200 s: 15 minutes at the last
            clock.now += 300
            await c.refresh()
        (alert,) = store.read_sync(lambda q: qa.active_alerts(q, ["N"]))
        assert alert["kind"] == "node_offline"
        assert words in alert["message"], alert["message"]
        assert "0 minutes" not in alert["message"]
    finally:
        await c.stop()
        await engine.stop()
        store.close()


async def test_metrics_read_the_runtime_coordinators(tmp_path: Path, api: FakeNodeApi) -> None:
    """/metrics reads the typed Runtime: API up, polls, last success, and a failing listener
    (the recorder's store writes) as its own gauge while the API stays up."""
    settings = settings_for(tmp_path)
    store = Store(settings.db_path).open()
    clock = Clock()
    bus = Bus()
    c = NodeCoordinator(settings, "N", api.url, clock=clock)

    async def broken(_c: NodeCoordinator) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    c.add_listener(broken, name="recorder")
    runtime = Runtime(
        settings=settings,
        store=store,
        bus=bus,
        engine=AlertEngine(settings, store, bus, clock=clock),
        nodes=(NodeSpec("N", str(tmp_path / "n.log"), api.url),),
        coordinators=MappingProxyType({"N": c}),
        ingests=MappingProxyType({}),
        thresholds=thresholds_from(settings),
        clock=clock,
    )
    hub = Hub()
    geo = GeoIP("")
    ctx = ApiContext(runtime, hub, LiveStats(bus, hub, ["N"], clock=clock), geo)
    registry = make_registry(ctx, CollectorRegistry(auto_describe=False))
    value = registry.get_sample_value
    try:
        assert value("storj_monitor_node_api_up", {"node": "N"}) == 0
        await c.refresh()
        assert value("storj_monitor_node_api_up", {"node": "N"}) == 1
        assert value("storj_monitor_node_api_polls_total", {"node": "N"}) == 1
        assert value("storj_monitor_node_api_last_success_timestamp_seconds", {"node": "N"}) == T0
        failing = {"node": "N", "listener": "recorder"}
        assert value("storj_monitor_node_api_listener_failing", failing) == 1
        assert runtime.api_state("N") is ApiState.LIVE and runtime.api_state("X") is ApiState.NONE
    finally:
        await c.stop()
        geo.close()
        store.close()
