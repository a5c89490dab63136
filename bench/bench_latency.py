"""Latency benchmark: a day of one busy node through the real ingest path, then the queries.

Ingest: the seeded demo generator (``demo.loggen``, docker json-file lines, so durations are
precise) writes ``--hours`` of traffic at ``--ops`` operations/s (default 24 h × 200/s ≈
17 M operations, ≈ 35 M lines with the DEBUG ``started`` lines); the lines go through the
same parse + pair code as ``--ingest-log`` (``logs.pipeline.LineProcessor``) and are stored
by ``store.events.write_row_batch`` (raw events + rollups in one transaction per batch).
Only the file is skipped: lines are handed over in memory. ``--direct`` builds the Events
directly instead (no generator, no parser: a quicker run for the query timings).

Then it times ``get_latency_stats`` and ``get_latency_histogram`` for 1 h and 24 h windows
ending at the last event (cold first call, then the median of ``--repeat``), and prints the
database size. ``--week`` also times a 7-day window over copies of the day's hour rows.
Prints figures; asserts nothing.

    python bench/bench_latency.py [--hours 24] [--ops 200] [--direct] [--keep DIR] [--week]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from storj_monitor.demo.loggen import DEFAULT_START, LogGenerator
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.model import Event
from storj_monitor.settings import defaults
from storj_monitor.store import events as se
from storj_monitor.store import latency_queries as lq
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.schema import migrate

NODE = "bench"
BATCH_EVENTS = 5000
LINE_CHUNK = 20_000


class Timer:
    """Accumulates the time spent inside a wrapped function."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        t = time.perf_counter()
        try:
            return self.fn(*args)
        finally:
            self.seconds += time.perf_counter() - t
            self.calls += 1


def loggen_events(hours: float, ops: float) -> Iterator[list[tuple[Any, ...]]]:
    """Event row batches from generated log lines, parsed and paired like an import."""
    settings = defaults()
    gen = LogGenerator(seed=1, ops_per_second=ops, docker=True, start=DEFAULT_START)
    proc = LineProcessor(
        NODE,
        max_pending=settings.pairing_max_pending,
        ttl_seconds=settings.pairing_ttl_seconds,
    )
    end = DEFAULT_START + hours * 3600.0
    pending: list[tuple[Any, ...]] = []
    chunk: list[str] = []
    for line in gen.lines_between(DEFAULT_START, end):
        chunk.append(line)
        if len(chunk) >= LINE_CHUNK:
            pending.extend(se.event_rows(proc.process(chunk).events))
            chunk = []
            while len(pending) >= BATCH_EVENTS:
                yield pending[:BATCH_EVENTS]
                del pending[:BATCH_EVENTS]
    if chunk:
        pending.extend(se.event_rows(proc.process(chunk).events))
    for i in range(0, len(pending), BATCH_EVENTS):
        yield pending[i : i + BATCH_EVENTS]


_ACTIONS = (
    ("GET", 0.70, 350.0, 0.9),
    ("PUT", 0.20, 900.0, 0.8),
    ("GET_AUDIT", 0.03, 80.0, 0.7),
    ("GET_REPAIR", 0.04, 1200.0, 0.8),
    ("PUT_REPAIR", 0.03, 1500.0, 0.8),
)
_SATS = (
    "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6",
    "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S",
)


def direct_events(hours: float, ops: float) -> Iterator[list[tuple[Any, ...]]]:
    """Event row batches built directly (same action mix and latencies as the generator)."""
    rnd = random.Random(1)
    n = int(hours * 3600 * ops)
    weights = [a[1] for a in _ACTIONS]
    batch: list[tuple[Any, ...]] = []
    for i in range(n):
        action, _, median, sigma = rnd.choices(_ACTIONS, weights)[0]
        r = rnd.random()
        status = "success" if r > 0.06 else "canceled" if r > 0.02 else "failed"
        ev = Event(
            timestamp=DEFAULT_START + i / ops,
            node_name=NODE,
            action=action,
            status=status,  # type: ignore[arg-type]
            size=2_319_872,
            satellite_id=_SATS[i & 1],
            piece_id=f"P{i:026d}",
            remote_ip="203.0.113.7",
            error="context deadline exceeded" if status == "failed" else None,
            error_category="timeout" if status == "failed" else None,
            duration_ms=median * rnd.lognormvariate(0, sigma),
            duration_source="precise",
        )
        batch.append(se.event_rows([ev])[0])
        if len(batch) >= BATCH_EVENTS:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest(db_path: Path, source: Iterator[list[tuple[Any, ...]]], expected: int) -> None:
    conn = connect(db_path)
    migrate(conn)
    conn.execute("PRAGMA cache_size=-65536")
    rollup_timer = Timer(se.write_rollup_rows)
    insert_timer = Timer(se.insert_event_rows)
    se.write_rollup_rows = rollup_timer  # type: ignore[assignment]
    se.insert_event_rows = insert_timer  # type: ignore[assignment]
    t0 = time.perf_counter()
    stored, next_report = 0, expected // 10
    try:
        for rows in source:
            transaction(conn, lambda c, r=rows: se.write_row_batch(c, r, []))
            stored += len(rows)
            if stored >= next_report:
                el = time.perf_counter() - t0
                print(
                    f"  {stored:>12,} events  {el:7.1f} s  {stored / el:9,.0f} events/s", flush=True
                )
                next_report += expected // 10
    finally:
        se.write_rollup_rows = rollup_timer.fn
        se.insert_event_rows = insert_timer.fn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    elapsed = time.perf_counter() - t0
    print(
        f"ingested          {stored:,} events in {elapsed:.1f} s ({stored / elapsed:,.0f}/s end to end)"
    )
    print(
        f"  insert_event_rows {insert_timer.seconds / stored * 1e6:.2f} µs/event, "
        f"write_rollup_rows {rollup_timer.seconds / stored * 1e6:.2f} µs/event "
        f"({BATCH_EVENTS:,}-event transactions)"
    )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    t = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return cold * 1000, statistics.median(runs) * 1000 if runs else cold * 1000, result


