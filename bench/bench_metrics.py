"""Cost of one /metrics scrape: N fake nodes (4 satellites each, polled once), 5,000 piece
operations per node over 6 actions, 3 statuses and 4 satellites (with durations), then
``generate_latest`` of the whole registry and of one node's view (``/metrics?node=``).
Prints bytes, lines and the median time of 20 scrapes. Asserts nothing.

    python bench/bench_metrics.py [--nodes N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from types import MappingProxyType

from prometheus_client import generate_latest

from storj_monitor.demo.fake_node_api import SATELLITES, FakeNodeApi, scenario
from storj_monitor.geoip import GeoIP
from storj_monitor.model import Event, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import NodeCoordinator
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats
from storj_monitor.services.runtime import Runtime
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.context import ApiContext
from storj_monitor.web.metrics import make_registry, node_registry

ACTIONS = ("GET", "PUT", "GET_AUDIT", "GET_REPAIR", "PUT_REPAIR", "DELETE")
STATUSES = ("success", "failed", "canceled")
NL = b"\n"


async def bench(n_nodes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = defaults().replace(db_path=str(Path(tmp) / "b.db"))
        apis = [await FakeNodeApi(scenario("healthy")).start() for _ in range(n_nodes)]
        now = time.time()

        def clock() -> float:
            return now

        names = [f"node{i}" for i in range(n_nodes)]
        coordinators = {
            n: NodeCoordinator(settings, n, a.url, clock=clock)
            for n, a in zip(names, apis, strict=True)
        }
        for c in coordinators.values():
            await c.refresh()
        store = Store(settings.db_path).open()
        bus = Bus()
        runtime = Runtime(
            settings=settings,
            store=store,
            bus=bus,
            engine=AlertEngine(settings, store, bus, clock=clock),
            nodes=tuple(NodeSpec(n, "x.log", a.url) for n, a in zip(names, apis, strict=True)),
            coordinators=MappingProxyType(coordinators),
            ingests=MappingProxyType({}),
            thresholds=thresholds_from(settings),
            clock=clock,
        )
        hub = Hub()
        geo = GeoIP("")
        live = LiveStats(bus, hub, names, clock=clock)
        ctx = ApiContext(runtime, hub, live, geo)
        live.attach()
        ctx.metrics_feed.attach(bus)
        rng = random.Random(1)
        sats = list(SATELLITES)
        for n in names:
            events = [
                Event(now - rng.random() * 200, n, rng.choice(ACTIONS), rng.choice(STATUSES),  # type: ignore[arg-type]
                      1000, rng.choice(sats), "p", "1.1.1.1", duration_ms=rng.random() * 3000)
                for _ in range(5000)
            ]  # fmt: skip
            bus.publish("events", n, events)
        registry = make_registry(ctx)
        for label, reg in (("all nodes", registry), ("?node=", node_registry(registry, names[0]))):
            times = []
            body = b""
            for _ in range(20):
                t0 = time.perf_counter()
                body = generate_latest(reg)
                times.append(time.perf_counter() - t0)
            print(
                f"{n_nodes} nodes, /metrics {label}: {len(body)} bytes, "
                f"{body.count(NL)} lines, median {statistics.median(times) * 1000:.1f} ms"
            )
        for c in coordinators.values():
            await c.stop()
        for a in apis:
            await a.stop()
        await live.stop()
        geo.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    asyncio.run(bench(parser.parse_args().nodes))


if __name__ == "__main__":
    main()
