"""Memory under steady live load: does the monitor's RSS level off?

Starts ``storj_monitor`` (one node, its own database and log in a temporary directory, no
node API) with ``--clients`` WebSocket clients connected, appends ``--rate`` piece
operations/s (DEBUG start + INFO finish lines, 50 ms slices) for ``--minutes``, and prints
the monitor's RSS every minute, split from ``/proc/PID/smaps`` into anonymous (heaps,
Python's arenas, stacks) and file-backed (libraries, a mapped database), with the mappings
that grew most since the start. With ``--probe`` the monitor runs under a small wrapper that
also reports, every minute, the C allocator's counters (glibc ``mallinfo2``: arenas, in use,
free), SQLite's own allocator (``sqlite3_memory_used``: page caches, statements) and Python's
allocated blocks; ``--trace`` adds Python's traced heap (tracemalloc) and the allocation
sites that grew most since minute ``--trace-from`` (RSS is then inflated by tracemalloc) —
what grows, if something does. Structures keyed on log time that fill over hours are
measured by ``bench_log_time.py`` (hours of log in seconds).

Verdict: the first ``--warmup`` minutes are warm-up; after them RSS is **flat** when its
last-third mean exceeds its first-third mean by less than 2 MiB (and 3 %).

    python bench/bench_soak.py [--minutes 60] [--rate 1000] [--clients 20] [--probe | --trace]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bench_load import Client, free_port, wait_ready  # bench/ is the script's folder
from storj_monitor.demo.loggen import LogGenerator

SLICE = 0.05  # seconds between appends
MIB = 2**20

# Runs the monitor with a thread that writes one JSON line a minute: the C allocator's
# counters (glibc mallinfo2, summed over its arenas), SQLite's allocator, Python's allocated
# blocks and, with tracemalloc on ("1"), the traced heap and the sites that grew most.
TRACE_WRAPPER = r"""
import ctypes, json, os, runpy, sys, threading, time, tracemalloc, _sqlite3
out, every, trace, base = sys.argv.pop(1), float(sys.argv.pop(1)), sys.argv.pop(1) == "1", int(sys.argv.pop(1))
if trace:
    tracemalloc.start(1)  # one frame: cheap enough to leave the monitor's RSS meaningful
lib = ctypes.CDLL(_sqlite3.__file__)
lib.sqlite3_memory_used.restype = ctypes.c_int64
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
mallinfo2 = getattr(libc, "mallinfo2", None)
if mallinfo2 is not None:
    mallinfo2.restype = MallInfo2
def probe():
    first, minute = None, 0
    while True:
        time.sleep(every)
        minute += 1
        row = {"sqlite": lib.sqlite3_memory_used(), "threads": threading.active_count(),
               "blocks": sys.getallocatedblocks()}
        if mallinfo2 is not None:
            m = mallinfo2()
            row["malloc"] = {"arena": m.arena, "mmap": m.hblkhd, "used": m.uordblks,
                             "free": m.fordblks, "top": m.keepcost}
        if trace:
            snap = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)])
            if first is None and minute >= base:
                first = snap
            top = snap.compare_to(first, "lineno")[:6] if first is not None else []
            row.update({"traced": tracemalloc.get_traced_memory()[0],
                        "overhead": tracemalloc.get_tracemalloc_memory(),
                        "grew": [[s.size_diff, s.count_diff,
                                  " < ".join(f"{os.path.basename(f.filename)}:{f.lineno}"
                                             for f in s.traceback[:4])] for s in top]})
        with open(out, "a") as fh:
            fh.write(json.dumps(row) + "\n")
