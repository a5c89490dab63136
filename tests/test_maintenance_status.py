"""Background jobs end to end: the ``maintenance_status`` payload from real log lines (through
the store, the handler and REST), the overdue / failed alerts with an injected clock, and the
/metrics families."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from storj_monitor.analytics.maintenance_status import status_rows
from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.model import LogRecord, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.maintenance_watch import MaintenanceWatch
from storj_monitor.services.monitor import Monitor
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as qa
from storj_monitor.store.database import Store
from storj_monitor.store.events import insert_records
from storj_monitor.web.metrics_maintenance import maintenance_families
from test_maintenance import AP1, EU1, LINES, US1, records

FEB = 1_770_800_400.0  # 2026-02-11T09:00:00Z: the failed run's start in LINES
#: The October lines moved to 2026-02-05, so every run lies in the 14-day window.
SHIFT = 1_770_249_600.0 - 1_759_708_800.0  # 2026-02-05T00:00Z − 2025-10-06T00:00Z


def shifted_records(node: str = "n1") -> list[LogRecord]:
    out = []
    for r in records(LINES):
        ts = r.timestamp + SHIFT if r.timestamp < FEB - 86400 else r.timestamp
        out.append(dataclasses.replace(r, timestamp=ts, node_name=node))
    return out


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        return r.status, await r.json()


async def test_maintenance_payload_from_real_lines(tmp_path: Path) -> None:
    now = FEB + 20 * 60  # six minutes after the failed run ended
    log_file = tmp_path / "n1.log"
    log_file.write_text("")
    api = await FakeNodeApi(scenario("healthy")).start()
    settings = defaults().replace(db_path=str(tmp_path / "m.db"), port=0, host="127.0.0.1")
    monitor = Monitor(settings, [NodeSpec("n1", str(log_file), api.url)], clock=lambda: now)
    recs = shifted_records()
    with Store(settings.db_path) as store:  # stored before start: every pass sees them
        store.write_sync(lambda c: insert_records(c, recs))
    try:
        await monitor.start()
        assert monitor.web is not None and monitor.runtime is not None
        assert monitor.runtime.maintenance is not None
        await monitor.runtime.maintenance.run_once()  # the watch's pass the request reads
        status, body = await _get(f"http://127.0.0.1:{monitor.web.port}/api/maintenance?view=n1")
        assert status == 200
        assert body["type"] == "maintenance_status" and body["view"] == ["n1"]
        (node,) = body["data"]
        assert node["node_name"] == "n1"
        runs = {(r["task"], r["satellite_id"], r["store"]): r for r in node["runs"]}
        assert set(runs) == {
            ("used_space", EU1, None), ("used_space", US1, None), ("gc", EU1, None),
            ("trash", US1, None), ("compaction", AP1, "s1"),
        }  # fmt: skip
        used = runs[("used_space", EU1, None)]
        assert used["status"] == "completed"
        assert used["started_at"] == "2026-02-05T00:00:03Z"
        assert used["finished_at"] == "2026-02-05T00:27:10Z"
        assert used["duration_ms"] == pytest.approx(27 * 60_000 + 7_168.320336)
        assert (used["pieces"], used["bytes"]) == (1_765_428, 1_941_971_737_884)
        assert used["running_for_s"] is None and used["typical_duration_ms"] == used["duration_ms"]
        compaction = runs[("compaction", AP1, "s1")]
        assert compaction["bytes"] == round(2.5 * 2**30) and compaction["pieces"] == 4687
        assert runs[("gc", EU1, None)]["pieces"] == 24_414
        assert runs[("trash", US1, None)]["bytes"] == 6_170_432_512
        failed = runs[("used_space", US1, None)]
        assert failed["status"] == "failed" and failed["error"] == "lazyfilewalker: signal: killed"
        # An unknown node is refused.
        status, _ = await _get(f"http://127.0.0.1:{monitor.web.port}/api/maintenance?view=nope")
        assert status == 400
        # That pass raised a warning for the failed run.
        kinds = [(a.kind, a.severity) for a in monitor.runtime.engine.open_alerts("n1")]
        assert ("maintenance_failed", "warning") in kinds
    finally:
        await monitor.stop()
        await api.stop()


def walker(ts: float, message: str, **fields: Any) -> LogRecord:
    return LogRecord(
        ts, "n1", "used_space_filewalker", "INFO", message, US1,
        fields={"satellite_id": US1, **fields},
    )  # fmt: skip


T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.now = T0
        settings = defaults().replace(db_path=str(tmp_path / "w.db"))
        self.store = Store(settings.db_path).open()
        self.engine = AlertEngine(settings, self.store, Bus(), clock=lambda: self.now)
        self.watch = MaintenanceWatch(
            self.store, self.engine, [NodeSpec("n1", "/x.log")], clock=lambda: self.now
        )

    async def add(self, *recs: LogRecord) -> None:
        await self.store.write(lambda c: insert_records(c, recs))

    def alerts(self) -> list[dict[str, Any]]:
        return self.store.read_sync(lambda c: qa.active_alerts(c, None))


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path)
    await e.engine.start()
    yield e
    await e.watch.stop()
    await e.engine.stop()
    e.store.close()


class _Families(Collector):
    def __init__(self, watch: MaintenanceWatch) -> None:
        self.ctx = SimpleNamespace(runtime=SimpleNamespace(maintenance=watch))

    def collect(self) -> Any:
        return maintenance_families(self.ctx)  # type: ignore[arg-type]


async def test_a_filewalker_that_never_finishes_raises_and_resolves(env: Env) -> None:
    # Three completed runs a day apart: 30, 40 and 35 minutes (median 35 min = 2100 s).
    for day, minutes in enumerate((30, 40, 35)):
        start = T0 + day * 86400
        await env.add(
            walker(start, "used-space-filewalker started"),
            walker(start + minutes * 60, "used-space-filewalker completed",
                   total_pieces_count=1000 + day, total_pieces_size=5 * 10**9),
        )  # fmt: skip
    started = T0 + 3 * 86400
    await env.add(walker(started, "used-space-filewalker started"))
    registry = CollectorRegistry()
    registry.register(_Families(env.watch))
    labels = {"node": "n1", "task": "used_space", "satellite": US1, "store": ""}

    env.now = started + 3 * 2100  # exactly 3× the median: not yet
    await env.watch.run_once()
    assert env.alerts() == []
    assert registry.get_sample_value("storj_monitor_maintenance_running", labels) == 1.0
    assert registry.get_sample_value(
        "storj_monitor_maintenance_last_duration_seconds", labels
    ) == pytest.approx(35 * 60)
    assert registry.get_sample_value(
        "storj_monitor_maintenance_last_success_timestamp_seconds", labels
    ) == pytest.approx(T0 + 2 * 86400 + 35 * 60)

    env.now = started + 2 * 86400 + 4 * 3600  # still running two days later
    await env.watch.run_once()
    (alert,) = env.alerts()
    assert (alert["kind"], alert["severity"]) == ("maintenance_overdue", "warning")
    assert "running for 2 d 4 h" in alert["message"] and "35 min" in alert["message"]
    assert alert["details"]["typical_duration_s"] == 2100.0
    rows = status_rows(env.watch.runs["n1"], env.now)
    running = next(r for r in rows if r["status"] == "running")
    assert running["running_for_s"] == 2 * 86400 + 4 * 3600 and running["overdue"] is True

    # It completes: the alert resolves on the next pass, the gauge drops to 0.
    await env.add(walker(env.now + 60, "used-space-filewalker completed", total_pieces_count=1))
    env.now += 120
    await env.watch.run_once()
    assert env.alerts() == []
    assert registry.get_sample_value("storj_monitor_maintenance_running", labels) == 0.0


async def test_failed_run_alert_resolves_when_a_run_completes(env: Env) -> None:
    await env.add(
        walker(T0, "used-space-filewalker started"),
        walker(T0 + 600, "used-space-filewalker failed", error="lazyfilewalker: signal: killed"),
    )
    env.now = T0 + 700
    await env.watch.run_once()
    (alert,) = env.alerts()
    assert alert["kind"] == "maintenance_failed"
    assert "signal: killed" in alert["message"]
    await env.add(
        walker(T0 + 3600, "used-space-filewalker started"),
        walker(T0 + 4000, "used-space-filewalker completed"),
    )
    env.now = T0 + 4100
    await env.watch.run_once()
    assert env.alerts() == []

