"""The alerts core: dedup, update, resolve, one-shot alerts, acknowledge, restart, logging."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.alerts.storage_rules import STORAGE_KINDS, disk_usage_condition
from storj_monitor.model import Alert, AlertCondition
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as q
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from

S = defaults()
TH = thresholds_from(S)


class Env:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = Store(path).open()
        self.bus = Bus()
        self.changes: list[tuple[str, str, str]] = []
        self.bus.subscribe("alert", lambda a, ch: self.changes.append((a.key, a.severity, ch)))
        self.now = 1_000_000.0
        self.engine = AlertEngine(S, self.store, self.bus, clock=lambda: self.now)

    def rows(self) -> list[dict]:
        return self.store.read_sync(lambda c: q.recent_alerts(c, None, 100))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path / "a.db")
    await e.engine.start()
    yield e
    await e.engine.stop()
    e.store.close()


def usage(pct: float, node: str = "My-Node") -> list[AlertCondition]:
    c = disk_usage_condition(node, {"used_percent": pct, "available_bytes": 70e9}, TH)
    return [c] if c else []


async def test_same_condition_does_not_refire(env: Env) -> None:
    for i in range(5):
        await env.engine.evaluate("My-Node", STORAGE_KINDS, usage(82.3), 1000.0 + i)
    rows = env.rows()
    assert len(rows) == 1
    assert rows[0]["first_seen"] == 1000.0 and rows[0]["last_seen"] == 1004.0
    assert rows[0]["first_seen_iso"] == "1970-01-01T00:16:40Z" and rows[0]["active"]
    assert env.changes == [("disk_usage", "warning", "new")]


async def test_escalate_then_resolve(env: Env) -> None:
    await env.engine.evaluate("My-Node", "disk_usage", usage(82.3), 1.0)
    await env.engine.evaluate("My-Node", "disk_usage", usage(96.5), 2.0)
    await env.engine.evaluate("My-Node", "disk_usage", usage(50.0), 3.0)
    assert env.changes == [
        ("disk_usage", "warning", "new"),
        ("disk_usage", "critical", "updated"),
        ("disk_usage", "critical", "resolved"),
    ]
    (row,) = env.rows()
    assert row["resolved_at"] == 3.0 and row["severity"] == "critical" and not row["active"]
    assert row["title"] == "Critical Disk Usage on My-Node"
    assert env.store.read_sync(lambda c: q.active_alerts(c, ["My-Node"])) == []
    # A new occurrence after resolution is a new alert.
    await env.engine.evaluate("My-Node", "disk_usage", usage(99.0), 4.0)
    assert len(env.rows()) == 2


async def test_scope_limits_what_is_resolved(env: Env) -> None:
    other = AlertCondition("My-Node", "audit_score", "audit_score:sat", "warning", "t", "m")
    await env.engine.evaluate("My-Node", {"audit_score"}, [other], 1.0)
    await env.engine.evaluate("My-Node", STORAGE_KINDS, usage(82.3), 1.0)
    await env.engine.evaluate("My-Node", STORAGE_KINDS, [], 2.0)  # storage only
    active = env.store.read_sync(lambda c: q.active_alerts(c, None))
    assert [a["key"] for a in active] == ["audit_score:sat"]


async def test_nodes_are_independent(env: Env) -> None:
    await env.engine.evaluate("A", STORAGE_KINDS, usage(82.3, "A"), 1.0)
    await env.engine.evaluate("B", STORAGE_KINDS, usage(96.0, "B"), 1.0)
    await env.engine.evaluate("A", STORAGE_KINDS, [], 2.0)
    active = env.store.read_sync(lambda c: q.active_alerts(c, None))
    assert [(a["node_name"], a["severity"]) for a in active] == [("B", "critical")]
    assert env.store.read_sync(lambda c: q.active_alerts(c, ["A"])) == []


async def test_fire_counts_and_auto_resolves(env: Env) -> None:
    cond = AlertCondition(
        "My-Node", "audit_failed", "audit_failed:sat", "warning", "Failed Audit", "m"
    )
    a1 = await env.engine.fire(cond, 100.0, auto_resolve_after=60.0)
    a2 = await env.engine.fire(cond, 130.0, auto_resolve_after=60.0)
    assert a1.id == a2.id and a2.details["occurrences"] == 2
    assert await env.engine.expire(180.0) == 0  # 130 + 60 not reached
    assert await env.engine.expire(190.0) == 1
    (row,) = env.rows()
    assert row["resolved_at"] == 190.0 and row["last_seen"] == 130.0
    assert [c[2] for c in env.changes] == ["new", "updated", "resolved"]


async def test_acknowledge(env: Env) -> None:
    await env.engine.evaluate("My-Node", "disk_usage", usage(96.5), 1.0)
    (alert,) = env.engine.open_alerts("My-Node")
    assert alert.id is not None
    assert await env.engine.acknowledge(alert.id, 5.0)
    assert not await env.engine.acknowledge(alert.id, 6.0)  # already
    assert not await env.engine.acknowledge(999, 6.0)
    (row,) = env.rows()
    assert row["acknowledged_at"] == 5.0 and row["active"]
    assert env.changes[-1] == ("disk_usage", "critical", "acknowledged")


async def test_escalation_clears_the_acknowledgement(env: Env) -> None:
    await env.engine.evaluate("My-Node", "disk_usage", usage(82.3), 1.0)
    (alert,) = env.engine.open_alerts("My-Node")
    assert alert.id is not None and await env.engine.acknowledge(alert.id, 2.0)
    await env.engine.evaluate("My-Node", "disk_usage", usage(83.0), 3.0)
    assert env.rows()[0]["acknowledged_at"] == 2.0  # same severity: still acknowledged
    await env.engine.evaluate("My-Node", "disk_usage", usage(97.0), 4.0)
    assert env.rows()[0]["acknowledged_at"] is None


async def test_restart_continues_open_alerts(tmp_path: Path) -> None:
    e = Env(tmp_path / "r.db")
    await e.engine.start()
    await e.engine.evaluate("My-Node", "disk_usage", usage(82.3), 1.0)
    await e.engine.stop()
    e.store.close()
    e2 = Env(tmp_path / "r.db")
    await e2.engine.start()
    try:
        await e2.engine.evaluate("My-Node", "disk_usage", usage(82.3), 2.0)
        assert len(e2.rows()) == 1 and e2.changes == []
        await e2.engine.evaluate("My-Node", "disk_usage", [], 3.0)
        assert e2.changes == [("disk_usage", "warning", "resolved")]
    finally:
        await e2.engine.stop()
        e2.store.close()


async def test_logs_once_per_transition_in_seed_format(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storj_monitor.alerts")
    for i in range(3):
        await env.engine.evaluate("My-Node", "disk_usage", usage(82.3), float(i))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == (
        "[My-Node] WARNING: High Disk Usage on My-Node - Disk is 82.3% full (threshold: 80.0%). "
        "Free space: 70.00 GB. Plan to add capacity soon."
    )
    await env.engine.evaluate("My-Node", "disk_usage", usage(96.5), 5.0)
    crit = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert (
        crit[0]
        .getMessage()
        .startswith("[My-Node] CRITICAL: Critical Disk Usage on My-Node - Disk is 96.5%")
    )


async def test_conditions_of_other_nodes_or_kinds_are_ignored(env: Env) -> None:
    await env.engine.evaluate("My-Node", "disk_usage", usage(82.3, "Other"), 1.0)
    assert env.rows() == []


def test_alert_payload_shape() -> None:
    a = Alert("n", "disk_usage", "disk_usage", "warning", "t", "m", 1.5, 2.5, id=3)
    d = q.alert_payload(a)
    assert d["id"] == 3 and d["first_seen"] == 1.5 and d["last_seen_iso"] == "1970-01-01T00:00:02Z"
    assert d["resolved_at_iso"] is None and d["active"] is True


KEYS = ("k1", "k2", "k3")
rounds = st.lists(
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(["info", "warning", "critical"])),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(rounds)
def test_open_alerts_always_mirror_the_last_evaluation(
    tmp_path_factory: pytest.TempPathFactory, seq: list[dict[str, str]]
) -> None:
    """Whatever the sequence: one open alert per present key with its latest severity, none for
    absent keys, in memory and in the table; every key opens once per presence streak."""
    path = tmp_path_factory.mktemp("prop") / "p.db"

    async def run() -> None:
        store = Store(path).open()
        bus = Bus()
        news: list[str] = []
        bus.subscribe("alert", lambda a, ch: news.append(a.key) if ch == "new" else None)
        engine = AlertEngine(S, store, bus, clock=lambda: 0.0)
        try:
            streaks = 0
            previous: set[str] = set()
            for i, present in enumerate(seq):
                conds = [AlertCondition("N", "x", k, sev, k, sev) for k, sev in present.items()]  # type: ignore[arg-type]
                await engine.evaluate("N", "x", conds, float(i))
                streaks += len(set(present) - previous)
                previous = set(present)
                memory = {a.key: a.severity for a in engine.open_alerts("N")}
                table = {
                    a["key"]: a["severity"]
                    for a in store.read_sync(lambda c: q.active_alerts(c, ["N"]))
                }
                assert memory == table == present
            assert len(news) == streaks
        finally:
            store.close()

    asyncio.run(run())
