"""End-to-end ingest benchmark: generated log → the real ``--ingest-log`` path → SQLite.

Generates N lines (default 1,000,000) with the seeded demo generator (both dialects, started/
finished pairs, failures, cancellations, background lines) into a temporary file, imports it
with ``services.history.import_log`` (parse + pair with durations + store + rollups), and
prints lines/s, events/s, peak RSS, the database size and its bytes per operation. In the
same run it times the *floor*: a bare pass over the same file that only splits each line on
tabs and ``orjson.loads`` its JSON column, and prints the import's time as a multiple of it
(the machine is shared, so only the ratio from one run means much). Prints figures; asserts
nothing.

    python bench/bench_ingest.py [--lines N] [--ts seconds|millis|micros|nanos] [--repeat N]
                                 [--profile] [--keep DIR] [--span-hours H]
    taskset -c 0 python bench/bench_ingest.py ...   # parser and writer process on one core
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import orjson

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.services.history import import_log
from storj_monitor.settings import defaults
from storj_monitor.store.raw_window import raw_window


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size in MB (ru_maxrss is KiB on Linux); RUSAGE_CHILDREN: the
    largest reaped child (the import's writer process)."""
    kib = resource.getrusage(who).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def generate(
    path: Path, n: int, seed: int = 0, ts: str = "millis", span_hours: float | None = None
) -> float:
    """Write ``n`` lines; by default recent times (1M lines span about 3 h, ending an hour or
    so before now), so every event is inside the detail window and gets a full raw row as
    well as its rollups. ``span_hours``: the operations spread evenly over that many hours
    ending about now (168 = the default raw-event retention)."""
    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        batch: list[str] = []
        rate = 50.0 if span_hours is None else n / 2 / (span_hours * 3600.0)
        start = time.time() - (6 * 3600 if span_hours is None else span_hours * 3600.0)
        gen = LogGenerator(seed=seed, start=start, ts=ts, ops_per_second=rate)  # type: ignore[arg-type]
        for line in gen.lines(n):
            batch.append(line)
            if len(batch) >= 10_000:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")
    return time.perf_counter() - t0


def floor_pass(log_path: Path, block_bytes: int = 4 << 20) -> tuple[float, float, int]:
    """The floor: read the file in blocks, ``split("\\t")`` every line and ``orjson.loads``
    the JSON column of the five-column lines; (wall seconds, CPU seconds, lines)."""
    loads, n = orjson.loads, 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    with open(log_path, "rb") as f:
        tail = b""
        while block := f.read(block_bytes):
            text = (tail + block).decode("utf-8", "replace")
            lines = text.split("\n")
            tail = lines.pop().encode()
            n += len(lines)
            for line in lines:
                parts = line.split("\t")
                if len(parts) == 5:
                    loads(parts[4])
    return time.perf_counter() - t0, time.process_time() - cpu0, n


def import_once(log_path: Path, db_path: Path, profiler: cProfile.Profile | None) -> dict:
    """One import into a fresh database; its result, wall time and CPU of both processes."""
    for stale in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        stale.unlink(missing_ok=True)
    settings = defaults()
    cpu_self0, cpu_children0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    result = import_log(
        str(db_path),
        "bench",
        str(log_path),
        max_pending=settings.pairing_max_pending,
        ttl_seconds=settings.pairing_ttl_seconds,
        raw_since=raw_window(  # as the --ingest-log command does
            time.time(), settings.events_retention_days, settings.events_detail_hours,
            settings.latency_warning_ms,
        ),
        defer_indexes=True,  # as the --ingest-log command does
    )
    if profiler:
        profiler.disable()
    return {
        "result": result,
        "wall": time.perf_counter() - t0,
        "cpu_main": _cpu(resource.RUSAGE_SELF) - cpu_self0,
        "cpu_writer": _cpu(resource.RUSAGE_CHILDREN) - cpu_children0,
        "load": load0,
    }


class _Result(SimpleNamespace):
    """An :class:`ImportResult`'s figures as the child process reported them."""

    by_status: dict[str, int]


