"""/metrics carries the Storj-Exporter families with the exporter's names, labels and values.

A fake node API (real HTTP) serves real-shaped replies of three node versions
(tests/fixtures/node_api/), a real NodeCoordinator polls each, and the web app's /metrics is
scraped over HTTP and read with prometheus_client's parser. The expected values are written
out by hand from the fixture JSON, following the exporter's rules (raw values, sums of the
month's bandwidthDaily, the last storageDaily entry, 0/1 for disqualified/suspended). They were
cross-checked once, outside this repository, against the output of the exporter itself run on
the same fixtures (equal, sample for sample); so was our output on its own captured replies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from storj_monitor.demo.fake_node_api import FakeNodeApi, FakeNodeState
from storj_monitor.geoip import GeoIP
from storj_monitor.model import NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import NodeCoordinator
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats
from storj_monitor.services.runtime import Runtime
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.app import create_app
from storj_monitor.web.context import ApiContext

pytestmark = pytest.mark.timeout(60)

FIXTURES = Path(__file__).parent / "fixtures" / "node_api"
T0 = 1_767_225_600.0
US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
EU1 = "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs"
AP1 = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"
SLC = "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"
URLS = {
    US1: "us1.storj.io:7777",
    EU1: "eu1.storj.io:7777",
    AP1: "ap1.storj.io:7777",
    SLC: "saltlake.tardigrade.io:7777",
}
EXPORTER_FAMILIES = {  # as the text format names them (an info family is a gauge there)
    "storj_node_info",
    "storj_total_diskspace",
    "storj_total_bandwidth",
    "storj_payout_currentMonth",
    "storj_sat_summary",
    "storj_sat_audit",
    "storj_sat_month_egress",
    "storj_sat_month_ingress",
    "storj_sat_day_storage",
}

Key = tuple[str, frozenset[tuple[str, str]]]


def replies_of(version: str) -> dict[str, Any]:
    """The fixture directory of one version as the fake's path -> reply table."""
    d = FIXTURES / version
    replies = {
        "/api/sno/": orjson.loads((d / "sno.json").read_bytes()),
        "/api/sno/estimated-payout": orjson.loads((d / "payout.json").read_bytes()),
    }
    for f in sorted(d.glob("satellite_*.json")):
        sid = f.stem.removeprefix("satellite_")
        replies[f"/api/sno/satellite/{sid}"] = orjson.loads(f.read_bytes())
    return replies


def sat(metric: str, kind: str, sid: str, value: float) -> tuple[str, dict[str, str], float]:
    return metric, {"type": kind, "satellite": sid, "url": URLS[sid]}, value


def node(metric: str, kind: str, value: float) -> tuple[str, dict[str, str], float]:
    return metric, {"type": kind}, value


def info(kind: str, text: str) -> tuple[str, dict[str, str], float]:
    return "storj_node_info", {"type": kind, kind: text}, 1.0


