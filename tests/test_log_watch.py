"""Log-derived storage snapshots, failed-audit and ping alerts, reputation from log records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storj_monitor.model import Event, LogRecord, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.log_watch import LogWatch, score_from_record
from storj_monitor.services.monitor import Monitor
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


T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
SAT = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = defaults().replace(
            db_path=str(tmp_path / "w.db"), storage_log_sample_interval=300
        )
        self.store = Store(self.settings.db_path).open()
        self.bus = Bus()
        self.now = T0
        self.live_api: set[str] = set()
        self.states: dict[str, str] = {}
        self.engine = AlertEngine(self.settings, self.store, self.bus, clock=lambda: self.now)
        self.watch = LogWatch(
            self.settings, self.store, self.bus, self.engine,
            clock=lambda: self.now, api_state=self.api_state,
        )  # fmt: skip

    def api_state(self, node: str) -> str:
        return "live" if node in self.live_api else self.states.get(node, "none")

    def active(self) -> list[dict]:
        return self.store.read_sync(lambda c: qa.active_alerts(c, None))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    await e.engine.start()
    await e.watch.start()
    yield e
    await e.watch.stop()
    await e.engine.stop()
    e.store.close()


def failed_audit(ts: float, error: str = "file does not exist") -> Event:
    return Event(ts, "My-Node", "GET_AUDIT", "failed", 0, SAT, "PIECE1", "1.2.3.4", error, error)


def rep_record(ts: float, audit: float) -> LogRecord:
    return LogRecord(
        ts, "My-Node", "reputation", "INFO", "node scores updated", SAT,
        fields={"audit_score": audit, "online_score": 0.99, "suspension_score": 1,
                "total_audits": 3298, "successful_audits": 3296},
    )  # fmt: skip


async def test_failed_audit_fires_once_and_counts(env: Env) -> None:
    env.bus.publish("records", "My-Node", [rep_record(T0 - 3600, 0.99)])
    env.bus.publish("events", "My-Node", [failed_audit(T0), failed_audit(T0 + 60)])
    env.bus.publish(
        "events", "My-Node", [Event(T0, "My-Node", "GET_AUDIT", "success", 0, SAT, "P", "1.2.3.4")]
    )
    await env.watch.drain()
    (alert,) = env.active()
    assert alert["kind"] == "audit_failed" and alert["severity"] == "critical"
    assert alert["details"]["occurrences"] == 2 and alert["first_seen"] == T0
    assert env.watch.audit_failures == 2
    assert "Last audit score on this satellite: 99.00%; about 30 more failed" in alert["message"]
    assert await env.engine.expire(T0 + 60 + 24 * 3600) == 1


def ping(t: float, sat: str = SAT, error: str = "connection refused") -> LogRecord:
    return LogRecord(t, "My-Node", "ping_failed", "ERROR", "ping satellite failed ", sat,
                     fields={"error": error})  # fmt: skip


async def test_a_single_ping_failure_is_no_alert_a_burst_is(env: Env) -> None:
    env.bus.publish("records", "My-Node", [ping(T0), ping(T0 + 600)])
    await env.watch.drain()
    assert env.active() == []  # two within 15 minutes: below PING_FAILED_ALERT_COUNT (3)
    env.bus.publish("records", "My-Node", [ping(T0 + 1000, error="dial tcp: i/o timeout")])
    await env.watch.drain()
    assert env.active() == []  # the first fell out of the 15-minute window: still two
    env.bus.publish("records", "My-Node", [ping(T0 + 1100, "other-sat"), ping(T0 + 1200)])
    await env.watch.drain()
    (alert,) = env.active()  # three for SAT within 15 minutes (T0+600..T0+1200)
    assert alert["kind"] == "ping_failed" and alert["severity"] == "warning"
    assert alert["key"] == f"ping_failed:{SAT}"
    assert "3 times in 15 minutes" in alert["message"] and SAT[:12] in alert["message"]
    assert "last error: connection refused" in alert["message"]
    # a later single failure keeps it open; an hour without one resolves it
    env.bus.publish("records", "My-Node", [ping(T0 + 4000, error="no route to host")])
    await env.watch.drain()
    (alert,) = env.active()
    assert "no route to host" in alert["message"]
    assert await env.engine.expire(T0 + 4000 + 3599) == 0
    assert await env.engine.expire(T0 + 4000 + 3600) == 1
    assert env.active() == []


async def test_reputation_records_write_history_and_alert(env: Env) -> None:
    env.bus.publish("records", "My-Node", [rep_record(T0, 0.97)])
    await env.watch.drain()
    (row,) = reputation(env.store.read_sync, ["My-Node"], T0, env.settings)
    assert row["audit_score"] == 97.0 and row["source"] == "log" and row["total_audits"] == 3298
    assert row["failed_audits_until_disqualification"] == 10
    (alert,) = env.active()
    assert alert["kind"] == "audit_score" and alert["severity"] == "warning"
    env.bus.publish("records", "My-Node", [rep_record(T0 + 4 * 3600, 1.0)])
    await env.watch.drain()
    assert env.active() == []


async def test_reputation_alerts_left_to_the_api_when_it_answers(env: Env) -> None:
    env.live_api.add("My-Node")
    env.bus.publish("records", "My-Node", [rep_record(T0, 0.97)])
    await env.watch.drain()
    assert env.active() == []


async def test_storage_samples_are_thinned_and_forecast(env: Env) -> None:
    free = 500e9
    for i in range(0, 13 * 3600, 60):  # a sample every minute for 13 h, 40 GB/day
        env.bus.publish("storage_sample", "My-Node", T0 + i, int(free - 40e9 * i / 86400))
    await env.watch.drain()
    rows = env.store.read_sync(lambda c: qs.storage_snapshots_between(c, "My-Node", 0, T0 + 86400))
    assert len(rows) == 13 * 12  # one per 300 s of log time
    assert {r["source"] for r in rows} == {"log"} and rows[0]["total_bytes"] is None
    data = env.store.read_sync(
        lambda c: qs.get_storage_data(c, ["My-Node"], T0 + 13 * 3600, env.settings)
    )
    assert data[0]["forecast_status"] == "filling"
    assert data[0]["growth_rate_bytes_per_day"] == pytest.approx(40e9, rel=0.02)
    assert data[0]["used_percent"] is None and data[0]["source"] == "log"
    assert data[0]["days_until_full"] == pytest.approx(rows[-1]["available_bytes"] / 40e9, rel=0.05)
    # 12 days away: the forecast warning; the percent rule cannot fire without a total.
    assert [(a["kind"], a["severity"]) for a in env.active()] == [("disk_forecast", "warning")]


async def test_storage_samples_skipped_while_api_answers(env: Env) -> None:
    env.live_api.add("My-Node")
    env.bus.publish("storage_sample", "My-Node", T0, 10**12)
    await env.watch.drain()
    assert env.watch.samples_written == 0


def test_score_from_record_ignores_other_kinds() -> None:
    assert score_from_record(LogRecord(T0, "n", "trash", "INFO", "x", SAT)) is None
    assert score_from_record(LogRecord(T0, "n", "reputation", "INFO", "x", SAT, fields={})) is None


def upload_started(ts: str, free: int) -> str:
    return (
        f"{ts}\tDEBUG\tpiecestore\tupload started\t"
        '{"Process": "storagenode", "Piece ID": "GTJ5PJF7Z6XBF4CJCNIWRGR74PZ6Q7QF72K3ML3Y4PWHWILKYS2A", '
        f'"Satellite ID": "{SAT}", "Action": "PUT", "Remote Address": "207.211.208.129:37358", '
        f'"Available Space": {free}}}\n'
    )


async def test_monitor_takes_storage_from_the_log_without_api(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    """A node whose API is dead: the log's free space becomes storage snapshots."""
    settings = defaults().replace(
        db_path=str(tmp_path / "m.db"),
        node_api_poll_interval=0.2,
        node_api_timeout=0.3,
        node_api_retries=0,
        storage_log_sample_interval=300,
        log_poll_interval=0.05,
    )
    log_path = tmp_path / "node.log"
    log_path.write_text(upload_started("2026-01-01T00:00:00Z", 600_000_000_000))
    node = NodeSpec("LogOnly", str(log_path), api_url=f"http://127.0.0.1:{unused_tcp_port}")
    monitor = Monitor(settings, [node], clock=lambda: T0 + 7200, serve=False)
    samples: list[float] = []
    arrived = asyncio.Event()

    def on_sample(name: str, ts: float, free: int) -> None:
        samples.append(ts)
        arrived.set()

    monitor.bus.subscribe("storage_sample", on_sample)
    await monitor.start()
    try:
        for minute in (10, 20, 30):
            await asyncio.wait_for(arrived.wait(), 10)
            arrived.clear()
            with log_path.open("a") as f:
                f.write(
                    upload_started(
                        f"2026-01-01T00:{minute:02d}:00Z", 600_000_000_000 - minute * 10**9
                    )
                )
        await asyncio.wait_for(arrived.wait(), 10)
        for svc in monitor.services:
            if isinstance(svc, LogWatch):
                await svc.drain()
        rows = await monitor.store.read(
            lambda c: qs.storage_snapshots_between(c, "LogOnly", 0, T0 + 86400)
        )
        assert [r["available_bytes"] for r in rows] == [6e11, 5.9e11, 5.8e11, 5.7e11]
        assert {r["source"] for r in rows} == {"log"}
    finally:
        await monitor.stop()


