"""What reading a compressed log costs an ``--ingest-log``: the same generated log imported
plain and as ``.gz``/``.bz2``/``.xz`` (each into a fresh database), and the check pass alone
(a compressed file is read through once before anything of it is stored). Prints figures;
asserts nothing.

    python bench/bench_compressed.py [--lines N] [--formats gz,bz2,xz]
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import generate
from storj_monitor.logs.compressed import open_log_stream
from storj_monitor.services.history import import_log
from storj_monitor.settings import defaults

OPEN = {"gz": gzip.open, "bz2": bz2.open, "xz": lzma.open}


def _import(log: Path, db: Path) -> float:
    for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        stale.unlink(missing_ok=True)
    s = defaults()
    t0 = time.perf_counter()
    import_log(str(db), "bench", str(log), max_pending=s.pairing_max_pending,
               ttl_seconds=s.pairing_ttl_seconds)  # fmt: skip
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=300_000)
    p.add_argument("--formats", default="gz,bz2,xz")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain, db = folder / "node.log", folder / "bench.db"
        generate(plain, args.lines)
        size = plain.stat().st_size
        print(f"{args.lines:,} lines, {size / 1e6:.0f} MB")
        wall = _import(plain, db)
        print(f"plain   import {wall:6.2f} s ({args.lines / wall:,.0f} lines/s)")
        for fmt in args.formats.split(","):
            packed = folder / f"node.log.1.{fmt}"
            with open(plain, "rb") as src, OPEN[fmt](packed, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            t0 = time.perf_counter()
            open_log_stream(str(packed)).close()  # the check pass (and the first 1 KiB)
            check = time.perf_counter() - t0
            wall = _import(packed, db)
            print(f"{fmt:<7} import {wall:6.2f} s ({args.lines / wall:,.0f} lines/s), "
                  f"of which the check pass {check:.2f} s ({size / 1e6 / check:,.0f} MB/s), "
                  f"file {packed.stat().st_size / 1e6:.1f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
