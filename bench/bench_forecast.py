"""Capacity forecast cost and accuracy, and one full node-API poll against the fake API.

1. ``forecast_days_until_full`` on 7 days of synthetic snapshots at several sampling rates
   (5 min = the default poll, 1 min, and a dense 20 s log-derived trace that is thinned),
   with noise, a trash purge and outliers: prints ms per call and the error of days_until_full
   against the truth.
2. ``NodeCoordinator.refresh`` with its ``NodeApiRecorder`` listener against the fake
   storagenode API on 127.0.0.1 (dashboard, satellites, 4 satellite details, payout, one
   SQLite write, forecast, alert reconcile):
   prints ms per poll. Asserts nothing.

    python bench/bench_forecast.py [--polls N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from storj_monitor.analytics.capacity import DAY, forecast_days_until_full
from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import NodeCoordinator
from storj_monitor.services.pollers import NodeApiRecorder
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store

NOW = 1_767_225_600.0
TOTAL = 8e12


def trace(step: float, rate: float = 25e9, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    t = np.arange(NOW - 7 * DAY, NOW + 1, step)
    used = 5e12 + rate * (t - t[0]) / DAY + rng.normal(0, 1e9, len(t))
    trash = np.where(t < NOW - 3 * DAY, 80e9, 5e9)  # a purge on day 4
    free = TOTAL - used - trash
    out = [
        {"timestamp": float(a), "available_bytes": float(b), "trash_bytes": float(c)}
        for a, b, c in zip(t, free, trash, strict=True)
    ]
    for i in rng.choice(len(out), len(out) // 50, replace=False):
        out[i]["available_bytes"] += 3e11  # 2 % wild outliers
    return out


def bench_forecast() -> None:
    print("forecast_days_until_full, 7 days, 25 GB/day, noise, trash purge, 2 % outliers")
    for step in (300.0, 60.0, 20.0):
        snaps = trace(step)
        truth = (TOTAL - (5e12 + 25e9 * 7) - 5e9) / 25e9
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            f = forecast_days_until_full(snaps, NOW)
            times.append(time.perf_counter() - t0)
        err = (f["days_until_full"] - truth) / truth * 100
        print(
            f"  step {step:5.0f} s  points {len(snaps):6d}  "
            f"{statistics.median(times) * 1000:7.1f} ms/call  days {f['days_until_full']:.2f} "
            f"(truth {truth:.2f}, error {err:+.2f} %)  range {f['days_until_full_low']:.1f}–"
            f"{f['days_until_full_high']:.1f}  segments {f.get('segments')}"
        )


async def bench_poll(polls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = defaults().replace(db_path=str(Path(tmp) / "b.db"))
        store = Store(settings.db_path).open()
        bus = Bus()
        now = [NOW]
        engine = AlertEngine(settings, store, bus, clock=lambda: now[0])
        async with FakeNodeApi(scenario("disk_filling_fast")) as api:
            coordinator = NodeCoordinator(settings, "Bench", api.url, clock=lambda: now[0])
            NodeApiRecorder(settings, store, bus, engine, coordinator)
            times = []
            for _ in range(polls):
                t0 = time.perf_counter()
                await coordinator.refresh()
                times.append(time.perf_counter() - t0)
                now[0] += 300
                api.state.advance(300)
            await coordinator.stop()
        await engine.stop()
        store.close()
    print(
        f"NodeCoordinator.refresh (+ recorder) against the fake API: {polls} polls, median "
        f"{statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=100)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the alerts the fake disk raises are not the point here
    bench_forecast()
    asyncio.run(bench_poll(args.polls))


if __name__ == "__main__":
    main()
