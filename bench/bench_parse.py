"""Parser and pairer throughput on generated storagenode lines (no I/O, no SQLite).

Generates N lines (default 1,000,000) with the seeded demo generator in chunks, and times,
chunk by chunk, (1) ``LineParser.parse`` alone, (2) parse + ``Pairer.feed`` and (3)
``LineProcessor.process_rows`` (the ingest path: its fast path for console piece lines, events
as row tuples). Generation time is excluded. Prints lines/s and µs/line (wall and CPU time) for each; asserts nothing.

    python bench/bench_parse.py [--lines N] [--dialect old|new|mixed] [--docker] [--no-debug]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import LineParser, PieceLine
from storj_monitor.logs.pipeline import LineProcessor

CHUNK = 100_000


def parse_only(parser: LineParser, lines: list[str]) -> None:
    parse = parser.parse
    for line in lines:
        parse(line)


def make_parse_and_pair(pairer: Pairer) -> Callable[[LineParser, list[str]], None]:
    def parse_and_pair(parser: LineParser, lines: list[str]) -> None:
        parse, feed = parser.parse, pairer.feed
        for line in lines:
            piece = parse(line)
            if type(piece) is PieceLine:
                feed(piece)

    return parse_and_pair


def make_process_rows(processor: LineProcessor) -> Callable[[LineParser, list[str]], None]:
    def process_rows(_parser: LineParser, lines: list[str]) -> None:
        processor.process_rows(lines)

    return process_rows


def timed(
    total: int, gen_kwargs: dict[str, object], step: Callable[[LineParser, list[str]], None]
) -> tuple[float, float, LineParser]:
    """Wall and CPU seconds spent in ``step`` over ``total`` generated lines (generation not
    counted). CPU time is the steadier figure on a shared machine."""
    generator = LogGenerator(**gen_kwargs)  # type: ignore[arg-type]
    parser = LineParser("bench")
    wall = cpu = 0.0
    done = 0
    while done < total:
        lines = list(generator.lines(min(CHUNK, total - done)))
        start, start_cpu = time.perf_counter(), time.process_time()
        step(parser, lines)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        done += len(lines)
    return wall, cpu, parser


def report(name: str, lines: int, wall: float, cpu: float) -> None:
    print(f"{name:<14} {lines / wall:>10,.0f} lines/s  ({wall / lines * 1e6:.2f} µs/line wall, "
          f"{cpu / lines * 1e6:.2f} µs/line CPU = {lines / cpu:,.0f} lines/s)")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--dialect", choices=["old", "new", "mixed"], default="mixed")
    ap.add_argument("--docker", action="store_true", help="docker json-file wrapped lines")
    ap.add_argument("--no-debug", action="store_true", help="INFO level: no start lines")
    args = ap.parse_args()
    gen_kwargs: dict[str, object] = {
        "seed": 0,
        "dialect": args.dialect,
        "docker": args.docker,
        "debug": not args.no_debug,
    }

    start = time.perf_counter()
    for _ in LogGenerator(**gen_kwargs).lines(min(args.lines, 200_000)):  # type: ignore[arg-type]
        pass
    gen_rate = min(args.lines, 200_000) / (time.perf_counter() - start)
    print(f"lines: {args.lines:,}  dialect: {args.dialect}  docker: {args.docker}  "
          f"debug: {not args.no_debug}")  # fmt: skip
    print(f"{'generator:':<14} {gen_rate:>10,.0f} lines/s")

    wall, cpu, parser = timed(args.lines, gen_kwargs, parse_only)
    report("parse:", args.lines, wall, cpu)
    print(f"  piece lines {parser.piece_lines:,}, records {parser.records:,}, "
          f"ignored {parser.ignored:,}, unparseable {parser.unparseable:,}")  # fmt: skip

    pairer = Pairer("bench")
    wall, cpu, _ = timed(args.lines, gen_kwargs, make_parse_and_pair(pairer))
    report("parse + pair:", args.lines, wall, cpu)
    print(f"  paired {pairer.paired:,}, unmatched {pairer.unmatched:,}, "
          f"pending {pairer.pending:,}, expired {pairer.expired:,}")  # fmt: skip
    processor = LineProcessor("bench", max_pending=200_000, ttl_seconds=3600.0)
    wall, cpu, _ = timed(args.lines, gen_kwargs, make_process_rows(processor))
    report("process_rows:", args.lines, wall, cpu)
    print(f"  rows {processor.pairer.paired + processor.pairer.unmatched:,}, "
          f"paired {processor.pairer.paired:,}, records {processor.parser.records:,}")  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak RSS:':<14} {peak_mb:>10,.0f} MB")


if __name__ == "__main__":
    main()