# --- the exporter's values, written out from the fixture files ----------------------------------
EXPECTED: dict[str, list[tuple[str, dict[str, str], float]]] = {
    "v1.37.1": [
        info("nodeID", "1F8dG3Jq7wpS5vXnbY9kE2hTzLmRc4aUo6iKtPyWBeNx1QDsjH"),
        info("wallet", "0x5b1E8cA2d7F94e3B06aC1f2D8e7b9A4c3E5d6F70"),
        info("upToDate", "False"),
        info("version", "1.37.1"),
        info("allowedVersion", "1.38.0"),
        # no quicStatus before v1.5x: no sample
        node("storj_total_diskspace", "used", 2871940112384),
        node("storj_total_diskspace", "available", 3000000000000),
        node("storj_total_diskspace", "trash", 4812733440),
        node("storj_total_bandwidth", "used", 287106451456),
        node("storj_total_bandwidth", "available", 0),
        node("storj_payout_currentMonth", "egressBandwidth", 7150000000),
        node("storj_payout_currentMonth", "egressBandwidthPayout", 14.3),
        node("storj_payout_currentMonth", "egressRepairAudit", 2400038400),
        node("storj_payout_currentMonth", "egressRepairAuditPayout", 2.4),
        node("storj_payout_currentMonth", "diskSpace", 84807777779.86),
        node("storj_payout_currentMonth", "diskSpacePayout", 12.72),
        node("storj_payout_currentMonth", "heldRate", 0),
        node("storj_payout_currentMonth", "payout", 25.82),
        node("storj_payout_currentMonth", "held", 3.6),
        node("storj_payout_currentMonth", "currentMonthExpectations", 267),
        sat("storj_sat_summary", "storageSummary", US1, 29796000000001.5),
        sat("storj_sat_summary", "bandwidthSummary", US1, 15400035840),
        sat("storj_sat_summary", "egressSummary", US1, 9400035840),
        sat("storj_sat_summary", "ingressSummary", US1, 6000000000),
        sat("storj_sat_summary", "currentStorageUsed", US1, 500484199808),
        sat("storj_sat_summary", "disqualified", US1, 0),
        sat("storj_sat_summary", "suspended", US1, 0),
        sat("storj_sat_audit", "auditScore", US1, 1),
        sat("storj_sat_audit", "suspensionScore", US1, 1),
        sat("storj_sat_audit", "onlineScore", US1, 1),
        sat("storj_sat_month_egress", "repair", US1, 2400000000),  # 1.2e9 + 0.8e9 + 0.4e9
        sat("storj_sat_month_egress", "audit", US1, 35840),  # 20480 + 10240 + 5120
        sat("storj_sat_month_egress", "usage", US1, 7000000000),  # 3.4e9 + 2.6e9 + 1e9
        sat("storj_sat_month_ingress", "repair", US1, 1000000000),  # 0.5e9 + 0.3e9 + 0.2e9
        sat("storj_sat_month_ingress", "usage", US1, 5000000000),  # 2.1e9 + 1.9e9 + 1e9
        sat("storj_sat_day_storage", "atRestTotal", US1, 6012000000000.75),
        sat("storj_sat_summary", "storageSummary", EU1, 30732000000000),
        sat("storj_sat_summary", "bandwidthSummary", EU1, 150002560),
        sat("storj_sat_summary", "egressSummary", EU1, 150002560),
        sat("storj_sat_summary", "ingressSummary", EU1, 0),
        sat("storj_sat_summary", "currentStorageUsed", EU1, 640555606016),
        sat("storj_sat_summary", "disqualified", EU1, 1),  # "2021-09-20T08:15:00Z"
        sat("storj_sat_summary", "suspended", EU1, 0),
        sat("storj_sat_audit", "auditScore", EU1, 0.9521),
        sat("storj_sat_audit", "suspensionScore", EU1, 1),
        sat("storj_sat_audit", "onlineScore", EU1, 0.9874),
        sat("storj_sat_month_egress", "repair", EU1, 0),
        sat("storj_sat_month_egress", "audit", EU1, 2560),
        sat("storj_sat_month_egress", "usage", EU1, 150000000),
        sat("storj_sat_month_ingress", "repair", EU1, 0),
        sat("storj_sat_month_ingress", "usage", EU1, 0),
        sat("storj_sat_day_storage", "atRestTotal", EU1, 15372000000000),
        # AP1 joined this month: storageDaily [] and bandwidthDaily null -> no month/day samples
        sat("storj_sat_summary", "storageSummary", AP1, 0),
        sat("storj_sat_summary", "bandwidthSummary", AP1, 0),
        sat("storj_sat_summary", "egressSummary", AP1, 0),
        sat("storj_sat_summary", "ingressSummary", AP1, 0),
        sat("storj_sat_summary", "currentStorageUsed", AP1, 0),
        sat("storj_sat_summary", "disqualified", AP1, 0),
        sat("storj_sat_summary", "suspended", AP1, 0),
        sat("storj_sat_audit", "auditScore", AP1, 1),
        sat("storj_sat_audit", "suspensionScore", AP1, 1),
        sat("storj_sat_audit", "onlineScore", AP1, 1),
    ],
    "v1.71.2": [
        info("nodeID", "12kQm8Vn3XcR7bTfL2pWzYh5JsDg9EuA4oNiK6tB1rCxMPvyZe"),
        info("wallet", "0x0aB3c4D5e6F7081920a1B2c3D4e5F60718293A4b"),
        info("upToDate", "True"),
        info("version", "1.71.2"),
        info("allowedVersion", "1.24.0"),
        info("quicStatus", "Misconfigured"),
        node("storj_total_diskspace", "used", 1850000000000),
        node("storj_total_diskspace", "available", 2000000000000),
        node("storj_total_diskspace", "trash", 61000000000),
        node("storj_total_bandwidth", "used", 187740160),
        node("storj_total_bandwidth", "available", 0),
        node("storj_payout_currentMonth", "egressBandwidth", 53477376),
        node("storj_payout_currentMonth", "egressBandwidthPayout", 0.11),
        node("storj_payout_currentMonth", "egressRepairAudit", 22052352),
        node("storj_payout_currentMonth", "egressRepairAuditPayout", 0.02),
        node("storj_payout_currentMonth", "diskSpace", 87208333333.68),
        node("storj_payout_currentMonth", "diskSpacePayout", 13.08),
        node("storj_payout_currentMonth", "heldRate", 0),
        node("storj_payout_currentMonth", "payout", 13.21),
        node("storj_payout_currentMonth", "held", 0),
        node("storj_payout_currentMonth", "currentMonthExpectations", 146),
        sat("storj_sat_summary", "storageSummary", US1, 53130000000000.5),
        sat("storj_sat_summary", "bandwidthSummary", US1, 187727360),
        sat("storj_sat_summary", "egressSummary", US1, 75529728),
        sat("storj_sat_summary", "ingressSummary", US1, 112197632),
        sat("storj_sat_summary", "currentStorageUsed", US1, 1004821233664),
        sat("storj_sat_summary", "disqualified", US1, 0),
        sat("storj_sat_summary", "suspended", US1, 1),  # "2023-02-05T12:00:00Z"
        sat("storj_sat_audit", "auditScore", US1, 0.998),
        sat("storj_sat_audit", "suspensionScore", US1, 0.5812),
        sat("storj_sat_audit", "onlineScore", US1, 0.9994903307112822),
        sat("storj_sat_month_egress", "repair", US1, 21677568),  # 11051520+7109376+3516672
        sat("storj_sat_month_egress", "audit", US1, 374784),  # 171776+165376+37632
        sat("storj_sat_month_egress", "usage", US1, 53477376),  # 52428800+0+1048576
        sat("storj_sat_month_ingress", "repair", US1, 2097152),  # 0+2097152+0
        sat("storj_sat_month_ingress", "usage", US1, 110100480),  # 104857600+0+5242880
        sat("storj_sat_day_storage", "atRestTotal", US1, 6030000000000.5),
        sat("storj_sat_summary", "storageSummary", SLC, 9630000000000.25),
        sat("storj_sat_summary", "bandwidthSummary", SLC, 12800),
        sat("storj_sat_summary", "egressSummary", SLC, 12800),
        sat("storj_sat_summary", "ingressSummary", SLC, 0),
        sat("storj_sat_summary", "currentStorageUsed", SLC, 201326592000),
        sat("storj_sat_summary", "disqualified", SLC, 0),
        sat("storj_sat_summary", "suspended", SLC, 0),
        sat("storj_sat_audit", "auditScore", SLC, 1),
        sat("storj_sat_audit", "suspensionScore", SLC, 1),
        sat("storj_sat_audit", "onlineScore", SLC, 0.9781),
        sat("storj_sat_month_egress", "repair", SLC, 0),
        sat("storj_sat_month_egress", "audit", SLC, 12800),  # 7680 + 5120
        sat("storj_sat_month_egress", "usage", SLC, 0),
        sat("storj_sat_month_ingress", "repair", SLC, 0),
        sat("storj_sat_month_ingress", "usage", SLC, 0),
        sat("storj_sat_day_storage", "atRestTotal", SLC, 4830000000000.25),
    ],
    "v1.162.3": [
        info("nodeID", "1VeT2sEfuRhZTHXDXQZ7oNfwWhJzBmjbQWDhSKcVTNVJ6vLyMQ"),
        info("wallet", "0x9aC1f3d4B7e2a0c5D8F6b3E1A2c4D5e6F7a8B9C0"),
        info("upToDate", "True"),
        info("version", "1.162.3"),
        info("allowedVersion", "1.155.2"),
        info("quicStatus", "OK"),
        # v1.143+: available is free space, raw as the node sends it
        node("storj_total_diskspace", "used", 4318244091904),
        node("storj_total_diskspace", "available", 3681755908096),
        node("storj_total_diskspace", "trash", 38210351104),
        node("storj_total_bandwidth", "used", 180495319104),
        node("storj_total_bandwidth", "available", 0),
        node("storj_payout_currentMonth", "egressBandwidth", 51027204928),
        node("storj_payout_currentMonth", "egressBandwidthPayout", 10.21),
        node("storj_payout_currentMonth", "egressRepairAudit", 6053220608),
        node("storj_payout_currentMonth", "egressRepairAuditPayout", 1.21),
        node("storj_payout_currentMonth", "diskSpace", 133002713074.73),
        node("storj_payout_currentMonth", "diskSpacePayout", 19.95),
        node("storj_payout_currentMonth", "heldRate", 0),
        node("storj_payout_currentMonth", "payout", 31.37),
        node("storj_payout_currentMonth", "held", 0),
        node("storj_payout_currentMonth", "currentMonthExpectations", 486),
        # no currentStorageUsed since v1.122: no sample
        sat("storj_sat_summary", "storageSummary", US1, 93353953413805.76),
        sat("storj_sat_summary", "bandwidthSummary", US1, 178490319104),
        sat("storj_sat_summary", "egressSummary", US1, 57075425536),
        sat("storj_sat_summary", "ingressSummary", US1, 121414893568),
        sat("storj_sat_summary", "disqualified", US1, 0),
        sat("storj_sat_summary", "suspended", US1, 0),
        sat("storj_sat_audit", "auditScore", US1, 1),
        sat("storj_sat_audit", "suspensionScore", US1, 1),
        sat("storj_sat_audit", "onlineScore", US1, 0.9987),
        sat("storj_sat_month_egress", "repair", US1, 5973686528),  # 3102556160+2871130368
        sat("storj_sat_month_egress", "audit", US1, 79534080),  # 41326592+38207488
        sat("storj_sat_month_egress", "usage", US1, 51022204928),  # 24381923328+26640281600
        sat("storj_sat_month_ingress", "repair", US1, 16181641216),  # 8251498496+7930142720
        sat("storj_sat_month_ingress", "usage", US1, 105233252352),  # 55413211136+49820041216
        sat("storj_sat_day_storage", "atRestTotal", US1, 45692750022387.2),
        sat("storj_sat_summary", "storageSummary", AP1, 2400000000000),
        sat("storj_sat_summary", "bandwidthSummary", AP1, 2005000000),
        sat("storj_sat_summary", "egressSummary", AP1, 5000000),
        sat("storj_sat_summary", "ingressSummary", AP1, 2000000000),
        sat("storj_sat_summary", "disqualified", AP1, 0),
        sat("storj_sat_summary", "suspended", AP1, 0),
        sat("storj_sat_audit", "auditScore", AP1, 0.99994),
        sat("storj_sat_audit", "suspensionScore", AP1, 0.99871),
        sat("storj_sat_audit", "onlineScore", AP1, 0.9961),
        sat("storj_sat_month_egress", "repair", AP1, 0),
        sat("storj_sat_month_egress", "audit", AP1, 0),
        sat("storj_sat_month_egress", "usage", AP1, 5000000),
        sat("storj_sat_month_ingress", "repair", AP1, 0),
        sat("storj_sat_month_ingress", "usage", AP1, 2000000000),
        sat("storj_sat_day_storage", "atRestTotal", AP1, 2400000000000),
    ],
}
VERSIONS = tuple(EXPECTED)


