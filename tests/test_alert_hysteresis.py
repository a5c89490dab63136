"""Minimum duration and hysteresis: a p99 hovering at its threshold gives one alert (and one
notification), a blip gives none, and disqualification stays immediate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storj_monitor.alerts.latency_rules import LATENCY_KINDS, latency_conditions
from storj_monitor.alerts.reputation_rules import REPUTATION_KINDS, reputation_conditions
from storj_monitor.model import Alert, SatelliteScore
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.settings import Settings, defaults
from storj_monitor.store import alerts as q
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from

T0 = 1_767_225_600.0
MINUTE = 60.0


class Env:
    def __init__(self, tmp_path: Path, settings: Settings) -> None:
        self.settings = settings.replace(db_path=str(tmp_path / "h.db"))
        self.store = Store(self.settings.db_path).open()
        self.bus = Bus()
        self.changes: list[tuple[str, str]] = []
        self.bus.subscribe("alert", lambda a, change: self.changes.append((a.key, change)))
        self.engine = AlertEngine(self.settings, self.store, self.bus, clock=lambda: T0)

    async def p99(self, value: float, now: float) -> None:
        """One LatencyWatch pass for the ``get`` category with this p99 (ms)."""
        s = self.settings
        conds = latency_conditions(
            "N",
            {"get": {"count": 500, "p99": value, "p95": value * 0.8, "p50": 300.0}},
            warning_ms=float(s.latency_warning_ms),
            critical_ms=float(s.latency_critical_ms),
            hysteresis_ms=float(s.latency_hysteresis_ms),
        )
        await self.engine.evaluate("N", LATENCY_KINDS, conds, now)

    def rows(self) -> list[dict]:
        return self.store.read_sync(lambda c: q.recent_alerts(c, None, 100))

    def new(self) -> int:
        return sum(1 for _, change in self.changes if change == "new")


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator:
    envs: list[Env] = []

    async def build(settings: Settings) -> Env:
        where = tmp_path / str(len(envs))
        where.mkdir()
        env = Env(where, settings)
        envs.append(env)
        await env.engine.start()
        return env

    yield build
    for env in envs:
        await env.engine.stop()
        env.store.close()


FLAPS = [5300.0, 4800.0] * 30  # an hour of a p99 hovering at the 5000 ms warning


async def test_flapping_p99_gives_one_alert(make) -> None:  # type: ignore[no-untyped-def]
    env = await make(defaults())
    for i, value in enumerate(FLAPS):
        await env.p99(value, T0 + i * MINUTE)
    (row,) = env.rows()
    assert row["resolved_at"] is None and row["severity"] == "warning"
    assert env.new() == 1  # one notification, not one per flap
    assert [c for c in env.changes if c[1] == "resolved"] == []
    # Back well below the band: resolved once.
    await env.p99(3000.0, T0 + len(FLAPS) * MINUTE)
    (row,) = env.rows()
    assert row["resolved_at"] == T0 + len(FLAPS) * MINUTE
    assert [c for c in env.changes if c[1] == "resolved"] == [("latency:get", "resolved")]


async def test_without_hysteresis_and_minimum_every_flap_was_an_alert(make) -> None:  # type: ignore[no-untyped-def]
    """The behaviour before: the same hour opened (and notified) an alert per flap."""
    env = await make(defaults().replace(latency_alert_min_seconds=0, latency_hysteresis_ms=0))
    for i, value in enumerate(FLAPS):
        await env.p99(value, T0 + i * MINUTE)
    assert len(env.rows()) == env.new() == 30


async def test_a_blip_shorter_than_the_minimum_opens_nothing(make) -> None:  # type: ignore[no-untyped-def]
    env = await make(defaults())  # LATENCY_ALERT_MIN_SECONDS = 300
    for i, value in enumerate([3000.0, 6000.0, 6000.0, 3000.0, 3000.0]):
        await env.p99(value, T0 + i * MINUTE)
    assert env.rows() == [] and env.changes == []
    # Above for five minutes: it opens, dated from when it started.
    for i in range(6):
        await env.p99(6000.0, T0 + (10 + i) * MINUTE)
    (alert,) = env.engine.open_alerts("N")
    assert isinstance(alert, Alert) and alert.first_seen == T0 + 10 * MINUTE
    assert alert.last_seen == T0 + 15 * MINUTE


async def test_disqualification_is_immediate_whatever_the_minimum(make) -> None:  # type: ignore[no-untyped-def]
    env = await make(defaults().replace(score_alert_min_seconds=3600))
    dq = SatelliteScore(
        timestamp=T0, node_name="N", satellite_id="S" * 20, satellite_name="us1",
        audit_score=95.0, suspension_score=100.0, online_score=100.0,
        disqualified=True, suspended=False, vetted=True, source="api",
    )  # fmt: skip
    conds = reputation_conditions([dq], thresholds_from(env.settings))
    await env.engine.evaluate("N", REPUTATION_KINDS, conds, T0)
    assert {a.kind for a in env.engine.open_alerts("N")} == {"disqualified"}  # audit waits
    await env.engine.evaluate("N", REPUTATION_KINDS, conds, T0 + 3600)
    assert {a.kind for a in env.engine.open_alerts("N")} == {"disqualified", "audit_score"}