def copy_history(db_path: Path, days: int) -> None:
    """Copy the ingested day's hour rows ``days`` times into the past (rollups_hour and
    latency_hour only; raw events and minute rows are not copied), so 7-day windows can
    be timed without ingesting a week."""
    conn = connect(db_path)
    first = conn.execute("SELECT MIN(bucket_start) FROM rollups_hour").fetchone()[0]
    if conn.execute(
        "SELECT COUNT(*) FROM rollups_hour WHERE bucket_start < ?", (first,)
    ).fetchone()[0]:
        conn.close()
        return
    cols = {
        "rollups_hour": "node_name, bucket_start, satellite_id, action, status, error_category, "
        "count, bytes, duration_count, duration_sum_ms, duration_min_ms, duration_max_ms, "
        "precise_count, arrival_count, log_seconds_count, field_count",
        "latency_hour": "node_name, bucket_start, action, count, bytes, duration_count, "
        "duration_sum_ms, duration_min_ms, duration_max_ms, precise_count, arrival_count, "
        "log_seconds_count, field_count, hist",
    }
    conn.execute("BEGIN IMMEDIATE")
    for table, names in cols.items():
        select = names.replace("bucket_start", "bucket_start - ?", 1)
        for day in range(1, days + 1):
            conn.execute(
                f"INSERT OR IGNORE INTO {table} ({names}) SELECT {select} FROM {table} "
                "WHERE bucket_start >= ?",
                (day * 86400.0, first),
            )
    conn.execute("COMMIT")
    conn.close()
    print(f"copied the day's hour rows {days} days back (for the 7-day window only)")


def queries(db_path: Path, repeat: int, windows: tuple[float, ...]) -> None:
    settings = defaults()
    conn = connect(db_path, readonly=True)
    now = conn.execute("SELECT MAX(timestamp) FROM events").fetchone()[0] + 1.0
    print(f"{'query':<34}{'cold ms':>9}{'median ms':>11}  result")
    for hours in windows:
        cold, med, data = timed(
            lambda h=hours: lq.get_latency_stats(
                conn,
                [NODE],
                h,
                now,
                slow_threshold_ms=settings.latency_warning_ms,
                slow_limit=settings.slow_operations_limit,
            ),
            repeat,
        )
        g = data["statistics"]["get"]
        print(
            f"{f'get_latency_stats {hours:g} h':<34}{cold:9.1f}{med:11.1f}  "
            f"{data['total_operations']:,} ops from {data['computed_from']}; GET p50/p95/p99 "
            f"{g['p50']}/{g['p95']}/{g['p99']} ms; {len(data['slow_operations'])} slow, "
            f"slowest {data['slow_operations'][0]['duration_ms'] if data['slow_operations'] else '-'} ms"
        )
        cold, med, hist = timed(
            lambda h=hours: lq.get_latency_histogram(
                conn, [NODE], h, settings.latency_histogram_bucket_ms, now
            ),
            repeat,
        )
        print(
            f"{f'get_latency_histogram {hours:g} h':<34}{cold:9.1f}{med:11.1f}  "
            f"{len(hist['buckets'])} buckets, total {hist['total']:,}"
        )
    conn.close()


def sizes(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    size = sum(os.path.getsize(p) for p in (db_path, Path(f"{db_path}-wal")) if p.exists())
    print(f"database size     {size / 1e6:,.1f} MB")
    for table in ("events", "rollups_minute", "rollups_hour", "latency_minute", "latency_hour"):
        n = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        print(f"  {table:<16}{n:>12,} rows")
    for table in ("latency_minute", "latency_hour"):
        h = conn.execute(f"SELECT COALESCE(SUM(LENGTH(hist)), 0) FROM {table}").fetchone()[0]
        print(f"  {table} histogram bytes {h / 1e6:,.1f} MB")
    try:
        rows = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
        for name, pgsize in rows[:10]:
            print(f"  {name:<28}{pgsize / 1e6:10,.1f} MB")
    except sqlite3.OperationalError:
        pass  # dbstat not compiled in
    conn.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--ops", type=float, default=200.0, help="operations per second")
    p.add_argument("--direct", action="store_true", help="build Events, skip generator+parser")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--keep", metavar="DIR", help="keep the database in DIR (reused if present)")
    p.add_argument(
        "--week",
        action="store_true",
        help="also time a 7-day window (copies the day's hour rows 6 days back first)",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / "bench_latency.db"
        expected = int(args.hours * 3600 * args.ops)
        if not db_path.exists():
            how = "direct Events" if args.direct else "demo.loggen lines -> parse + pair"
            print(
                f"ingesting {args.hours:g} h at {args.ops:g} ops/s (~{expected:,} events) via {how}"
            )
            source = direct_events if args.direct else loggen_events
            ingest(db_path, source(args.hours, args.ops), expected)
        else:
            print(f"reusing {db_path}")
        sizes(db_path)
        queries(db_path, args.repeat, (1.0, 24.0))
        if args.week:
            copy_history(db_path, 6)
            queries(db_path, args.repeat, (168.0,))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