def expected_for(version: str, node_label: str | None) -> dict[Key, float]:
    out: dict[Key, float] = {}
    for name, labels, value in EXPECTED[version]:
        if node_label is not None:
            labels = {**labels, "node": node_label}
        out[(name, frozenset(labels.items()))] = float(value)
    return out


def scraped(text: str, *, families: set[str] = EXPORTER_FAMILIES) -> dict[Key, float]:
    """The samples of the exporter families in a /metrics text, via prometheus_client's parser."""
    out: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name in families:
            for s in family.samples:
                key = (s.name, frozenset(s.labels.items()))
                assert key not in out, f"duplicate sample {key}"
                out[key] = s.value
    return out


@dataclass
class Setup:
    apis: dict[str, FakeNodeApi]
    coordinators: dict[str, NodeCoordinator]
    base: str
    session: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.base + path) as resp:
            return resp.status, await resp.text()

    async def poll(self) -> None:
        for c in self.coordinators.values():
            await c.refresh()


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    """One fake node per version (nodes n1371, n1712, n1623) plus a log-only node L, all
    polled by real coordinators, and the web app serving /metrics on 127.0.0.1."""
    settings = defaults().replace(
        db_path=str(tmp_path / "m.db"),
        node_api_poll_interval=0.2,
        node_api_timeout=0.5,
        node_api_retries=0,
    )
    names = {v: "n" + v[1:].replace(".", "") for v in VERSIONS}
    apis = {
        names[v]: await FakeNodeApi(FakeNodeState(replies=replies_of(v))).start() for v in VERSIONS
    }
    clock = lambda: T0  # noqa: E731
    coordinators = {
        name: NodeCoordinator(settings, name, api.url, clock=clock) for name, api in apis.items()
    }
    store = Store(settings.db_path).open()
    bus = Bus()
    nodes = tuple(NodeSpec(n, str(tmp_path / f"{n}.log"), apis[n].url) for n in apis)
    nodes += (NodeSpec("L", str(tmp_path / "l.log")),)
    runtime = Runtime(
        settings=settings,
        store=store,
        bus=bus,
        engine=AlertEngine(settings, store, bus, clock=clock),
        nodes=nodes,
        coordinators=MappingProxyType(coordinators),
        ingests=MappingProxyType({}),
        thresholds=thresholds_from(settings),
        clock=clock,
    )
    hub = Hub()
    geo = GeoIP("")
    ctx = ApiContext(runtime, hub, LiveStats(bus, hub, runtime.node_names, clock=clock), geo)
    server = TestServer(create_app(ctx), host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield Setup(apis, coordinators, f"http://127.0.0.1:{server.port}", session)
    finally:
        await session.close()
        await server.close()
        for c in coordinators.values():
            await c.stop()
        for api in apis.values():
            await api.stop()
        geo.close()
        store.close()


def name_of(version: str) -> str:
    return "n" + version[1:].replace(".", "")


async def test_metrics_carry_the_exporter_families_of_every_node(setup: Setup) -> None:
    status, text = await setup.get("/metrics")
    assert status == 200
    assert scraped(text) == {}  # nothing before the first poll
    await setup.poll()
    status, text = await setup.get("/metrics")
    assert status == 200
    got = scraped(text)
    want: dict[Key, float] = {}
    for version in VERSIONS:
        want |= expected_for(version, name_of(version))
    assert got.keys() == want.keys(), (
        f"missing {sorted(want.keys() - got.keys())}, extra {sorted(got.keys() - want.keys())}"
    )
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-15, abs=0), key
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert all(types[f] == "gauge" for f in EXPORTER_FAMILIES)


