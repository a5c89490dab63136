"""The database's disk use at the default retention: bytes per operation in steady state.

A node's database stops growing once retention deletes as much as arrives. This script
gets there without waiting a week: it parses a generated log once (millisecond stamps,
both dialects, failures, cancellations: the demo generator), then writes those operations
again and again with shifted times at ``--rate`` operations/s for ``--days`` simulated days
through the real write path (raw rows + rollups, one transaction per simulated minute),
running the real retention every simulated hour (``services.maintenance.Maintenance``:
raw events past EVENTS_RETENTION_DAYS, thinning past EVENTS_DETAIL_HOURS; and
``compact_rollups``). It prints the file size and each table's pages (SQLite ``dbstat``)
per operation of one retention period (EVENTS_RETENTION_DAYS of operations), then the
same for the old schema's figure for comparison (~240 B/op, the issue's measurement).

The rollups outlive raw events (minute rows 14 days, hour rows 400 days); a run shorter
than those holds fewer rollup rows than a node's steady state, so the script also prints
the rollups extrapolated to their retention (their bytes per simulated day times their
retention days): the sum is the steady-state figure. Prints figures; asserts nothing.

    python bench/bench_db_size.py [--rate 50] [--days 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.services.maintenance import Maintenance
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store
from storj_monitor.store.events import write_row_batch
from storj_monitor.store.rollup_queries import compact_rollups

DAY = 86400.0
ROLLUP_TABLES = ("rollups_minute", "latency_minute", "rollups_hour", "latency_hour")


def event_pool(ops: int, seed: int = 7) -> list[tuple[Any, ...]]:
    """``ops`` operations as event rows, parsed from a generated log (offsets from 0 s)."""
    gen = LogGenerator(seed=seed, start=1_700_000_000.0, ts="millis", ops_per_second=50.0)
    proc = LineProcessor("node", max_pending=200_000, ttl_seconds=3600.0)
    rows: list[tuple[Any, ...]] = []
    while len(rows) < ops:
        rows += proc.process_rows(list(gen.lines(20_000))).rows
    rows = rows[:ops]
    t0 = rows[0][0]
    return [(r[0] - t0, *r[1:]) for r in rows]


def table_bytes(db: str) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    out = {name: int(size) for name, size in rows}
    out["(free pages)"] = int(free) * int(page)
    return out


async def simulate(db: str, rate: float, days: float, pool: list[tuple[Any, ...]]) -> int:
    settings = defaults()
    start = time.time() - days * DAY
    now = start
    with Store(db) as store:
        maint = Maintenance(settings, store, clock=lambda: now, interval=3600.0)
        written, i, minute = 0, 0, 0
        total_minutes = int(days * 1440)
        per_minute = rate * 60.0
        carry = 0.0
        minute_days = settings.rollup_minute_retention_days
        hour_days = settings.rollup_hour_retention_days
        while minute < total_minutes:
            base = start + minute * 60.0
            carry += per_minute
            n, carry = int(carry), carry - int(carry)
            batch = []
            for k in range(n):
                r = pool[i % len(pool)]
                i += 1
                batch.append((base + k * 60.0 / max(n, 1), *r[1:]))
            await store.write(lambda c, b=batch: write_row_batch(c, b, []))
            written += n
            minute += 1
            now = base + 60.0
            if minute % 60 == 0:  # an hourly retention pass, as the monitor runs it
                await maint.run_once()
                await store.write(
                    lambda c, t=now: compact_rollups(c, t, minute_days, hour_days)
                )
            if minute % 1440 == 0:
                print(f"  simulated day {minute // 1440}: {written:,} operations written")
        await maint.run_once()
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=50.0, help="operations per second")
    p.add_argument("--days", type=float, default=8.0, help="simulated days (> retention)")
    p.add_argument("--pool", type=int, default=200_000, help="distinct parsed operations")
    p.add_argument("--keep", metavar="DIR", help="keep the database here")
    args = p.parse_args()
    s = defaults()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = str(folder / "size.db")
        for stale in (db, f"{db}-wal", f"{db}-shm"):
            Path(stale).unlink(missing_ok=True)
        t0 = time.perf_counter()
        pool = event_pool(args.pool)
        slow = sum(1 for r in pool if r[10] is not None and r[10] >= s.latency_warning_ms)
        print(f"pool: {len(pool):,} parsed operations; {slow / len(pool):.1%} slower than "
              f"LATENCY_WARNING_MS ({s.latency_warning_ms:g} ms)")  # fmt: skip
        written = asyncio.run(simulate(db, args.rate, args.days, pool))
        elapsed = time.perf_counter() - t0
        sizes = table_bytes(db)
        file_bytes = os.path.getsize(db)
        week_ops = args.rate * s.events_retention_days * DAY
        print(
            f"{written:,} operations at {args.rate:g}/s over {args.days:g} simulated days in "
            f"{elapsed:.0f} s; retention: raw {s.events_retention_days:g} d (every row for "
            f"{getattr(s, 'events_detail_hours', s.events_retention_days * 24):g} h), "
            f"rollups {s.rollup_minute_retention_days:g} d "
            f"minute / {s.rollup_hour_retention_days:g} d hour"
        )
        print(f"per operation of one raw retention period ({week_ops:,.0f} operations):")
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
            if size >= 64 * 1024:
                print(f"  {name:32s} {size / 1e6:9.1f} MB  {size / week_ops:7.1f} B/op")
        print(f"  {'database file':32s} {file_bytes / 1e6:9.1f} MB  "
              f"{file_bytes / week_ops:7.1f} B/op")  # fmt: skip
        # Rollups at their own retention: bytes per simulated day times their days.
        steady = file_bytes - sum(sizes.get(t, 0) for t in ROLLUP_TABLES)
        for t in ROLLUP_TABLES:
            days_kept = (
                s.rollup_minute_retention_days if "minute" in t else s.rollup_hour_retention_days
            )
            steady += sizes.get(t, 0) / min(args.days, days_kept) * days_kept
        print(f"steady state with the rollups at their retention: {steady / 1e6:,.1f} MB, "
              f"{steady / week_ops:.1f} B/op (the first schema: ~240 B/op)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
