"""The fake storagenode API: every scenario answers what it promises (real server, 127.0.0.1)."""

from __future__ import annotations

import pytest

from storj_monitor.demo.fake_node_api import SCENARIOS, FakeNodeApi, scenario
from storj_monitor.nodeapi import NodeApiClient, NodeApiError

FAILING = {"http500", "garbage", "html", "truncated", "hang"}


@pytest.mark.parametrize("name", SCENARIOS)
async def test_every_scenario(name: str) -> None:
    async with (
        FakeNodeApi(scenario(name)) as api,
        NodeApiClient(api.url, timeout=0.3, retries=0) as c,
    ):
        if name in FAILING:
            with pytest.raises(NodeApiError):
                await c.dashboard()
            return
        s = await c.dashboard()
        overview = await c.satellites()
        used = s.disk.used_bytes * 100 / s.disk.total_bytes
        audits = {x.satellite_name: x.audit for x in overview.scores}
        if name == "disk_nearly_full":
            assert used == pytest.approx(96.5) and s.disk.free_bytes == 70_000_000_000
        elif name == "low_audit":
            assert min(a for a in audits.values() if a is not None) == pytest.approx(96.2)
        elif name == "suspended":
            assert sum(sat.suspended_at is not None for sat in s.satellites) == 1
        elif name == "legacy_disk":
            assert s.disk.layout == "legacy" and s.version == "1.120.4"
        else:
            assert used < 80 and s.disk.layout == "allocated"
        assert api.state.requests == 2


def test_filling_fast_grows_with_time() -> None:
    state = scenario("disk_filling_fast")
    before = state.used_bytes
    state.advance(86400)
    assert state.used_bytes - before == pytest.approx(100e9, rel=1e-9)


def test_unknown_scenario() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("nope")
