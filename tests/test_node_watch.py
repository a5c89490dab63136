"""Silence and offline (issue #13): a silent node vs a quiet one, a missing or unreadable log
file at start and later, restarts and crash loops. Real files, real SQLite, injected time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from loglines import T0, text, transfer
from storj_monitor.alerts.health_rules import crash_loop_condition, span_words, starts_of
from storj_monitor.analytics.line_rate import LineRate
from storj_monitor.logs.tail import GONE_GRACE_S, FileFollower
from storj_monitor.model import LogRecord, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.services.node_watch import NodeWatch
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as qa
from storj_monitor.store import events as se
from storj_monitor.store.database import Store


async def until(cond: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Wait for a condition (polling, no timing assertion); fail with ``what`` if never."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not cond():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def steady(count: int, every: float, start: float = T0) -> list[str]:
    """``count`` transfers (two lines each) ``every`` seconds from ``start``."""
    lines: list[str] = []
    for i in range(count):
        lines += transfer(i, start + i * every)
    return lines


# --- pure parts ---------------------------------------------------------------------------


def test_line_rate_is_measured_up_to_the_last_line_and_needs_ten_minutes() -> None:
    r = LineRate()
    r.add(T0, 5)
    r.add(T0 + 300, 5)
    assert r.per_minute() == 0.0  # 5 minutes of log: not learned yet
    r.spread([T0 + 400 + 10 * i for i in range(21)], 42)  # 42 lines up to T0+600
    assert r.last_at == T0 + 600 and r.first_at == T0
    assert r.per_minute() == pytest.approx(52 / 10)
    # the rate does not decay while the log is silent: nothing was added, nothing changes
    assert r.per_minute() == pytest.approx(52 / 10)
    # older than the hour before the last line: out of the window
    r.add(T0 + 3600 + 1200, 60)
    assert r.per_minute() == pytest.approx(60 / 60, abs=0.3)


def test_starts_cluster_and_crash_loop() -> None:
    # "Configuration loaded", "Node ... started", "Public server started" of one start
    starts = starts_of([T0, T0 + 1, T0 + 2, T0 + 1000, T0 + 1001, T0 + 2000])
    assert starts == [T0, T0 + 1000, T0 + 2000]
    assert crash_loop_condition("n", starts[:2], T0 + 2000) is None
    cond = crash_loop_condition("n", starts, T0 + 2010)
    assert cond is not None and cond.kind == "crash_loop" and cond.severity == "warning"
    assert cond.title == "Node Restarting Repeatedly: n"
    assert "started 3 times in the last 1 h 0 min" in cond.message
    assert crash_loop_condition("n", starts, T0 + 3601) is None  # the first is over an hour old
    assert [span_words(x) for x in (59, 600, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "59 s", "10 min", "3 h 5 min", "2 d 4 h"
    ]  # fmt: skip


def test_follower_reports_a_missing_path_once_and_its_appearance(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "nodee.log"  # a mistyped path
    now = [T0]
    f = FileFollower(str(path), clock=lambda: now[0])
    assert f.log_state is None
    with caplog.at_level("INFO", logger="storj_monitor.logs.tail"):
        for _ in range(3):
            assert f.poll() == []
        st = f.log_state
        assert st is not None and (st.state, st.path, st.error, st.since) == (
            "missing", str(path), None, T0
        )  # fmt: skip
        path.write_text("a\n")
        now[0] += 30
        assert [c.lines for c in f.poll()] == [["a"]]
        assert f.log_state is not None and f.log_state.state == "ok"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"log file {path} does not exist; waiting for it (is the path right?)"]
    assert f"log file {path} is readable again" in caplog.text
    f.close()


def test_follower_calls_a_deleted_file_missing_after_the_grace(tmp_path: Path) -> None:
    path = tmp_path / "node.log"
    path.write_text("a\n")
    now = [T0]
    f = FileFollower(str(path), clock=lambda: now[0])
    assert [c.lines for c in f.poll()] == [["a"]]
    path.unlink()  # deleted, no new file (or logrotate between rename and create)
    assert f.poll() == [] and f.log_state is not None and f.log_state.state == "ok"
    now[0] += GONE_GRACE_S - 1
    assert f.poll() == [] and f.log_state.state == "ok"  # a rotation in progress
    now[0] += 1
    assert f.poll() == [] and f.log_state.state == "missing"
    path.write_text("b\n")
    assert [c.lines for c in f.poll()] == [["b"]]
    assert f.log_state.state == "ok"
    f.close()


# --- the service with real ingest pipelines -----------------------------------------------


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.settings = defaults().replace(
            db_path=str(tmp_path / "h.db"), db_commit_interval=0.05, log_poll_interval=0.02
        )
        self.store = Store(self.settings.db_path).open()
        self.bus = Bus()
        self.now = T0
        self.engine = AlertEngine(self.settings, self.store, self.bus, clock=self.clock)
        self.ingests: dict[str, NodeIngest] = {}
        self.watch: NodeWatch | None = None

    def clock(self) -> float:
        return self.now

    async def start(self, **logs: str) -> NodeWatch:
        nodes = tuple(NodeSpec(name, path) for name, path in logs.items())
        for node in nodes:
            self.ingests[node.name] = NodeIngest(
                self.settings, self.store, self.bus, node, clock=self.clock
            )
            await self.ingests[node.name].start()
        await self.engine.start()
        self.watch = NodeWatch(
            self.settings, self.store, self.bus, self.engine, nodes, self.ingests, {},
            clock=self.clock, interval=3600,
        )  # fmt: skip
        await self.watch.start()
        return self.watch

    async def stop(self) -> None:
        if self.watch is not None:
            await self.watch.stop()
        for ingest in self.ingests.values():
            await ingest.stop()
        await self.engine.stop()
        self.store.close()

    def open_alerts(self, node: str | None = None) -> dict[str, dict]:
        rows = self.store.read_sync(lambda c: qa.active_alerts(c, None))
        return {r["kind"]: r for r in rows if node is None or r["node_name"] == node}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    try:
        yield e
    finally:
        await e.stop()


def events_stored(env: Env, node: str) -> int:
    return env.store.read_sync(lambda c: se.count_events(c, node))


async def test_a_silent_node_is_flagged_a_quiet_node_is_not(env: Env) -> None:
    busy, quiet = env.tmp / "busy.log", env.tmp / "quiet.log"
    busy.write_text(text(steady(40, 30)))  # 80 lines over 20 minutes: 4 lines/min
    quiet.write_text(text(steady(13, 600)))  # a transfer every 10 minutes for 2 hours
    env.now = T0 + 7300
    watch = await env.start(busy=str(busy), quiet=str(quiet))
    await until(lambda: events_stored(env, "busy") == 40 and events_stored(env, "quiet") == 13,
                "both backlogs")  # fmt: skip
    busy_last = T0 + 39 * 30 + 1
    last_at, rate = env.ingests["busy"].line_activity()
    assert last_at == busy_last and rate == pytest.approx(4.0, rel=0.15)
    quiet_last, quiet_rate = env.ingests["quiet"].line_activity()
    assert quiet_last == T0 + 12 * 600 + 1 and quiet_rate < 0.3

    await watch.run_once(busy_last + 299)  # 10 lines were due after 150 s: the floor (300 s)
    assert env.open_alerts() == {}
    await watch.run_once(busy_last + 300)
    alert = env.open_alerts("busy")["node_silent"]
    assert alert["severity"] == "warning" and alert["title"] == "Node Log Silent: busy"
    assert "No log line from busy for 5 min" in alert["message"]
    assert "rate of 4." in alert["message"] and "lines/min" in alert["message"]
    # 20 minutes later the busy node is still flagged; the quiet one, as long silent, is not
    await watch.run_once(quiet_last + 1200)
    assert set(env.open_alerts("busy")) == {"node_silent"}
    assert env.open_alerts("quiet") == {}

    # the busy node writes again: a live line (stamped when read) resolves it
    env.now = quiet_last + 1300
    with open(busy, "a", encoding="utf-8") as f:
        f.write(text(transfer(99, env.now)))
    await until(lambda: env.ingests["busy"].line_activity()[0] == env.now, "the live line")
    await watch.run_once(env.now + 10)
    assert env.open_alerts() == {}


async def test_a_missing_log_at_start_is_an_alert_at_once_and_resolves(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    path = env.tmp / "storagenode.lgo"  # mistyped
    with caplog.at_level("WARNING"):
        watch = await env.start(n1=str(path))
        await until(lambda: env.ingests["n1"].log_state is not None, "the first look")
        await watch.run_once(T0)
    alert = env.open_alerts("n1")["log_missing"]
    assert alert["severity"] == "critical" and alert["title"] == "Log File Missing: n1"
    assert f"The log file {path} does not exist" in alert["message"]
    tail_lines = [r.getMessage() for r in caplog.records if r.name == "storj_monitor.logs.tail"]
    assert tail_lines == [f"log file {path} does not exist; waiting for it (is the path right?)"]
    await watch.run_once(T0 + 600)  # no "silent" on top of it, no second alert
    assert set(env.open_alerts()) == {"log_missing"}

    path.write_text(text(steady(2, 1, T0 + 600)))
    await until(lambda: events_stored(env, "n1") == 2, "the file's lines")
    await watch.run_once(T0 + 610)
    assert env.open_alerts() == {}
    (resolved,) = env.store.read_sync(lambda c: qa.recent_alerts(c, ["n1"]))
    assert resolved["resolved_at"] is not None


async def test_a_log_deleted_later_is_an_alert(env: Env) -> None:
    path = env.tmp / "node.log"
    path.write_text(text(steady(3, 1)))
    env.now = T0 + 10
    watch = await env.start(n1=str(path))
    await until(lambda: events_stored(env, "n1") == 3, "the backlog")
    await watch.run_once(env.now)
    assert env.open_alerts() == {}
    path.unlink()

    def a_second_later() -> bool:  # the clock moves on while the follower polls
        env.now += 1.0
        st = env.ingests["n1"].log_state
        return st is not None and st.state == "missing"

    await until(a_second_later, "the follower calling it missing")
    assert env.now >= T0 + 10 + GONE_GRACE_S
    await watch.run_once(env.now)
    assert "log_missing" in env.open_alerts("n1")
    path.write_text(text(steady(1, 1, env.now)))
    await until(lambda: env.ingests["n1"].log_state.state == "ok", "the new file")  # type: ignore[union-attr]
    await watch.run_once(env.now + 1)
    assert env.open_alerts() == {}


async def test_an_unreadable_log_is_an_alert_naming_the_reason(env: Env) -> None:
    path = env.tmp / "node.log"
    path.mkdir()  # not a regular file (root reads any file, so permissions cannot show it)
    watch = await env.start(n1=str(path))
    await until(lambda: env.ingests["n1"].log_state is not None, "the first look")
    await watch.run_once(T0)
    alert = env.open_alerts("n1")["log_missing"]
    assert f"The log file {path} cannot be read (not a regular file)" in alert["message"]


def startup(t: float, node: str = "n1", message: str = "Configuration loaded") -> LogRecord:
    return LogRecord(t, node, "startup", "INFO", message)


async def test_restarts_give_uptime_and_a_crash_loop_alert(env: Env) -> None:
    path = env.tmp / "node.log"
    path.write_text("")
    # a start stored by an earlier run of the monitor (2 days ago)
    env.store.write_sync(lambda c: se.insert_records(c, [startup(T0 - 2 * 86400)]))
    watch = await env.start(n1=str(path))
    assert watch.uptime("n1", T0) == {"started_at": T0 - 2 * 86400, "uptime_seconds": 2 * 86400}
    # three starts within the hour, each with several start-up lines
    for t in (T0, T0 + 900, T0 + 1800):
        env.bus.publish("records", "n1", [startup(t), startup(t + 1, message="Node 1x started")])
    await watch.run_once(T0 + 1000)
    assert env.open_alerts() == {}  # two starts so far (the 2-day-old one is out of the hour)
    await watch.run_once(T0 + 1810)
    alert = env.open_alerts("n1")["crash_loop"]
    assert alert["severity"] == "warning" and "started 3 times" in alert["message"]
    assert watch.uptime("n1", T0 + 1810) == {"started_at": T0 + 1800, "uptime_seconds": 10}
    await watch.run_once(T0 + 3601)  # the first of the three is over an hour old
    assert env.open_alerts() == {}


async def test_health_metrics_read_the_state_at_scrape_time(env: Env) -> None:
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

    from storj_monitor.web.metrics_health import health_families

    good = env.tmp / "good.log"
    good.write_text(text(steady(40, 30)))
    env.now = T0 + 1300
    watch = await env.start(good=str(good), gone=str(env.tmp / "gone.log"))
    await until(lambda: events_stored(env, "good") == 40, "the backlog")
    await until(lambda: env.ingests["gone"].log_state is not None, "the first look")
    env.bus.publish("records", "good", [startup(T0 - 60, node="good")])
    runtime = SimpleNamespace(node_names=["good", "gone"], ingests=env.ingests, health=watch)
    ctx = SimpleNamespace(runtime=runtime, clock=env.clock)

    class Health(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            return health_families(ctx)  # type: ignore[arg-type]

    registry = CollectorRegistry()
    registry.register(Health())
    value = registry.get_sample_value
    assert value("storj_monitor_node_log_readable", {"node": "good"}) == 1
    assert value("storj_monitor_node_log_readable", {"node": "gone"}) == 0
    assert value("storj_monitor_node_last_line_timestamp_seconds", {"node": "good"}) == (
        T0 + 39 * 30 + 1
    )
    assert value("storj_monitor_node_last_line_timestamp_seconds", {"node": "gone"}) is None
    assert value("storj_monitor_node_log_lines_per_minute", {"node": "good"}) == pytest.approx(
        4.0, rel=0.15
    )
    assert value("storj_monitor_node_start_timestamp_seconds", {"node": "good"}) == T0 - 60


def test_the_api_offline_alert_comes_within_five_minutes_by_default() -> None:
    from storj_monitor.alerts.log_rules import node_offline_condition

    limit = defaults().node_api_offline_alert_seconds
    assert limit == 300
    assert node_offline_condition("n", "http://x", T0, T0 + limit - 1, limit) is None
    cond = node_offline_condition("n", "http://x", T0, T0 + limit, limit, "connection refused")
    assert cond is not None and "has not answered for 5 minutes" in cond.message


async def test_no_silence_while_the_backlog_is_read_nor_from_a_log_clock_ahead(
    env: Env,
) -> None:
    from types import SimpleNamespace

    await env.engine.start()
    reading = SimpleNamespace(
        log_state=None, caught_up=False, line_activity=lambda: (T0 - 7200, 4.0)
    )
    watch = NodeWatch(
        env.settings, env.store, env.bus, env.engine, (NodeSpec("n1", "x.log"),),
        {"n1": reading}, {}, clock=env.clock,  # type: ignore[dict-item]
    )  # fmt: skip
    await watch.run_once(T0)
    assert env.open_alerts() == {}  # mid-backlog: the last line read is an old one
    reading.caught_up = True
    await watch.run_once(T0 + 10)
    assert set(env.open_alerts()) == {"node_silent"}

    ahead = env.tmp / "ahead.log"
    ahead.write_text(text(steady(40, 30, T0 + 3600)))  # the node's clock is an hour ahead
    env.now = T0 + 600
    await env.start(ahead=str(ahead))
    await until(lambda: events_stored(env, "ahead") == 40, "the backlog")
    assert env.ingests["ahead"].line_activity()[0] == T0 + 600  # never later than now


async def test_healthz_and_node_objects_show_the_log_state_and_uptime(tmp_path: Path) -> None:
    import aiohttp

    from web_harness import poll_until, running_monitor

    async with (
        running_monitor(tmp_path) as run,
        aiohttp.ClientSession() as session,
    ):

        async def get(path: str) -> dict:
            async with session.get(run.base + path) as resp:
                assert resp.status == 200
                return await resp.json()

        async def nodes() -> dict[str, dict]:
            return {n["name"]: n for n in (await get("/api/nodes"))["data"]}

        async def states() -> dict:
            health = await get("/healthz")
            return health if all(health["log_state"].values()) else {}

        health = await poll_until(states)
        assert health["status"] == "ok"
        assert health["log_state"]["B"]["state"] == "ok"

        async def a_started() -> bool:
            return (await nodes())["A"]["started_at"] is not None

        await poll_until(a_started)  # the fake API's startedAt, once polled
        a = (await nodes())["A"]
        assert a["started_at"] == "2026-08-19T03:12:55Z" and a["uptime_seconds"] > 0

        run.logs["B"].unlink()  # deleted; after the 5 s grace it is missing

        async def degraded() -> dict:
            health = await get("/healthz")
            return health if health["status"] == "degraded" else {}

        health = await poll_until(degraded, timeout=GONE_GRACE_S + 10)
        assert health["log_state"]["B"]["state"] == "missing"
        assert health["log_state"]["A"]["state"] == "ok"
        b = (await nodes())["B"]
        assert b["log_state"]["path"] == str(run.logs["B"]) and b["log_state"]["error"] is None
