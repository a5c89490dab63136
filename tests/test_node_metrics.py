"""Our own per-node families on /metrics (storj_monitor_*): operations per satellite, success
ratio, latency histogram, disk, scores, audits left, forecast, log age, open alerts."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.geoip import GeoIP
from storj_monitor.model import AlertCondition, Event, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import NodeCoordinator
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats
from storj_monitor.services.metrics_feed import LATENCY_BUCKETS_SECONDS, MetricsFeed
from storj_monitor.services.poll_result import PollResult
from storj_monitor.services.runtime import Runtime
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.context import ApiContext
from storj_monitor.web.metrics import make_registry, node_registry

pytestmark = pytest.mark.timeout(60)

T0 = 1_767_225_600.0
US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
EU1 = "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs"
AP1 = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"
SLC = "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"


def ingest_stub(last_line_at: float | None) -> Any:
    """What MonitorCollector reads of a NodeIngest, without a log to follow."""
    return SimpleNamespace(
        lines=0, events=0, records=0, unparseable=0, backlog_bytes=0, caught_up=True,
        bad_lines_by_reason={}, last_event_time=None, log_state=None,
        line_activity=lambda: (last_line_at, 0.0),
    )  # fmt: skip


@dataclass
class Setup:
    ctx: ApiContext
    bus: Bus
    engine: AlertEngine
    coordinator: NodeCoordinator
    registry: CollectorRegistry

    def value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    settings = defaults().replace(
        db_path=str(tmp_path / "n.db"), node_api_timeout=0.5, node_api_retries=0
    )
    api = await FakeNodeApi(scenario("low_audit")).start()
    clock = lambda: T0  # noqa: E731
    c = NodeCoordinator(settings, "N", api.url, clock=clock)
    store = Store(settings.db_path).open()
    bus = Bus()
    engine = AlertEngine(settings, store, bus, clock=clock)
    runtime = Runtime(
        settings=settings,
        store=store,
        bus=bus,
        engine=engine,
        nodes=(NodeSpec("N", str(tmp_path / "n.log"), api.url), NodeSpec("L", "l.log")),
        coordinators=MappingProxyType({"N": c}),
        ingests=MappingProxyType({"N": ingest_stub(T0 - 90), "L": ingest_stub(None)}),
        thresholds=thresholds_from(settings),
        clock=clock,
    )
    hub = Hub()
    geo = GeoIP("")
    live = LiveStats(bus, hub, runtime.node_names, clock=clock)
    ctx = ApiContext(runtime, hub, live, geo)
    live.attach()
    ctx.metrics_feed.attach(bus)
    try:
        yield Setup(ctx, bus, engine, c, make_registry(ctx))
    finally:
        ctx.metrics_feed.detach()
        await live.stop()
        await c.stop()
        await api.stop()
        geo.close()
        store.close()


def event(sat: str, action: str, status: str = "success", ms: float | None = None) -> Event:
    return Event(T0 - 10, "N", action, status, 1024, sat, "P", "1.2.3.4", duration_ms=ms)  # type: ignore[arg-type]


async def test_operations_success_ratio_and_latency_histogram(setup: Setup) -> None:
    setup.bus.publish(
        "events",
        "N",
        [
            event(US1, "GET", ms=40),
            event(US1, "GET", ms=300),
            event(US1, "GET", ms=1200),
            event(US1, "GET", "failed", ms=20_000),
            event(EU1, "PUT"),  # no duration: counted, not timed
            event(SLC, "GET_AUDIT", ms=80),
        ],
    )
    v = setup.value
    ops = "storj_monitor_operations_total"
    assert v(ops, {"node": "N", "satellite": US1, "action": "GET", "status": "success"}) == 3
    assert v(ops, {"node": "N", "satellite": US1, "action": "GET", "status": "failed"}) == 1
    assert v(ops, {"node": "N", "satellite": EU1, "action": "PUT", "status": "success"}) == 1
    assert v(ops, {"node": "N", "satellite": SLC, "action": "GET_AUDIT", "status": "success"}) == 1

    ratio = "storj_monitor_success_ratio"
    assert v(ratio, {"node": "N", "satellite": US1, "action": "GET"}) == 0.75
    assert v(ratio, {"node": "N", "satellite": EU1, "action": "PUT"}) == 1.0

    h = "storj_monitor_operation_duration_seconds"
    get = {"node": "N", "category": "get"}
    # 0.04, 0.3, 1.2 and 20 s, cumulative per upper bound
    want = {0.05: 1, 0.1: 1, 0.25: 1, 0.5: 2, 1.0: 2, 2.5: 3, 5.0: 3, 10.0: 3, 30.0: 4}
    want |= {60.0: 4, 300.0: 4}
    assert set(want) == set(LATENCY_BUCKETS_SECONDS)
    for bound, n in want.items():
        assert v(h + "_bucket", {**get, "le": str(bound)}) == n, bound
    assert v(h + "_bucket", {**get, "le": "+Inf"}) == 4
    assert v(h + "_count", get) == 4
    assert v(h + "_sum", get) == pytest.approx(21.54)
    audit = {"node": "N", "category": "audit"}
    assert v(h + "_bucket", {**audit, "le": "0.05"}) == 0
    assert v(h + "_bucket", {**audit, "le": "0.1"}) == 1
    assert v(h + "_count", {"node": "N", "category": "put"}) is None

    # the text format parses back as a histogram (bounds in seconds)
    text = generate_latest(setup.registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families[h].type == "histogram"


async def test_disk_scores_audits_left_forecast_age_and_alerts(setup: Setup) -> None:
    v = setup.value
    assert v("storj_monitor_disk_used_ratio", {"node": "N"}) is None  # not polled yet
    await setup.coordinator.refresh()
    # fake: 2 TB allocated, 1.2 TB pieces + 20 GB trash
    assert v("storj_monitor_disk_used_ratio", {"node": "N"}) == pytest.approx(0.61)
    us1, ap1 = {"node": "N", "satellite": US1}, {"node": "N", "satellite": AP1}
    assert v("storj_monitor_audit_score_ratio", us1) == 0.962
    assert v("storj_monitor_audit_score_ratio", ap1) == 0.975
    assert v("storj_monitor_suspension_score_ratio", us1) == 1.0
    assert v("storj_monitor_online_score_ratio", us1) == 0.9987
    # 0.999^n x score >= 96 %: 96.2 % survives 2 failures, 97.5 % 15, 100 % 40
    assert v("storj_monitor_audits_until_disqualification", us1) == 2
    assert v("storj_monitor_audits_until_disqualification", ap1) == 15
    assert v("storj_monitor_audits_until_disqualification", {"node": "N", "satellite": SLC}) == 40

    assert v("storj_monitor_disk_days_until_full", {"node": "N"}) is None
    forecast = {"days_until_full": 12.5, "days_until_full_low": 9.1, "days_until_full_high": None}
    setup.bus.publish("poll", "N", PollResult("N", T0, True, "x", forecast=forecast))
    assert v("storj_monitor_disk_days_until_full", {"node": "N"}) == 12.5
    assert v("storj_monitor_disk_days_until_full_low", {"node": "N"}) == 9.1
    assert v("storj_monitor_disk_days_until_full_high", {"node": "N"}) is None  # never fills

    assert v("storj_monitor_last_log_line_age_seconds", {"node": "N"}) == 90
    assert v("storj_monitor_last_log_line_age_seconds", {"node": "L"}) is None

    cond = AlertCondition("N", "audit_score", f"audit_score:{US1}", "critical", "Audit", "low")
    await setup.engine.fire(cond, T0)
    assert v("storj_monitor_open_alerts", {"node": "N", "kind": "audit_score"}) == 1

    # the API goes down: disk and score gauges leave with the exporter families
    await setup.coordinator.stop()
    setup.coordinator.api_url = "http://127.0.0.1:1"
    setup.coordinator.client.base_url = "http://127.0.0.1:1"
    await setup.coordinator.refresh()
    assert v("storj_monitor_node_api_up", {"node": "N"}) == 0
    assert v("storj_monitor_disk_used_ratio", {"node": "N"}) is None
    assert v("storj_monitor_audit_score_ratio", us1) is None


async def test_node_view_strips_the_node_label(setup: Setup) -> None:
    setup.bus.publish("events", "N", [event(US1, "GET", ms=40)])
    view = node_registry(setup.registry, "N")
    assert view.get_sample_value(
        "storj_monitor_operations_total",
        {"satellite": US1, "action": "GET", "status": "success"},
    ) == 1  # fmt: skip
    assert view.get_sample_value("storj_monitor_websocket_clients") is None  # process-wide
    assert node_registry(setup.registry, "L").get_sample_value(
        "storj_monitor_operations_total",
        {"satellite": US1, "action": "GET", "status": "success"},
    ) is None  # fmt: skip


def test_feed_detaches() -> None:
    bus = Bus()
    feed = MetricsFeed()
    feed.attach(bus)
    feed.attach(bus)  # idempotent
    feed.detach()
    bus.publish("events", "N", [event(US1, "GET")])
    assert not feed.operations


DOCS = Path(__file__).parent.parent / "docs"


async def test_docs_list_every_family_and_name_only_served_ones(setup: Setup) -> None:
    """docs/metrics.md names every family /metrics serves; its alert rules and the Grafana
    dashboard use only names that /metrics serves."""
    await setup.coordinator.refresh()
    setup.bus.publish("events", "N", [event(US1, "GET", ms=40)])
    forecast = {"days_until_full": 30.0, "days_until_full_low": 20.0, "days_until_full_high": 45.0}
    setup.bus.publish("poll", "N", PollResult("N", T0, True, "x", forecast=forecast))
    await setup.engine.fire(AlertCondition("N", "disk_usage", "disk_usage", "warning", "t", "m"), T0)
    text = generate_latest(setup.registry).decode()
    families = list(text_string_to_metric_families(text))
    samples = {s.name for f in families for s in f.samples}
    doc = (DOCS / "metrics.md").read_text()
    for f in families:
        name = f.name + ("_total" if f.type == "counter" else "")
        assert f"`{name}`" in doc, f"{name} is not in docs/metrics.md"

    dashboard = json.loads((DOCS / "grafana" / "storj_monitor.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = doc.split("## Alert rules", 1)[1].split("## Grafana", 1)[0]
    used = set(re.findall(r"\bstorj_\w+", " ".join(exprs) + rules))
    assert "storj_monitor_operation_duration_seconds_bucket" in used
    assert used <= samples, f"not served: {sorted(used - samples)}"
    assert all('node="$node"' in e for e in exprs)
    assert "node" in {v["name"] for v in dashboard["templating"]["list"]}


async def test_a_running_monitor_serves_both_forms(tmp_path: Path) -> None:
    """The whole monitor: log lines become operations and latency samples, the API poll
    brings the exporter families, and /metrics?node=A serves them unlabelled."""
    import aiohttp

    from web_harness import poll_until, running_monitor

    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:

        async def scrape(path: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
            async with session.get(run.base + path) as resp:
                assert resp.status == 200
                text = await resp.text()
            out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
            for f in text_string_to_metric_families(text):
                for s in f.samples:
                    out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
            return out

        run.transfers("A", 3, "GET")

        async def ready() -> bool:
            got = await scrape("/metrics")
            ops = got.get("storj_monitor_operations_total", {})
            return sum(v for k, v in ops.items() if ("node", "A") in k) == 3 and bool(
                got.get("storj_sat_audit")
            )

        await poll_until(ready)
        got = await scrape("/metrics")
        count = got["storj_monitor_operation_duration_seconds_count"]
        assert count[(("category", "get"), ("node", "A"))] == 3
        assert {dict(k)["node"] for k in got["storj_sat_audit"]} == {"A"}  # B's API fails
        assert got["storj_monitor_node_api_endpoint_failing"] == {
            (("endpoint", "/api/sno/"), ("node", "B")): 1.0
        }
        one = await scrape("/metrics?node=A")
        assert sum(one["storj_monitor_operations_total"].values()) == 3
        assert all("node" not in dict(k) for v in one.values() for k in v)
        assert len(one["storj_sat_audit"]) == 12  # 4 satellites x 3 scores
        async with session.get(run.base + "/metrics?node=Z") as resp:
            assert resp.status == 404