@pytest.mark.parametrize("version", VERSIONS)
async def test_metrics_for_one_node_match_a_per_node_exporter(setup: Setup, version: str) -> None:
    """/metrics?node=NAME: that node's samples only, without the node label, as the exporter
    run against that node alone prints them."""
    await setup.poll()
    status, text = await setup.get(f"/metrics?node={name_of(version)}")
    assert status == 200
    got = scraped(text)
    assert got == pytest.approx(expected_for(version, None), rel=1e-15, abs=0)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            assert "node" not in s.labels, s
    # our own per-node families come along, also without the node label
    assert "storj_monitor_node_api_up 1.0" in text


async def test_metrics_for_an_unknown_node_is_404(setup: Setup) -> None:
    status, text = await setup.get("/metrics?node=nope")
    assert status == 404
    assert "unknown node 'nope'" in text
    status, text = await setup.get("/metrics?node=L")  # a log-only node: no exporter families
    assert status == 200
    assert scraped(text) == {}


@pytest.mark.parametrize("mode", ["http404", "html", "hang"])
async def test_one_failing_endpoint_drops_only_its_own_families(setup: Setup, mode: str) -> None:
    name = name_of("v1.71.2")
    state = setup.apis[name].state
    state.path_modes["/api/sno/estimated-payout"] = mode
    state.path_modes[f"/api/sno/satellite/{SLC}"] = mode
    await setup.poll()
    _, text = await setup.get(f"/metrics?node={name}")
    got = scraped(text)
    want = {
        key: v
        for key, v in expected_for("v1.71.2", None).items()
        if key[0] != "storj_payout_currentMonth" and ("satellite", SLC) not in key[1]
    }
    assert got == pytest.approx(want, rel=1e-15, abs=0)
    assert ("storj_sat_summary", frozenset({("type", "suspended"), ("satellite", US1),
                                            ("url", URLS[US1])})) in got  # fmt: skip
    for path in ("/api/sno/estimated-payout", f"/api/sno/satellite/{SLC}"):
        assert f'storj_monitor_node_api_endpoint_failing{{endpoint="{path}"}} 1.0' in text
    # the endpoint answers again: its families come back at the next poll
    state.path_modes.clear()
    await setup.poll()
    _, text = await setup.get(f"/metrics?node={name}")
    assert scraped(text) == pytest.approx(expected_for("v1.71.2", None), rel=1e-15, abs=0)
    assert "estimated-payout" not in text and f"satellite/{SLC}" not in text
    # (the fixtures have no /api/sno/satellites: that one stays failing, and drops nothing)
    assert 'endpoint_failing{endpoint="/api/sno/satellites"} 1.0' in text


