"""The disk seen three ways (node API, satellites' paid bytes, statvfs of data_dir), storage
of a node known only through its log (with and without a configured allocation), the
per-satellite storage request, and the data_dir/allocation node options."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from storj_monitor.analytics.node_health import DiskView
from storj_monitor.analytics.paid_storage import paid_bytes, satellite_paid_bytes
from storj_monitor.config_tables import ConfigTableError, parse_tables
from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.diskfs import filesystem_view
from storj_monitor.model import NodeSpec
from storj_monitor.nodespec import NodeSpecError, apply_data_dirs
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.disk_views import DiskViews
from storj_monitor.services.log_watch import LogWatch
from storj_monitor.services.monitor import Monitor
from storj_monitor.settings import defaults
from storj_monitor.store import alerts as qa
from storj_monitor.store import snapshots as qs
from storj_monitor.store.database import Store
from storj_monitor.web.disk_payload import UNKNOWN_WITHOUT_API, add_disk_fields
from web_harness import poll_until

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_filesystem_view_is_statvfs(tmp_path: Path) -> None:
    view = filesystem_view(str(tmp_path))
    st_ = os.statvfs(tmp_path)
    assert view.total == st_.f_blocks * st_.f_frsize
    assert view.free is not None and view.total is not None and 0 <= view.free <= view.total
    assert view.used == (st_.f_blocks - st_.f_bfree) * st_.f_frsize
    with pytest.raises(OSError):
        filesystem_view(str(tmp_path / "missing"))


def test_paid_bytes_from_storage_daily() -> None:
    a = {"storageDaily": [{"atRestTotalBytes": 5.0}, {"atRestTotalBytes": 7.0}]}
    b = {"storageDaily": [{"atRestTotal": 240.0, "intervalInHours": 24}]}  # no atRestTotalBytes
    assert satellite_paid_bytes(a) == 7.0 and satellite_paid_bytes(b) == 10.0
    assert paid_bytes([a, b, {"storageDaily": None}, {}]) == 17.0
    assert paid_bytes([{"storageDaily": []}]) is None


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=20), c, max_size=3)))  # fmt: skip
def test_paid_bytes_never_raises(reply: Any) -> None:
    value = paid_bytes([{"storageDaily": reply}])
    assert value is None or value >= 0


async def test_comparison_from_api_and_statvfs(tmp_path: Path) -> None:
    """A node with an API and a data_dir: the three views and the gaps, in storage_data."""
    log_file = tmp_path / "a.log"
    log_file.write_text("")
    data_dir = tmp_path / "storage"
    data_dir.mkdir()
    api = await FakeNodeApi(scenario("healthy")).start()
    settings = defaults().replace(
        db_path=str(tmp_path / "m.db"), port=0, host="127.0.0.1", node_api_poll_interval=0.2
    )
    monitor = Monitor(settings, [NodeSpec("A", str(log_file), api.url, data_dir=str(data_dir))])
    try:
        await monitor.start()
        assert monitor.runtime is not None and monitor.runtime.disks is not None
        disks = monitor.runtime.disks

        async def ready() -> Any:
            c = disks.comparison("A")
            return c if c and c["node"] and c["filesystem"] else None

        c = await poll_until(ready)
        disk = api.state.disk_space()
        assert c["node"]["total"] == disk["allocated"] and c["node"]["free"] == disk["available"]
        assert c["node"]["trash"] == disk["trash"] and c["node_source"] == "api"
        fs = os.statvfs(data_dir)
        assert c["filesystem"]["total"] == fs.f_blocks * fs.f_frsize
        assert c["data_dir"] == str(data_dir)
        # Paid: the newest storageDaily entry of every satellite the API reported, summed.
        coordinator = monitor.runtime.coordinators["A"]
        assert coordinator.data is not None
        expected = paid_bytes(d.raw for d in coordinator.data.details.values())
        assert c["paid_bytes"] == pytest.approx(expected)
        gaps = c["gaps"]
        assert gaps["trash"] == disk["trash"]
        assert gaps["hidden_by_allocation"] == max(c["filesystem"]["free"] - c["node"]["free"], 0)
        if expected is not None:
            garbage = c["node"]["used"] - c["node"]["trash"] - expected
            assert gaps["uncollected_garbage"] == pytest.approx(max(garbage, 0.0))
        # Served in storage_data next to the old fields, and the per-satellite table.
        assert monitor.web is not None
        base = f"http://127.0.0.1:{monitor.web.port}"
        async with aiohttp.ClientSession() as session:

            async def storage() -> Any:
                async with session.get(base + "/api/storage?view=A") as r:
                    data = (await r.json())["data"]
                    return data if data and data[0].get("disk_comparison") else None

            (item,) = await poll_until(storage)
            assert item["total_bytes"] == disk["allocated"] and "unknown" not in item
            assert item["disk_comparison"]["filesystem"]["total"] == c["filesystem"]["total"]

            async def satellites() -> Any:
                async with session.get(base + "/api/storage/satellites?view=A") as r:
                    body = await r.json()
                    return body if body["data"] else None

            body = await poll_until(satellites)
            async with session.get(base + "/metrics") as r:
                text = await r.text()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name.startswith("storj_monitor_disk_")
        }
        fs_total = ("storj_monitor_disk_view_bytes",
                    (("figure", "total"), ("node", "A"), ("view", "filesystem")))  # fmt: skip
        assert samples[fs_total] == c["filesystem"]["total"]
        trash_gap = ("storj_monitor_disk_gap_bytes", (("gap", "trash"), ("node", "A")))
        assert samples[trash_gap] == disk["trash"]
        assert body["type"] == "satellite_storage"
        assert {r["satellite_id"] for r in body["data"]} == set(coordinator.data.details)
        row = body["data"][0]
        assert row["node_name"] == "A" and row["timestamp"].endswith("Z")
        assert row["average_usage_bytes"] == pytest.approx(
            coordinator.data.details[row["satellite_id"]].average_usage_bytes
        )
    finally:
        await monitor.stop()
        await api.stop()


async def test_unreadable_data_dir_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(str(tmp_path / "d.db")).open()
    try:
        missing = str(tmp_path / "gone")
        views = DiskViews(store, [NodeSpec("A", "/x.log", data_dir=missing)], {}, clock=lambda: T0)
        with caplog.at_level(logging.WARNING):
            assert await views.refresh("A") is None  # nothing known at all yet
            assert await views.refresh("A") is None
        assert [r.getMessage() for r in caplog.records].count(
            f"[A] cannot read the data directory {missing}: "
            f"[Errno 2] No such file or directory: '{missing}'"
        ) == 1
        os.mkdir(missing)
        c = await views.refresh("A")
        assert c is not None and c["filesystem"]["total"] > 0 and c["node"] is None
    finally:
        store.close()


# --- storage without an API ----------------------------------------------------------------


class Env:
    def __init__(self, tmp_path: Path, allocation: int | None) -> None:
        self.settings = defaults().replace(
            db_path=str(tmp_path / "w.db"), storage_log_sample_interval=300,
            storage_alert_min_seconds=0,
        )  # fmt: skip
        self.store = Store(self.settings.db_path).open()
        self.bus = Bus()
        self.engine = AlertEngine(self.settings, self.store, self.bus, clock=lambda: T0)
        spec = NodeSpec("N", "/x.log", allocation=allocation)
        self.watch = LogWatch(
            self.settings, self.store, self.bus, self.engine, clock=lambda: T0,
            allocations={"N": allocation} if allocation else {},
        )  # fmt: skip
        self.views = DiskViews(self.store, [spec], {}, clock=lambda: T0)

    def storage_data(self, now: float) -> list[dict[str, Any]]:
        data = self.store.read_sync(lambda c: qs.get_storage_data(c, ["N"], now, self.settings))
        runtime: Any = type("R", (), {"disks": self.views})()
        return add_disk_fields(runtime, data)


@pytest.fixture(params=[None, 2_000_000_000_000], ids=["no-allocation", "allocation-2TB"])
async def env(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Env]:
    e = Env(tmp_path, request.param)
    await e.engine.start()
    await e.watch.start()
    yield e
    await e.watch.stop()
    await e.engine.stop()
    e.store.close()


async def test_storage_from_the_log_alone(env: Env) -> None:
    """Free space 300 GB falling 20 GB/day: without an allocation the payload says what is
    unknown (free space and trend still there); with 2 TB allocated, 85.5 % used → warning."""
    for i in range(0, 13 * 3600, 300):
        env.bus.publish("storage_sample", "N", T0 + i, int(300e9 - 20e9 * i / 86400))
    await env.watch.drain()
    now = T0 + 13 * 3600
    await env.views.refresh("N")
    (item,) = env.storage_data(now)
    free = item["available_bytes"]
    assert free == pytest.approx(300e9 - 20e9 * (13 * 3600 - 300) / 86400, rel=1e-6)
    assert item["growth_rate_bytes_per_day"] == pytest.approx(20e9, rel=0.02)
    assert item["forecast_status"] == "filling"
    comparison = item["disk_comparison"]
    assert comparison["node_source"] == "log" and comparison["node"]["free"] == free
    kinds = {(a["kind"], a["severity"]) for a in env.store.read_sync(lambda c: qa.active_alerts(c, None))}
    allocation = env.watch.allocations.get("N")
    if allocation is None:
        assert item["unknown"] == UNKNOWN_WITHOUT_API
        assert item["total_bytes"] is None and item["used_percent"] is None
        assert comparison["node"]["total"] is None and comparison["node"]["used"] is None
        assert ("disk_usage", "warning") not in kinds
    else:
        assert "unknown" not in item
        assert item["total_bytes"] == allocation and item["used_bytes"] == allocation - free
        assert item["used_percent"] == pytest.approx((allocation - free) * 100 / allocation, abs=0.01)
        assert comparison["node"]["total"] == allocation
        assert comparison["node"]["used"] == allocation - free
        assert ("disk_usage", "warning") in kinds  # 85.5 % > 80 %
    assert ("disk_forecast", "warning") in kinds  # 14.5 days at 20 GB/day: under 30


# --- node options ----------------------------------------------------------------------------


def test_node_table_data_dir_and_allocation() -> None:
    tables = parse_tables(
        {"node": [
            {"name": "A", "log": "/a.log", "data_dir": "/mnt/a", "allocation": "8 TB"},
            {"name": "B", "log": "/b.log", "allocation": 5_000_000_000_000},
            {"name": "C", "log": "/c.log"},
        ]},
        "cfg.toml",
    )  # fmt: skip
    a, b, c = tables.nodes
    assert (a.data_dir, a.allocation) == ("/mnt/a", 8 * 10**12)
    assert (b.data_dir, b.allocation) == (None, 5 * 10**12)
    assert (c.data_dir, c.allocation) == (None, None)
    for bad in ("lots", 0, -3, True, "8 XB"):
        with pytest.raises(ConfigTableError, match="allocation"):
            parse_tables({"node": [{"name": "A", "log": "/a", "allocation": bad}]}, "cfg.toml")
    with pytest.raises(ConfigTableError, match="data_dir"):
        parse_tables({"node": [{"name": "A", "log": "/a", "data_dir": 3}]}, "cfg.toml")


def test_node_data_dir_flag() -> None:
    nodes = [NodeSpec("A", "/a.log"), NodeSpec("B", "/b.log")]
    out = apply_data_dirs(nodes, ["B=/mnt/b", "A = /mnt/a "])
    assert [(n.name, n.data_dir) for n in out] == [("A", "/mnt/a"), ("B", "/mnt/b")]
    with pytest.raises(NodeSpecError, match="no node named 'C'"):
        apply_data_dirs(nodes, ["C=/x"])
    with pytest.raises(NodeSpecError, match="NAME=PATH"):
        apply_data_dirs(nodes, ["A"])


def test_disk_view_defaults() -> None:
    assert DiskView() == DiskView(None, None, None, None)
