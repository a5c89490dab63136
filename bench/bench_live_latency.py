"""Live tail latency: time from a line's write to its event on the bus, and to its commit.

Starts the real NodeIngest on a temporary log, appends one started/finished transfer every
``--interval`` seconds, and prints the distribution of write → bus publish and write → row in
SQLite. Prints figures; asserts nothing.

    python bench/bench_live_latency.py [--transfers 200] [--interval 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from storj_monitor.model import NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


def transfer(i: int, now: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    piece = {"piece_id": f"L{i:051d}", "satellite_id": SAT, "action": "GET", "size": 1000}
    fields = json.dumps({**piece, "offset": 0, "remote_address": "203.0.113.9:4000"})
    return (
        f"{stamp}\tDEBUG\tpiecestore\tdownload started\t{fields}\n"
        f"{stamp}\tINFO\tpiecestore\tdownloaded\t{fields}\n"
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(transfers: int, interval: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log, db = Path(tmp) / "node.log", Path(tmp) / "live.db"
        log.write_text("")
        settings = defaults().replace(db_path=str(db))
        bus = Bus()
        published: dict[str, float] = {}
        bus.subscribe(
            "events",
            lambda node, events: published.update(
                (e.piece_id, time.perf_counter()) for e in events if e.piece_id
            ),
        )
        written: dict[str, float] = {}
        with Store(db) as store:
            ingest = NodeIngest(settings, store, bus, NodeSpec("live", str(log)))
            await ingest.start()
            await asyncio.sleep(0.3)  # first poll: the empty file, caught up
            committed: dict[str, float] = {}
            done = asyncio.Event()

            async def watch_db() -> None:  # when each row becomes visible to a reader
                conn = sqlite3.connect(db)
                while not done.is_set():
                    now = time.perf_counter()
                    for (pid,) in conn.execute("SELECT piece_id FROM events"):
                        committed.setdefault(pid, now)
                    await asyncio.sleep(0.005)
                conn.close()

            watcher = asyncio.create_task(watch_db())
            with open(log, "a", encoding="utf-8") as f:
                for i in range(transfers):
                    f.write(transfer(i, time.time()))
                    f.flush()
                    written[f"L{i:051d}"] = time.perf_counter()
                    await asyncio.sleep(interval)
            deadline = time.perf_counter() + 10
            while len(committed) < transfers and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            done.set()
            await watcher
            await ingest.stop()
        bus_ms = [(published[k] - t) * 1000 for k, t in written.items() if k in published]
        db_ms = [(committed[k] - t) * 1000 for k, t in written.items() if k in committed]
        print(f"transfers written  {transfers}, one every {interval * 1000:.0f} ms")
        for name, values in (("write → bus", bus_ms), ("write → SQLite", db_ms)):
            if values:
                print(
                    f"{name:15s} n={len(values)}  p50 {statistics.median(values):6.1f} ms  "
                    f"p95 {pct(values, 0.95):6.1f} ms  max {max(values):6.1f} ms"
                )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--transfers", type=int, default=200)
    p.add_argument("--interval", type=float, default=0.02, help="seconds between transfers")
    args = p.parse_args()
    asyncio.run(run(args.transfers, args.interval))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
