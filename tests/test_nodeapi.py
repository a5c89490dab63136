"""The node API client against the fake storagenode API (a real server on 127.0.0.1)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storj_monitor.demo.fake_node_api import NODE_ID, FakeNodeApi, estimated_payout_json, scenario
from storj_monitor.nodeapi import (
    NodeApiBadStatus,
    NodeApiClient,
    NodeApiMalformed,
    NodeApiNotJson,
    NodeApiTimeout,
    NodeApiUnreachable,
    parse_dashboard,
    parse_disk_space,
    parse_satellite,
    parse_time,
)

US1 = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


@pytest.fixture
async def fake() -> AsyncIterator[FakeNodeApi]:
    api = await FakeNodeApi(scenario("healthy")).start()
    yield api
    await api.stop()


def client(url: str, **kw: object) -> NodeApiClient:
    opts: dict[str, object] = {
        "timeout": 2.0,
        "retries": 0,
        "backoff": 0.01,
        "rng": random.Random(1),
    }
    opts.update(kw)
    return NodeApiClient(url, **opts)  # type: ignore[arg-type]


async def test_dashboard_new_disk_layout(fake: FakeNodeApi) -> None:
    async with client(fake.url) as c:
        s = await c.dashboard()
    assert s.node_id == NODE_ID
    assert s.version == "1.162.3"
    assert s.disk.layout == "allocated"
    assert s.disk.total_bytes == 2_000_000_000_000
    assert s.disk.used_bytes == 1_220_000_000_000  # pieces + trash
    assert s.disk.free_bytes == 780_000_000_000
    assert s.disk.trash_bytes == 20_000_000_000
    assert len(s.satellites) == 4
    assert s.last_pinged is not None


async def test_legacy_disk_layout_means_the_same() -> None:
    async with FakeNodeApi(scenario("legacy_disk")) as api, client(api.url) as c:
        s = await c.dashboard()
    assert s.disk.layout == "legacy"
    assert s.disk.total_bytes == 2_000_000_000_000
    assert s.disk.used_bytes == 1_220_000_000_000
    assert s.disk.free_bytes == 780_000_000_000


async def test_satellites_scores_are_percent(fake: FakeNodeApi) -> None:
    fake.state.satellites[US1].audit = 0.97
    fake.state.now = 1_797_000_000.0  # 2026-12-10: the money replies at a fixed time
    async with client(fake.url) as c:
        overview = await c.satellites()
        one = await c.satellite(US1)
        payout = await c.estimated_payout()
    names = {s.satellite_name: s for s in overview.scores}
    assert names["us1.storj.io:7777"].audit == pytest.approx(97.0)
    assert names["us1.storj.io:7777"].online == pytest.approx(99.87)
    assert one.id == US1 and one.scores[0].audit == pytest.approx(97.0)
    assert one.vetted_at is not None and one.average_usage_bytes is not None
    assert payout == estimated_payout_json(fake.state)
    assert payout["currentMonthExpectations"] > payout["currentMonth"]["payout"] > 0


async def test_unknown_satellite_is_bad_status(fake: FakeNodeApi) -> None:
    async with client(fake.url) as c:
        with pytest.raises(NodeApiBadStatus) as err:
            await c.satellite("1" * 50)
    assert err.value.status == 404 and not err.value.transient


async def test_redirect_without_slash_is_followed(fake: FakeNodeApi) -> None:
    async with client(fake.url) as c:
        data = await c.get_json("/api/sno")
    assert data["nodeID"] == NODE_ID


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("http500", NodeApiBadStatus),
        ("garbage", NodeApiMalformed),
        ("html", NodeApiNotJson),
        ("truncated", NodeApiMalformed),
    ],
)
async def test_failure_modes_raise_their_error(fake: FakeNodeApi, mode: str, error: type) -> None:
    fake.state.mode = mode
    async with client(fake.url) as c:
        with pytest.raises(error):
            await c.dashboard()


async def test_unknown_path_answers_html_and_is_rejected(fake: FakeNodeApi) -> None:
    async with client(fake.url) as c:
        with pytest.raises(NodeApiNotJson, match="HTML"):
            await c.get_json("/api/sno/nope/nothing")


async def test_hang_times_out(fake: FakeNodeApi) -> None:
    fake.state.mode = "hang"
    async with client(fake.url, timeout=0.2) as c:
        with pytest.raises(NodeApiTimeout):
            await c.dashboard()


async def test_unreachable_is_retried_then_raised(unused_tcp_port: int) -> None:
    async with client(f"http://127.0.0.1:{unused_tcp_port}", retries=2) as c:
        with pytest.raises(NodeApiUnreachable):
            await c.dashboard()


async def test_http500_is_retried_and_recovers(fake: FakeNodeApi) -> None:
    fake.state.mode = "http500"
    seen = []

    async with client(fake.url, retries=3) as c:
        original = c._get_once

        async def flaky(path: str) -> object:
            seen.append(path)
            if len(seen) == 2:
                fake.state.mode = "ok"
            return await original(path)

        c._get_once = flaky  # type: ignore[method-assign]
        s = await c.dashboard()
    assert s.node_id == NODE_ID and len(seen) == 2  # one 500, then success


def test_parse_disk_space_both_meanings() -> None:
    new = parse_disk_space(
        {"used": 430, "available": 370, "allocated": 800, "trash": 30, "overused": 0}
    )
    old = parse_disk_space({"used": 400, "available": 800, "trash": 30, "overused": 0})
    assert (new.total_bytes, new.used_bytes, new.free_bytes) == (800, 430, 370)
    assert (old.total_bytes, old.used_bytes, old.free_bytes) == (800, 430, 370)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"nodeID": ""},
        {"nodeID": "x", "diskSpace": None},
        {"nodeID": "x", "diskSpace": {"used": "a", "available": 1}},
        {"nodeID": "x", "diskSpace": {"used": 1, "available": 2}, "satellites": {"id": 1}},
    ],
)
def test_wrong_shapes_are_malformed(data: object) -> None:
    with pytest.raises(NodeApiMalformed):
        parse_dashboard(data)


def test_null_lists_are_empty() -> None:
    s = parse_dashboard(
        {"nodeID": "x", "diskSpace": {"used": 1, "available": 2}, "satellites": None}
    )
    assert s.satellites == []
    assert parse_satellite({"audits": None}).scores == []


def test_parse_time() -> None:
    assert parse_time("2026-08-21T10:56:41.338291566Z") == pytest.approx(1787309801.338291)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time(None) is None
    assert parse_time("garbage") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["nodeID", "diskSpace", "used", "available", "allocated", "trash", "satellites",
             "id", "url", "audits", "auditScore", "wallet", "bandwidth", "vettedAt"]
        ),
        children,
        max_size=6,
    ),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300)
@given(json_values)
def test_any_json_parses_or_is_malformed(data: object) -> None:
    for parse in (parse_dashboard, parse_satellite):
        try:
            result = parse(data)
        except NodeApiMalformed:  # the only error a wrong reply may raise
            continue
        assert result.raw is data
