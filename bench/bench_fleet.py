"""Live CPU and memory per number of nodes: 1/10/50/100 nodes × 20 piece operations/s each.

For each fleet size: starts ``storj_monitor`` as a subprocess with that many nodes (one log
file each, no node API), connects WebSocket clients, measures 5 s idle, then starts a
**separate generator process** that appends DEBUG start + INFO finish lines to every node's
log in 50 ms slices for ``--seconds``. Prints per fleet size:

- monitor CPU (% of one core, user + system) under load and idle (the per-node idle cost);
- a floor measured in the same run: the generator's own CPU, the whole machine's busy CPU
  (% of all cores, every process: other jobs show here) and the load average, so a noisy
  shared machine can be told from a slow monitor;
- RSS of the monitor at the end of the load;
- whether every operation was stored (events in SQLite == operations written);
- whether ``stats_update`` was on time: the largest gap between two pushes (interval 2 s)
  and how long after the last write the pushed ``received`` counted every operation.

``--src DIR`` runs the monitor from another checkout's ``src`` (PYTHONPATH), to measure the
code before a change under the same conditions. Asserts nothing.

    python bench/bench_fleet.py [--nodes 1,10,50,100] [--rate 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sqlite3
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

SLICE = 0.05  # seconds between appends of the generator
PUSH_INTERVAL = 2.0  # STATS_PUSH_INTERVAL's default


def generate(folder: Path, nodes: int, rate: float, seconds: float) -> None:
    """The generator process: ``rate`` operations/s to each node's log; prints the count."""
    gen = LogGenerator(seed=1, dialect="mixed")
    actions = ["GET"] * 70 + ["PUT"] * 20 + ["GET_AUDIT"] * 5 + ["GET_REPAIR"] * 5
    files = [open(folder / f"node{i}.log", "a", encoding="utf-8") for i in range(nodes)]  # noqa: SIM115
    written = [0] * nodes
    start = time.monotonic()
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            now = time.time()
            for i, f in enumerate(files):
                due = int(elapsed * rate) - written[i]
                if due <= 0:
                    continue
                lines: list[str] = []
                for k in range(due):
                    n = written[i] + k
                    lines += gen.transfer(actions[n % len(actions)], "success", at=now - 0.3, latency=0.3)  # fmt: skip
                f.write("".join(line + "\n" for line in lines))
                f.flush()
                written[i] += due
            time.sleep(max(0.0, SLICE - (time.monotonic() - start - elapsed)))
    finally:
        for f in files:
            f.close()
    print(json.dumps({"written": sum(written)}))


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def count_events(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return -1
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    except sqlite3.Error:
        return -1
    finally:
        conn.close()


async def run_fleet(nodes: int, args: argparse.Namespace) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="bench_fleet_") as tmp:
        folder = Path(tmp)
        for i in range(nodes):
            (folder / f"node{i}.log").write_text("")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        db = folder / "bench.db"
        cmd = [sys.executable, "-m", "storj_monitor", "--db", str(db), "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "WARNING"]  # fmt: skip
        for i in range(nodes):
            cmd += ["--node", f"N{i}:{folder / f'node{i}.log'}"]
        env = dict(os.environ)
        if args.src:
            env["PYTHONPATH"] = args.src
        err_path = folder / "monitor.err"
        with err_path.open("w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            try:
                await wait_ready(base, timeout=120)
            except RuntimeError:
                print(err_path.read_text()[-3000:], file=sys.stderr)
                raise
            ps = psutil.Process(proc.pid)
            async with aiohttp.ClientSession() as session:
                clients = [Client() for _ in range(args.clients)]
                readies = [asyncio.Event() for _ in clients]
                url = base.replace("http", "ws") + "/ws"
                tasks = [asyncio.create_task(c.run(session, url, r)) for c, r in zip(clients, readies, strict=True)]  # fmt: skip
                await asyncio.gather(*(r.wait() for r in readies))
                await asyncio.sleep(3)  # start-up work (first reads, first polls) settles
                c0, t0 = cpu_seconds(ps), time.monotonic()
                await asyncio.sleep(5)
                idle = (cpu_seconds(ps) - c0) / (time.monotonic() - t0) * 100

                gen = subprocess.Popen(
                    [sys.executable, __file__, "--generate", str(folder), "--nodes", str(nodes),
                     "--rate", str(args.rate), "--seconds", str(args.seconds)],
                    stdout=subprocess.PIPE, text=True,
                )  # fmt: skip
                gps = psutil.Process(gen.pid)
                await asyncio.sleep(1.0)  # measure the steady state, not the start
                psutil.cpu_percent(None)
                load0 = os.getloadavg()[0]
                c0, g0, t0 = cpu_seconds(ps), cpu_seconds(gps), time.monotonic()
                w0 = time.time()
                await asyncio.sleep(args.seconds - 2.0)
                c1, g1, t1 = cpu_seconds(ps), cpu_seconds(gps), time.monotonic()
                w1 = time.time()
                machine = psutil.cpu_percent(None)
                load1 = os.getloadavg()[0]
                rss = ps.memory_info().rss
                out, _ = await asyncio.to_thread(gen.communicate)
                end_write = time.time()
                written = json.loads(out.strip().splitlines()[-1])["written"]
                deadline = time.monotonic() + 60
                stored = count_events(db)
                while stored < written and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    stored = count_events(db)
                seen_at = float("nan")
                for _ in range(40):  # the push that counts everything (0.25 s steps)
                    hits = [t for c in clients for t, n in c.updates if n >= written]
                    if hits:
                        seen_at = min(hits) - end_write
                        break
                    await asyncio.sleep(0.25)
                gaps = []
                for c in clients:
                    times = [t for t, _ in c.updates if w0 <= t <= w1]
                    gaps += [b - a for a, b in itertools.pairwise(times)]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    span = t1 - t0
    return {
        "nodes": nodes,
        "ops_s": written / args.seconds,
        "cpu": (c1 - c0) / span * 100,
        "idle": idle,
        "gen": (g1 - g0) / span * 100,
        "machine": machine,
        "load": f"{load0:.1f}-{load1:.1f}",
        "rss": rss / 2**20,
        "stored": f"{stored}/{written}",
        "gap": max(gaps) if gaps else float("nan"),
        "gap_mean": statistics.mean(gaps) if gaps else float("nan"),
        "seen": seen_at,
    }


async def main(args: argparse.Namespace) -> int:
    sizes = [int(n) for n in args.nodes.split(",")]
    print(f"{os.cpu_count()} CPUs; {args.rate:g} ops/s per node for {args.seconds:g} s; "
          f"{args.clients} WebSocket clients; monitor from {args.src or 'this checkout'}")  # fmt: skip
    print("| nodes | ops/s | monitor CPU % (load) | monitor CPU % (idle) | generator CPU % | "
          "machine busy % of all cores | load avg | RSS MiB | events stored | "
          "max / mean gap between stats_update s | all counted after last write s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        r = await run_fleet(n, args)
        print(f"| {r['nodes']} | {r['ops_s']:.0f} | {r['cpu']:.1f} | {r['idle']:.1f} | "
              f"{r['gen']:.1f} | {r['machine']:.0f} | {r['load']} | {r['rss']:.0f} | "
              f"{r['stored']} | {r['gap']:.2f} / {r['gap_mean']:.2f} | {r['seen']:.2f} |",
              flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", default="1,10,50,100", help="comma-separated fleet sizes")
    ap.add_argument("--rate", type=float, default=20.0, help="piece operations/s per node")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the load phase")
    ap.add_argument("--clients", type=int, default=2, help="WebSocket clients")
    ap.add_argument("--src", default="", help="run the monitor from this src folder")
    ap.add_argument("--generate", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(Path(args.generate), int(args.nodes), args.rate, args.seconds)
        raise SystemExit(0)
    raise SystemExit(asyncio.run(main(args)))