async def test_a_down_node_api_drops_its_exporter_families(setup: Setup) -> None:
    """/api/sno/ failing: the last good replies are stale, so none of the node's exporter
    families are served (the other nodes keep theirs); storj_monitor_node_api_up says 0."""
    await setup.poll()
    down = name_of("v1.37.1")
    setup.apis[down].state.path_modes["/api/sno/"] = "http500"
    await setup.poll()
    _, text = await setup.get("/metrics")
    got = scraped(text)
    assert not [k for k in got if ("node", down) in k[1]]
    assert expected_for("v1.162.3", name_of("v1.162.3")).items() <= got.items()
    assert f'storj_monitor_node_api_up{{node="{down}"}} 0.0' in text
    failing = f'storj_monitor_node_api_endpoint_failing{{endpoint="/api/sno/",node="{down}"}} 1.0'
    assert failing in text


# --- the rules alone, on odd replies (no HTTP) ---------------------------------------------------
def families_of(sno: dict[str, Any], details: dict[str, dict[str, Any]], payout: Any,
                failures: dict[str, str] | None = None) -> dict[Key, float]:  # fmt: skip
    from types import SimpleNamespace

    from prometheus_client import CollectorRegistry, generate_latest

    from storj_monitor.nodeapi import parse_dashboard, parse_satellite
    from storj_monitor.services.coordinator import NodeApiData
    from storj_monitor.web.exporter_metrics import exporter_families

    data = NodeApiData(
        fetched_at=T0,
        summary=parse_dashboard(sno),
        details={sid: parse_satellite(d) for sid, d in details.items()},
        payout=payout,
    )
    c = SimpleNamespace(data=data, live=True, endpoint_failures=failures or {})

    class Collector:
        def collect(self) -> Any:
            yield from exporter_families({"n": c})  # type: ignore[dict-item]

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return scraped(generate_latest(registry).decode())