threading.Thread(target=probe, daemon=True, name="bench-probe").start()
sys.argv[0] = "storj_monitor"
runpy.run_module("storj_monitor", run_name="__main__", alter_sys=True)
"""


def read_smaps(pid: int) -> dict[int, tuple[int, int, int, str]]:
    """Per mapping, keyed by start address: (size, RSS, anonymous RSS, name), in bytes."""
    maps: dict[int, tuple[int, int, int, str]] = {}
    start, size, rss, name = 0, 0, 0, ""
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                parts = line.split()
                start, size, name = lo, hi - lo, parts[5] if len(parts) > 5 else "[anon]"
            elif head == "Rss:":
                rss = int(line.split()[1]) * 1024
            elif head == "Anonymous:":
                maps[start] = (size, rss, int(line.split()[1]) * 1024, name)
    return maps


def smaps_summary(maps: dict[int, tuple[int, int, int, str]]) -> dict[str, int]:
    """RSS split: anonymous (heap, malloc arenas, Python's arenas, stacks) vs file-backed."""
    anon = sum(m[2] for m in maps.values())
    total = sum(m[1] for m in maps.values())
    heap = sum(m[2] for m in maps.values() if m[3] == "[heap]")
    db = sum(m[1] for m in maps.values() if "bench.db" in m[3])
    return {"anon": anon, "file": total - anon, "heap": heap, "db": db,
            "mappings": len(maps)}  # fmt: skip


def smaps_growth(before: dict[int, tuple[int, int, int, str]],
                 after: dict[int, tuple[int, int, int, str]], top: int = 5) -> str:
    """The mappings whose RSS grew most between two readings (new mappings count in full)."""
    diffs = []
    for start, (size, rss, _anon, name) in after.items():
        old = before.get(start, (0, 0, 0, ""))[1]
        if rss != old:
            diffs.append((rss - old, start, size, name))
    diffs.sort(reverse=True)
    return "; ".join(f"{d / MIB:+.2f} MiB {start:x} ({size / MIB:.1f} MiB {os.path.basename(name)})"
                     for d, start, size, name in diffs[:top])  # fmt: skip


def verdict(rss: list[float], warmup: int) -> str:
    steady = rss[warmup:]
    if len(steady) < 3:
        return "too short for a verdict"
    third = max(1, len(steady) // 3)
    first, last = statistics.mean(steady[:third]), statistics.mean(steady[-third:])
    growth = last - first
    flat = growth < 2 * MIB and growth < 0.03 * first
    return (f"{'FLAT' if flat else 'GROWING'}: after {warmup} min warm-up, mean RSS "
            f"{first / MIB:.1f} MiB (first third) -> {last / MIB:.1f} MiB (last third), "
            f"{growth / MIB:+.1f} MiB")  # fmt: skip


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench_soak_") as tmp:
        folder = Path(tmp)
        log_path = folder / "node.log"
        log_path.write_text("")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        db = folder / "bench.db"
        argv = ["--node", f"Soak:{log_path}", "--db", str(db), "--host", "127.0.0.1",
                "--port", str(port), "--log-level", "WARNING"]  # fmt: skip
        trace_path = folder / "trace.jsonl"
        if args.trace or args.probe:
            cmd = [sys.executable, "-c", TRACE_WRAPPER, str(trace_path), "60",
                   "1" if args.trace else "0", str(args.trace_from), *argv]  # fmt: skip
        else:
            cmd = [sys.executable, "-m", "storj_monitor", *argv]
        env = dict(os.environ)
        if args.src:
            env["PYTHONPATH"] = args.src
        err_path = folder / "monitor.err"
        with err_path.open("w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        rss: list[float] = []
        try:
            try:
                await wait_ready(base, timeout=60)
            except RuntimeError:
                print(err_path.read_text()[-3000:], file=sys.stderr)
                raise
            ps = psutil.Process(proc.pid)
            gen = LogGenerator(seed=1, dialect="mixed")
            actions = ["GET"] * 70 + ["PUT"] * 20 + ["GET_AUDIT"] * 5 + ["GET_REPAIR"] * 5
            statuses = ["success"] * 95 + ["canceled"] * 4 + ["failed"]
            print(f"{args.rate:g} ops/s ({2 * args.rate:g} lines/s), {args.clients} clients, "
                  f"{args.minutes:g} min; monitor from {args.src or 'this checkout'}")  # fmt: skip
            async with aiohttp.ClientSession() as session:
                clients = [Client() for _ in range(args.clients)]
                readies = [asyncio.Event() for _ in clients]
                url = base.replace("http", "ws") + "/ws"
                tasks = [asyncio.create_task(c.run(session, url, r, args.dashboard_requests))
                         for c, r in zip(clients, readies, strict=True)]  # fmt: skip
                await asyncio.gather(*(r.wait() for r in readies))
                written, start = 0, time.monotonic()
                next_minute, trace_seen = start + 60, 0
                maps0 = read_smaps(proc.pid)
                with log_path.open("a", encoding="utf-8") as f:
                    while (elapsed := time.monotonic() - start) < args.minutes * 60:
                        due = int(elapsed * args.rate) - written
                        if due > 0:
                            now, lines = time.time(), []
                            for i in range(due):
                                n = written + i
                                status = statuses[n % len(statuses)]
                                error = None if status == "success" else "context canceled"
                                lines += gen.transfer(actions[n % len(actions)], status, error,  # type: ignore[arg-type]
                                                      at=now - 0.3, latency=0.3)  # fmt: skip
                            f.write("".join(line + "\n" for line in lines))
                            f.flush()
                            written += due
                        if time.monotonic() >= next_minute:
                            next_minute += 60
                            rss.append(ps.memory_info().rss)
                            db_mib = sum(p.stat().st_size for p in folder.glob("bench.db*")) / MIB
                            cpu = ps.cpu_times()
                            print(f"min {len(rss):3d}: RSS {rss[-1] / MIB:6.1f} MiB, database "
                                  f"{db_mib:6.1f} MiB, {written} ops, monitor CPU "
                                  f"{cpu.user + cpu.system:.0f} s", flush=True)  # fmt: skip
                            maps = read_smaps(proc.pid)
                            sm = smaps_summary(maps)
                            print(f"        anonymous {sm['anon'] / MIB:.1f} MiB (brk heap "
                                  f"{sm['heap'] / MIB:.1f}), file-backed {sm['file'] / MIB:.1f} "
                                  f"MiB (database files {sm['db'] / MIB:.1f}), {sm['mappings']} "
                                  f"mappings; grew since start: {smaps_growth(maps0, maps)}",
                                  flush=True)  # fmt: skip
                            if (args.trace or args.probe) and trace_path.exists():
                                rows = trace_path.read_text().splitlines()
                                for row in rows[trace_seen:]:
                                    r = json.loads(row)
                                    m = r.get("malloc")
                                    print(f"        SQLite {r['sqlite'] / MIB:.1f} MiB, "
                                          f"{r['threads']} threads, Python blocks "
                                          f"{r['blocks']}" + (
                                              f", malloc: arenas {m['arena'] / MIB:.1f} MiB "
                                              f"(in use {m['used'] / MIB:.1f}, free "
                                              f"{m['free'] / MIB:.1f}, top {m['top'] / MIB:.1f}), "
                                              f"mmapped {m['mmap'] / MIB:.1f} MiB" if m else ""),
                                          flush=True)  # fmt: skip
                                    if "traced" in r:
                                        print(f"        traced Python heap {r['traced'] / MIB:.1f} MiB, "
                                              f"tracemalloc's own {r['overhead'] / MIB:.1f} MiB; "
                                              f"grew since min {args.trace_from}: "
                                              + "; ".join(f"{g[0] / 1024:+.0f} KiB ({g[1]:+d}) {g[2]}"
                                                          for g in r["grew"][:5]), flush=True)  # fmt: skip
                                trace_seen = len(rows)
                        await asyncio.sleep(SLICE)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(verdict(rss, args.warmup))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=1000.0, help="piece operations per second")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3, help="minutes left out of the verdict")
    ap.add_argument("--dashboard-requests", type=float, default=0.0, metavar="SECONDS",
                    help="each client also requests its cards' data every SECONDS")  # fmt: skip
    ap.add_argument("--trace", action="store_true", help="tracemalloc + SQLite memory probe")
    ap.add_argument("--trace-from", type=int, default=1, metavar="MIN",
                    help="--trace compares each minute with this one")
    ap.add_argument("--probe", action="store_true",
                    help="C allocator + SQLite + Python block counts, without tracemalloc")
    ap.add_argument("--src", default="", help="run the monitor from this src folder")
    raise SystemExit(asyncio.run(main(ap.parse_args())))
