"""Parser and pairer throughput on generated storagenode lines (no I/O, no SQLite).

Generates N lines (default 1,000,000) with the seeded demo generator in chunks, and times,
chunk by chunk, (1) ``LineParser.parse`` alone and (2) parse + ``Pairer.feed``. Generation
time is excluded. Prints lines/s and µs/line for each, per dialect if asked; asserts nothing.

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


def timed(
    total: int, gen_kwargs: dict[str, object], step: Callable[[LineParser, list[str]], None]
) -> tuple[float, LineParser]:
    """Seconds spent in ``step`` over ``total`` generated lines (generation not counted)."""
    generator = LogGenerator(**gen_kwargs)  # type: ignore[arg-type]
    parser = LineParser("bench")
    elapsed = 0.0
    done = 0
    while done < total:
        lines = list(generator.lines(min(CHUNK, total - done)))
        start = time.perf_counter()
        step(parser, lines)
        elapsed += time.perf_counter() - start
        done += len(lines)
    return elapsed, parser


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
    print(f"generator:     {gen_rate:>10,.0f} lines/s")

    seconds, parser = timed(args.lines, gen_kwargs, parse_only)
    print(f"parse:         {args.lines / seconds:>10,.0f} lines/s  "
          f"({seconds / args.lines * 1e6:.2f} µs/line)")  # fmt: skip
    print(f"  piece lines {parser.piece_lines:,}, records {parser.records:,}, "
          f"ignored {parser.ignored:,}, unparseable {parser.unparseable:,}")  # fmt: skip

    pairer = Pairer("bench")
    seconds, _ = timed(args.lines, gen_kwargs, make_parse_and_pair(pairer))
    print(f"parse + pair:  {args.lines / seconds:>10,.0f} lines/s  "
          f"({seconds / args.lines * 1e6:.2f} µs/line)")  # fmt: skip
    print(f"  paired {pairer.paired:,}, unmatched {pairer.unmatched:,}, "
          f"pending {pairer.pending:,}, expired {pairer.expired:,}")  # fmt: skip
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS:      {peak_mb:>10,.0f} MB")


if __name__ == "__main__":
    main()