def child_import(log_path: Path, db_path: Path) -> dict:
    """:func:`import_once` in a fresh interpreter, as ``storj_monitor --ingest-log`` runs
    (the parent's memory after generating the log would otherwise weigh on the import)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(log_path), str(db_path)],
        check=True, stdout=subprocess.PIPE,
    ).stdout  # fmt: skip
    run = orjson.loads(out.splitlines()[-1])
    run["result"] = _Result(**run["result"])
    return run


def _child(log_path: str, db_path: str) -> int:
    run = import_once(Path(log_path), Path(db_path), None)
    r = run["result"]
    run["result"] = {
        k: getattr(r, k)
        for k in ("lines", "events", "raw_events", "records", "unparseable", "ignored")
    }
    run["result"]["by_status"] = dict(r.by_status)
    run["rss_main"] = _peak_rss_mb()
    run["rss_writer"] = _peak_rss_mb(resource.RUSAGE_CHILDREN)
    print(orjson.dumps(run).decode())
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return _child(sys.argv[2], sys.argv[3])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument(
        "--ts",
        choices=("seconds", "millis", "micros", "nanos"),
        default="millis",
        help="precision of the generated log's timestamps (default millis)",
    )
    p.add_argument("--repeat", type=int, default=1, help="imports to run (best and median)")
    p.add_argument("--profile", action="store_true", help="print the top of a cProfile run")
    p.add_argument("--keep", metavar="DIR", help="write the log and the DB here and keep them")
    p.add_argument(
        "--span-hours",
        type=float,
        help="spread the operations over this many hours ending now (168: the default "
        "raw-event retention; the database is then what that retention keeps)",
    )
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        log_path, db_path = folder / "bench.log", folder / "bench.db"
        gen_s = generate(log_path, args.lines, ts=args.ts, span_hours=args.span_hours)
        size = log_path.stat().st_size
        rss_before = _peak_rss_mb()
        print(
            f"generated {args.lines:,} lines ({size / 1e6:.0f} MB, {args.ts} timestamps, "
            f"{'about 3 h' if args.span_hours is None else f'{args.span_hours:g} h'}) "
            f"in {gen_s:.1f} s; CPUs usable: {len(os.sched_getaffinity(0))}"
        )
        floors: list[float] = []
        floor_cpus: list[float] = []

        profiler = cProfile.Profile() if args.profile else None
        runs = []
        for i in range(max(1, args.repeat)):
            floor_s, floor_cpu, floor_lines = floor_pass(log_path)
            floors.append(floor_s)
            floor_cpus.append(floor_cpu)
            if profiler is None:
                run = child_import(log_path, db_path)
            else:  # the profile covers this process (the parsing side) only
                run = import_once(log_path, db_path, profiler)
                run["rss_main"] = _peak_rss_mb()
                run["rss_writer"] = _peak_rss_mb(resource.RUSAGE_CHILDREN)
            runs.append(run)
            print(
                f"run {i + 1}: {run['result'].lines / run['wall']:>9,.0f} lines/s  "
                f"{run['wall']:.2f} s  CPU main {run['cpu_main']:.2f} s, writer "
                f"{run['cpu_writer']:.2f} s  (load average before: {run['load']:.2f})\n"
                f"       floor {floor_lines / floor_s:>9,.0f} lines/s  {floor_s:.2f} s  "
                f"(CPU {floor_cpu:.2f} s)  -> import = {run['wall'] / floor_s:.2f} x floor; "
                f"CPU: both processes {(run['cpu_main'] + run['cpu_writer']) / floor_cpu:.2f} x, "
                f"busier one {max(run['cpu_main'], run['cpu_writer']) / floor_cpu:.2f} x"
            )
        result = runs[-1]["result"]
        rates = sorted(r["result"].lines / r["wall"] for r in runs)
        db_bytes = sum(
            os.path.getsize(p) for p in (db_path, Path(f"{db_path}-wal")) if os.path.exists(p)
        )
        conn = sqlite3.connect(db_path)
        operations, durations = conn.execute(
            "SELECT SUM(count), SUM(duration_count) FROM rollups_hour"
        ).fetchone()
        raw_rows = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        conn.close()
        ratios = sorted(r["wall"] / f for r, f in zip(runs, floors, strict=True))
        print(f"lines read        {result.lines:,}")
        print(f"events stored     {result.events:,}  {dict(result.by_status)}")
        print(
            f"raw event rows    {raw_rows:,} (+ per-minute and per-hour rollups; older than "
            f"the detail window only slow operations get one)"
        )
        print(f"  with duration   {durations:,} of {operations:,} operations (rollups)")
        print(f"records stored    {result.records:,}")
        print(f"unparseable       {result.unparseable:,}   ignored {result.ignored:,}")
        print(f"lines/s           best {rates[-1]:,.0f}, median {statistics.median(rates):,.0f}")
        print(f"MB/s (best)       {size / 1e6 * rates[-1] / result.lines:,.1f}")
        print(
            f"floor             best {floor_lines / min(floors):,.0f} lines/s; import/floor "
            f"best {ratios[0]:.2f} x, median {statistics.median(ratios):.2f} x"
        )
        print(
            f"peak RSS          import {max(r['rss_main'] for r in runs):.0f} MB, its writer "
            f"process {max(r['rss_writer'] for r in runs):.0f} MB (this script after "
            f"generating: {rss_before:.0f} MB)"
        )
        print(f"database size     {db_bytes / 1e6:.1f} MB")
        if operations:
            print(
                f"bytes/operation   {db_bytes / operations:.0f} (database bytes / operations "
                f"in the log, {operations:,})"
            )
        if raw_rows:
            print(f"bytes/raw row     {db_bytes / raw_rows:.0f} (database bytes / raw rows)")
        print("(wall time on a shared machine depends on its load; CPU is per process)")
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
