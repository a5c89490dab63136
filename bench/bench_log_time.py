"""Memory held by what is keyed on log time, over many hours of log, in a few seconds.

A live monitor sees one new second of log a second: anything keyed on seconds (the parser's
timestamp caches, the live window's per-second buckets, the pairer's waiting starts) grows
until it forgets. ``bench_soak.py`` runs in real time and so sees at most a quarter of an
hour; this runs one node's ``LineProcessor`` and ``LiveStats`` in process over ``--hours`` of
injected log time (``--rate`` transfers a second, no database, no sockets) and prints, every
``--every`` hours, Python's traced heap (tracemalloc) and the sizes of those structures.

    python bench/bench_log_time.py [--hours 20] [--rate 5] [--every 2] [--src DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tracemalloc

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
MIB = 2**20


def run(hours: float, rate: int, every: float) -> None:
    from storj_monitor.demo.loggen import LogGenerator
    from storj_monitor.logs import timestamps
    from storj_monitor.logs.pipeline import LineProcessor
    from storj_monitor.services.bus import Bus
    from storj_monitor.services.hub import Hub
    from storj_monitor.services.live_stats import LiveStats

    gen = LogGenerator(seed=1, dialect="mixed")
    actions = ["GET"] * 7 + ["PUT"] * 2 + ["GET_AUDIT"]
    statuses = ["success"] * 18 + ["canceled", "failed"]
    clock = [START]
    live = LiveStats(Bus(), Hub(), ["A"], interval=2, clock=lambda: clock[0])
    proc = LineProcessor("A", max_pending=200_000, ttl_seconds=3600)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    print(" hours | traced MiB | stamp cache | head cache | live seconds | waiting starts")
    n, step = 0, int(every * 3600)
    for sec in range(int(hours * 3600)):
        now = clock[0] = START + sec
        lines: list[str] = []
        for _ in range(rate):
            status = statuses[n % len(statuses)]
            error = None if status == "success" else "context canceled"
            lines += gen.transfer(actions[n % len(actions)], status, error,  # type: ignore[arg-type]
                                  at=now - 0.3, latency=0.3)  # fmt: skip
            n += 1
        live.on_events("A", proc.process(lines, arrival=now, now=now).events)
        if sec % 2 == 0:
            live.tick(now)
        if (sec + 1) % step == 0:
            traced = (tracemalloc.get_traced_memory()[0] - base) / MIB
            print(f"{(sec + 1) / 3600:6.1f} | {traced:10.2f} | {len(proc.parser.ts_cache):11d} | "
                  f"{len(timestamps.HEAD_SECONDS):10d} | {len(live.nodes['A'].buckets):12d} | "
                  f"{proc.pairer.pending:14d}", flush=True)  # fmt: skip


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=20.0)
    ap.add_argument("--rate", type=int, default=5, help="transfers a second of log time")
    ap.add_argument("--every", type=float, default=2.0, help="hours between rows")
    ap.add_argument("--src", default="", help="measure the code in this src folder")
    args = ap.parse_args()
    if args.src and os.environ.get("BENCH_LOG_TIME_SRC") != args.src:
        env = dict(os.environ, PYTHONPATH=args.src, BENCH_LOG_TIME_SRC=args.src)
        raise SystemExit(subprocess.call([sys.executable, *sys.argv], env=env))
    run(args.hours, args.rate, args.every)
