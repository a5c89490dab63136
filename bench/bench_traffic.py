"""Traffic queries on a busy database: ``get_traffic_stats`` and ``get_geo_stats`` timings.

Fills a temporary database through the real write path (events + rollups) with ``--rate``
operations/s over the last ``--hours`` hours (default 200/s over 24 h = 17.3 M events, about
5 minutes and 2 GB of disk; use ``--rate 20`` for a quick run), then times both queries for
1 h, 24 h, 7 d and 30 d windows. Prints seconds per query. Asserts nothing.

    python bench/bench_traffic.py [--rate 200] [--hours 24]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from storj_monitor.geoip import GeoIP
from storj_monitor.model import Event
from storj_monitor.store.database import Store
from storj_monitor.store.events import write_batch
from storj_monitor.store.traffic import get_geo_stats, get_traffic_stats

NOW = 1_767_225_600.0


def fill(store: Store, rate: float, hours: float) -> int:
    rng = random.Random(1)
    sats = ["S1", "S2", "S3", "S4"]
    actions = ["GET"] * 70 + ["PUT"] * 20 + ["GET_AUDIT"] * 5 + ["GET_REPAIR"] * 5
    pieces = [f"P{i:08d}" for i in range(300_000)]
    ips = [
        f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        for _ in range(20_000)
    ]
    n = int(rate * hours * 3600)
    batch: list[Event] = []
    for i in range(n):
        ok = rng.random() < 0.95
        batch.append(
            Event(
                timestamp=NOW - hours * 3600 + i / rate,
                node_name="A",
                action=rng.choice(actions),
                status="success" if ok else "canceled",
                size=rng.choice((2319360, 1048576, 9472)),
                satellite_id=rng.choice(sats),
                piece_id=rng.choice(pieces),
                remote_ip=rng.choice(ips),
                error_category=None if ok else "context canceled",
            )
        )
        if len(batch) >= 50_000 or i == n - 1:
            chunk, batch = batch, []
            store.write_sync(lambda c, b=chunk: write_batch(c, b, []))
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="operations per second")
    ap.add_argument("--hours", type=float, default=24.0, help="hours of history")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_traffic_") as tmp:
        path = Path(tmp) / "t.db"
        store = Store(path).open()
        try:
            t0 = time.perf_counter()
            n = fill(store, args.rate, args.hours)
            size = path.stat().st_size / 1e9
            print(f"filled {n:,} events in {time.perf_counter() - t0:.0f} s ({size:.2f} GB)")
            geo = GeoIP()
            for hours in (1, 24, 168, 720):
                t = time.perf_counter()
                out = store.read_sync(lambda c, h=hours: get_traffic_stats(c, ["A"], h, NOW))
                traffic_s = time.perf_counter() - t
                t = time.perf_counter()
                store.read_sync(lambda c, h=hours: get_geo_stats(c, ["A"], h, NOW, geo.country))
                geo_s = time.perf_counter() - t
                print(
                    f"{hours:>4} h: traffic_stats {traffic_s:.3f} s "
                    f"({out['total_operations']:,} operations, details over the last "
                    f"{out['details_window_hours']:.2f} h), geo_stats {geo_s:.3f} s"
                )
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