async def test_log_samples_leave_an_api_usage_alert_alone(env: Env) -> None:
    from storj_monitor.model import AlertCondition

    usage = AlertCondition(
        "My-Node", "disk_usage", "disk_usage", "critical", "Critical Disk Usage on My-Node", "m"
    )
    await env.engine.evaluate("My-Node", {"disk_usage"}, [usage], T0)
    for i in range(0, 3 * 3600, 300):  # the API went away; flat free space from the log
        env.bus.publish("storage_sample", "My-Node", T0 + i, 10**12)
    await env.watch.drain()
    assert [a["kind"] for a in env.active()] == ["disk_usage"]


@pytest.mark.parametrize(("first_poll", "kept"), [("down", 3), ("live", 0)])
async def test_samples_wait_for_the_first_poll(env: Env, first_poll: str, kept: int) -> None:
    env.states["My-Node"] = "unknown"
    for i in range(3):
        env.bus.publish("storage_sample", "My-Node", T0 + i * 300, 10**12 - i * 10**9)
    await env.watch.drain()
    assert env.watch.samples_written == 0
    env.states["My-Node"] = first_poll
    if first_poll == "live":
        env.live_api.add("My-Node")
    env.bus.publish("poll", "My-Node", object())
    await env.watch.drain()
    assert env.watch.samples_written == kept


