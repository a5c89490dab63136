"""Live load: a log written at 200 piece operations/s for 60 s, 20 WebSocket clients connected.

Starts ``storj_monitor`` as a subprocess (its own database and log in a temporary directory,
port on 127.0.0.1, node API pointing at a closed local port), connects the clients, then appends
DEBUG start + INFO/ERROR finish lines for ``--rate`` operations per second in 50 ms slices.
Prints:

- the monitor's CPU (% of one core, user + system, over the load phase) and an idle baseline,
- its RSS: at the start of the load, peak, the mean of the first and last 10 s, and a
  timeline (SQLite's page caches grow with the database until full: 16 MiB for the writer,
  8 MiB for each of at most 4 read connections; the live window is bounded at 5 minutes;
  ``bench_soak.py`` runs longer and says whether RSS levels off),
- the delay from a line being written to its effect arriving in a ``stats_update``
  (``received`` reaching the count written), p50 / p95 / max over every operation and client,
- messages per client per second (coalescing: one per ``STATS_PUSH_INTERVAL``).

``--dashboard-requests 30`` makes each client also ask for its cards' data every 30 s, as the
dashboard does (traffic, latency, histogram, storage, alerts, map).

Asserts nothing.

    python bench/bench_load.py [--rate 200] [--seconds 60] [--clients 20]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from storj_monitor.demo.loggen import LogGenerator

SLICE = 0.05  # seconds between appends
DASHBOARD_REQUESTS = (
    {"type": "get_traffic_stats", "view": ["Aggregate"], "hours": 1},
    {"type": "get_latency_stats", "view": ["Aggregate"], "hours": 1},
    {"type": "get_latency_histogram", "view": ["Aggregate"], "hours": 1},
    {"type": "get_storage_data", "view": ["Aggregate"]},
    {"type": "get_alerts", "view": ["Aggregate"]},
    {"type": "get_geo_stats", "view": ["Aggregate"], "hours": 24},
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError("the monitor did not become ready")
            await asyncio.sleep(0.1)


class Client:
    """One WebSocket client recording (arrival time, received) of every stats_update."""

    def __init__(self) -> None:
        self.updates: list[tuple[float, int]] = []
        self.messages = 0

    async def run(
        self,
        session: aiohttp.ClientSession,
        url: str,
        ready: asyncio.Event,
        request_every: float = 0.0,
    ) -> None:
        async with session.ws_connect(url) as ws:
            ready.set()
            poller = (
                asyncio.create_task(self._requests(ws, request_every)) if request_every else None
            )
            try:
                await self._read(ws)
            finally:
                if poller is not None:
                    poller.cancel()

    async def _requests(self, ws: aiohttp.ClientWebSocketResponse, every: float) -> None:
        """What a dashboard tab asks for besides the push: its cards' data, every ``every`` s."""
        await asyncio.sleep(every * random.random())
        while True:
            for message in DASHBOARD_REQUESTS:
                await ws.send_json(message)
            await asyncio.sleep(every)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.time()
            self.messages += 1
            data = msg.json()
            if data.get("type") == "stats_update":
                self.updates.append((now, int(data["received"])))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="piece operations per second")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument(
        "--dashboard-requests",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="each client also requests traffic, latency, storage and alerts every SECONDS",
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        log_path = Path(tmp) / "node.log"
        log_path.write_text("")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable, "-m", "storj_monitor",
            "--node", f"Bench:{log_path}:http://127.0.0.1:9",
            "--db", str(Path(tmp) / "bench.db"),
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "WARNING",
        ]  # fmt: skip
        err_path = Path(tmp) / "monitor.err"
        with err_path.open("w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        try:
            try:
                await wait_ready(base)
            except RuntimeError:
                print(err_path.read_text()[-3000:], file=sys.stderr)
                raise
            ps = psutil.Process(proc.pid)
            gen = LogGenerator(seed=1, dialect="mixed")
            async with aiohttp.ClientSession() as session:
                clients = [Client() for _ in range(args.clients)]
                readies = [asyncio.Event() for _ in clients]
                tasks = [
                    asyncio.create_task(
                        c.run(
                            session, base.replace("http", "ws") + "/ws", r, args.dashboard_requests
                        )
                    )
                    for c, r in zip(clients, readies, strict=True)
                ]
                await asyncio.gather(*(r.wait() for r in readies))

                # idle baseline: 5 s with the clients connected and no log traffic
                c0, t0 = ps.cpu_times(), time.monotonic()
                await asyncio.sleep(5)
                c1, t1 = ps.cpu_times(), time.monotonic()
                idle_cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100

                writes: list[tuple[float, int]] = []  # (wall time written, operations so far)
                rss: list[tuple[float, int]] = []
                written = 0
                actions = (
                    ["GET"] * 70
                    + ["PUT"] * 20
                    + ["GET_AUDIT"] * 5
                    + ["GET_REPAIR"] * 3
                    + ["PUT_REPAIR"] * 2
                )
                statuses = ["success"] * 95 + ["canceled"] * 4 + ["failed"]
                cpu_start, start, wall_start = ps.cpu_times(), time.monotonic(), time.time()
                next_rss = start
                with log_path.open("a", encoding="utf-8") as f:
                    while (elapsed := time.monotonic() - start) < args.seconds:
                        due = int(elapsed * args.rate) - written
                        if due > 0:
                            now = time.time()
                            lines: list[str] = []
                            for i in range(due):
                                n = written + i
                                status = statuses[n % len(statuses)]
                                error = None if status == "success" else "context canceled"
                                lines += gen.transfer(
                                    actions[n % len(actions)], status, error,  # type: ignore[arg-type]
                                    at=now - 0.3, latency=0.3,
                                )  # fmt: skip
                            f.write("".join(line + "\n" for line in lines))
                            f.flush()
                            written += due
                            writes.append((time.time(), written))
                        if time.monotonic() >= next_rss:
                            rss.append((time.monotonic() - start, ps.memory_info().rss))
                            next_rss += 1.0
                        await asyncio.sleep(SLICE)
                cpu_end, end, wall_end = ps.cpu_times(), time.monotonic(), time.time()
                await asyncio.sleep(4)  # let the last updates arrive
                rss.append((time.monotonic() - start, ps.memory_info().rss))
                db_bytes = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    load_cpu = (cpu_end.user + cpu_end.system - cpu_start.user - cpu_start.system) / (end - start)
    delays: list[float] = []
    missing = 0
    for c in clients:
        times = [t for t, _ in c.updates]
        counts = [n for _, n in c.updates]
        # counts only grow; for each write find the first update that includes it
        for wrote_at, total in writes:
            i = bisect.bisect_left(counts, total)
            if i == len(counts):
                missing += 1
                continue
            delays.append(times[i] - wrote_at)  # an update counting it came after it
    msgs = [sum(wall_start <= t <= wall_end for t, _ in c.updates) / (end - start) for c in clients]
    peak = max(r for _, r in rss)
    first = statistics.mean(r for t, r in rss if t <= 10)
    last = statistics.mean(r for t, r in rss if t >= args.seconds - 10)
    mib = 1024 * 1024
    print(f"load: {written} operations ({written * 2} lines) in {end - start:.1f} s "
          f"= {written / (end - start):.0f} ops/s, {args.clients} WebSocket clients")  # fmt: skip
    print(f"monitor CPU: {load_cpu * 100:.1f} % of one core under load, {idle_cpu:.1f} % idle")
    print(f"monitor RSS: start {rss[0][1] / mib:.1f} MiB, peak {peak / mib:.1f} MiB, "
          f"first 10 s {first / mib:.1f} MiB, last 10 s {last / mib:.1f} MiB")  # fmt: skip
    print(f"write -> stats_update delay: p50 {percentile(delays, 50):.2f} s, "
          f"p95 {percentile(delays, 95):.2f} s, max {max(delays):.2f} s "
          f"({len(delays)} samples, {missing} never seen)")  # fmt: skip
    print(f"stats_update per client: {statistics.mean(msgs):.2f}/s (push interval 2 s)")
    every = max(10, int(args.seconds // 12))
    timeline = ", ".join(f"{t:.0f}s {r / mib:.0f}" for t, r in rss if int(t) % every == 0)
    print(f"RSS timeline (MiB): {timeline}; database {db_bytes / mib:.1f} MiB at the end")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(asyncio.run(main()))
