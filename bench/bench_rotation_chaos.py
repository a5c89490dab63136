"""Chaos check of log rotation: every line written is stored exactly once?

A writer appends transfers to a node log and rotates it often (rename, copytruncate, rename +
gzip, at random, keeping every rotated file). The real monitor process reads it, locally or
through the forwarder behind a TCP proxy that drops the connection at random, and is killed
with SIGKILL at random and restarted. At the end the writer stops, the link stays up, and the
stored events are counted against the transfers written (one event per transfer).

    python bench/bench_rotation_chaos.py --transfers 15000 --via forwarder --seed 1

Prints written, stored, distinct, lost and duplicated. POSIX only (SIGKILL).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from loglines import transfer
from rotator import RotatedLog
from storj_monitor.logs.forwarder import Forwarder

TOKEN = "chaos"


class FlakyProxy:
    """127.0.0.1 TCP proxy to ``target`` that closes each connection after a random life."""

    def __init__(self, target: int, rng: random.Random, life: tuple[float, float]) -> None:
        self.target, self.rng, self.life = target, rng, life
        self.flaky = True
        self.drops = 0
        self._srv = socket.create_server(("127.0.0.1", 0))
        self._srv.settimeout(0.2)
        self.port = self._srv.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                a, _ = self._srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                a.close()
                continue
            deadline = time.monotonic() + self.rng.uniform(*self.life)
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pipe, args=(src, dst, deadline), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, deadline: float) -> None:
        src.settimeout(0.1)
        try:
            while not self._stop.is_set() and (not self.flaky or time.monotonic() < deadline):
                try:
                    data = src.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                dst.sendall(data)
            else:
                self.drops += 1
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._stop.set()
        self._srv.close()


def start_monitor(db: Path, source: str, tmp: Path) -> subprocess.Popen[bytes]:
    args = ["--no-serve", "--db", str(db), "--node", f"n1:{source}:http://127.0.0.1:9"]
    for setting in ("db_commit_interval=0.05", "log_poll_interval=0.02", "db_batch_size=200",
                    f"forwarder_token={TOKEN}"):  # fmt: skip
        args += ["--set", setting]
    with open(tmp / "monitor.err", "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "storj_monitor", *args, "--log-level", "ERROR"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip


def counts(db: Path) -> tuple[int, int]:
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT COUNT(*), COUNT(DISTINCT piece_id) FROM events").fetchone()
        return int(row[0]), int(row[1])
    except sqlite3.OperationalError:
        return 0, 0
    finally:
        conn.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--transfers", type=int, default=15_000, help="transfers written (2 lines each)")
    p.add_argument("--via", choices=["local", "forwarder"], default="forwarder")
    p.add_argument("--rotate-every", type=int, default=1500, help="transfers between rotations")
    p.add_argument("--rate", type=int, default=1000, help="transfers written per second")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    tmp = Path(tempfile.mkdtemp(prefix="rotation-chaos-"))
    base = time.time() - 86400  # recent enough for retention, one second per transfer
    log = RotatedLog(tmp / "node.log", lambda i: transfer(i, base + i, dialect="old"))
    log.write(1)
    db = tmp / "s.db"
    fwd = proxy = None
    source = str(log.path)
    if a.via == "forwarder":
        fwd = Forwarder(str(log.path), TOKEN, "127.0.0.1", 0, poll_interval=0.02)
        fwd.start()
        proxy = FlakyProxy(fwd.port, rng, (0.1, 1.0))
        source = f"127.0.0.1:{proxy.port}"
    proc = start_monitor(db, source, tmp)
    while counts(db)[0] == 0:  # the monitor has seen the log once: later files continue it
        time.sleep(0.05)
    kills = rotations = 0
    started = time.monotonic()
    next_kill = time.monotonic() + rng.uniform(0.5, 2.0)
    try:
        while log.units < a.transfers:
            log.write(min(50, a.transfers - log.units))
            if log.units % a.rotate_every < 50:
                log.rotate(rng.choice(["rename", "copytruncate", "gzip"]))
                rotations += 1
                log.write(1)
            if time.monotonic() >= next_kill:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                kills += 1
                if rng.random() < 0.5:  # down for a while: rotations happen meanwhile
                    for _ in range(rng.randint(1, 3)):
                        log.write(50)
                        log.rotate(rng.choice(["rename", "copytruncate", "gzip"]))
                        rotations += 1
                    log.write(1)
                proc = start_monitor(db, source, tmp)
                next_kill = time.monotonic() + rng.uniform(0.5, 2.0)
            time.sleep(max(0.0, started + log.units / a.rate - time.monotonic()))
        if proxy is not None:
            proxy.flaky = False
        last, since = (-1, -1), time.monotonic()
        while time.monotonic() - since < 10 and counts(db)[1] < log.units:
            now = counts(db)
            if now != last:
                last, since = now, time.monotonic()
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        if proxy is not None:
            proxy.close()
        if fwd is not None:
            fwd.stop()
    stored, distinct = counts(db)
    written = log.units
    print(f"via {a.via}: {written} transfers written, {rotations} rotations, {kills} kill -9, "
          f"{proxy.drops if proxy else 0} dropped connections")  # fmt: skip
    print(f"stored {stored}, distinct {distinct}, lost {written - distinct} "
          f"({100 * (written - distinct) / written:.1f} %), duplicated {stored - distinct}")  # fmt: skip
    if stored == distinct == written:
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    print(f"(files kept in {tmp})")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