async def test_node_problem_records_fire(env: Env) -> None:
    rec = LogRecord(
        T0, "My-Node", "fatal", "ERROR", "failure during run", fields={"error": "disk I/O"}
    )
    env.bus.publish("records", "My-Node", [rec])
    await env.watch.drain()
    (alert,) = env.active()
    assert (alert["kind"], alert["severity"]) == ("fatal", "critical")
    assert alert["title"] == "Node Stopped With an Error: My-Node"


async def test_backlog_reputation_lines_become_history_whatever_their_age(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    """A first read of a day-old log: its `node scores updated` lines are the only reputation
    an API-less node has, so they reach reputation_history although older than an hour."""
    settings = defaults().replace(
        db_path=str(tmp_path / "m.db"),
        node_api_poll_interval=0.2,
        node_api_timeout=0.3,
        node_api_retries=0,
        log_poll_interval=0.05,
    )
    log_path = tmp_path / "node.log"
    log_path.write_text(
        "2026-01-01T00:00:00Z\tINFO\treputation:service\tnode scores updated\t"
        f'{{"Process": "storagenode", "Satellite ID": "{SAT}", "Total Audits": 100, '
        '"Successful Audits": 99, "Audit Score": 0.975, "Online Score": 0.99, '
        '"Suspension Score": 1, "Audit Score Delta": 0, "Online Score Delta": 0, '
        '"Suspension Score Delta": 0}\n'
    )
    node = NodeSpec("LogOnly", str(log_path), api_url=f"http://127.0.0.1:{unused_tcp_port}")
    monitor = Monitor(settings, [node], clock=lambda: T0 + 86400, serve=False)
    await monitor.start()
    try:
        rows: list = []
        for _ in range(200):
            for svc in monitor.services:
                if isinstance(svc, LogWatch):
                    await svc.drain()
            rows = await monitor.store.read(
                lambda c: c.execute(
                    "SELECT satellite_id, audit_score, source FROM reputation_history"
                ).fetchall()
            )
            if rows:
                break
            await asyncio.sleep(0.05)
        assert rows == [(SAT, 97.5, "log")]
    finally:
        await monitor.stop()