def test_odd_replies_leave_out_only_the_unusable_samples() -> None:
    sno = {
        "nodeID": "1abc",
        "wallet": None,  # null: no sample
        "upToDate": True,
        "satellites": [
            {"id": US1, "url": URLS[US1], "disqualified": None, "suspended": None},
            {"id": EU1, "url": "", "disqualified": None, "suspended": None},  # no url: skipped
            {"id": AP1, "url": URLS[AP1], "disqualified": None, "suspended": None},  # no reply
        ],
        "diskSpace": {"used": 10, "available": 100, "trash": 1},
        "bandwidth": None,
        "version": "1.99.1",
    }
    us1 = {
        "storageSummary": 5.5,
        "audits": None,  # not an object: no storj_sat_audit
        "bandwidthDaily": [{"egress": {"repair": 1, "audit": 2, "usage": 3}, "ingress": None}],
        "storageDaily": [{"atRestTotal": 7}, "garbage"],  # last entry not an object
    }
    payout = {"currentMonth": None, "currentMonthExpectations": 42}
    got = families_of(sno, {US1: us1, EU1: us1}, payout)
    n = ("node", "n")
    sat = [("satellite", US1), ("url", URLS[US1]), n]

    def key(name: str, *labels: tuple[str, str]) -> Key:
        return name, frozenset(labels)

    assert got == {
        key("storj_node_info", ("type", "nodeID"), ("nodeID", "1abc"), n): 1.0,
        key("storj_node_info", ("type", "upToDate"), ("upToDate", "True"), n): 1.0,
        key("storj_node_info", ("type", "version"), ("version", "1.99.1"), n): 1.0,
        key("storj_total_diskspace", ("type", "used"), n): 10.0,
        key("storj_total_diskspace", ("type", "available"), n): 100.0,
        key("storj_total_diskspace", ("type", "trash"), n): 1.0,
        key("storj_payout_currentMonth", ("type", "currentMonthExpectations"), n): 42.0,
        key("storj_sat_summary", ("type", "storageSummary"), *sat): 5.5,
        key("storj_sat_summary", ("type", "disqualified"), *sat): 0.0,
        key("storj_sat_summary", ("type", "suspended"), *sat): 0.0,
        key("storj_sat_month_egress", ("type", "repair"), *sat): 1.0,
        key("storj_sat_month_egress", ("type", "audit"), *sat): 2.0,
        key("storj_sat_month_egress", ("type", "usage"), *sat): 3.0,
    }
    # a failed satellite endpoint drops that satellite even if a reply is somehow at hand
    failed = families_of(sno, {US1: us1}, payout, {f"/api/sno/satellite/{US1}": "HTTP 404"})
    assert not [k for k in failed if ("satellite", US1) in k[1]]


day_values = st.integers(min_value=0, max_value=2**50)


@given(
    st.lists(
        st.fixed_dictionaries({"repair": day_values, "audit": day_values, "usage": day_values}),
        max_size=31,
    )
)
def test_month_sum_is_the_per_key_sum(days: list[dict[str, int]]) -> None:
    from storj_monitor.web.exporter_metrics import month_sum

    replies = [{"egress": d, "ingress": {"repair": 0, "usage": 0}} for d in days]
    got = month_sum(replies, "egress")
    for k in ("repair", "audit", "usage"):
        assert got.get(k, 0) == sum(d[k] for d in days)
    assert month_sum(replies, "egress") == got  # pure
    assert month_sum(None, "egress") == {} and month_sum([*replies, {}], "egress") == {}


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.text(), st.none()))
def test_number_reads_what_float_reads(value: Any) -> None:
    from storj_monitor.web.exporter_metrics import number

    try:
        want: float | None = None if value is None else float(value)
    except (ValueError, OverflowError):
        want = None
    got = number(value)
    assert got == want or (got != got and want != want)  # NaN from text "nan"
