"""What grows with log time stays bounded: the parser's timestamp caches and the live window.

A live monitor sees one new second a second for as long as it runs. Whatever is keyed on
seconds must forget them: these tests run hours of log time (injected, never slept through)
and check the sizes all along, not only at the end (issue #15: RSS under steady load).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.piece_lines import TS_CACHE_MAX
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.logs.timestamps import HEAD_CACHE_MAX, HEAD_SECONDS, parse_timestamp
from storj_monitor.model import Event
from storj_monitor.services.bus import Bus
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats

START = 1_780_000_000.0  # 2026-05-28T20:26:40Z
HOURS = 3


def test_the_bounds_are_small() -> None:
    """An hour of seconds at most: one entry costs ~120 bytes (key, float, dict slot)."""
    assert TS_CACHE_MAX <= 3600 and HEAD_CACHE_MAX <= 3600 * 2


@pytest.mark.parametrize("ts", ["seconds", "millis"])
def test_timestamp_caches_stay_bounded_over_hours_of_live_log(ts: str) -> None:
    gen = LogGenerator(seed=3, dialect="mixed", ts=ts)  # type: ignore[arg-type]
    proc = LineProcessor("A", max_pending=1000, ttl_seconds=600)
    most_stamps = most_heads = events = 0
    seconds = HOURS * 3600
    for sec in range(seconds):  # one transfer a second, read ten seconds at a time
        at = START + sec
        if sec % 10 == 0:
            batch: list[str] = []
        batch += gen.transfer("GET", "success", at=at + 0.25, latency=0.5)
        if sec % 10 == 9:
            out = proc.process_rows(batch, arrival=at, now=at)
            events += len(out.rows)
            assert [row[0] for row in out.rows] == pytest.approx(
                [START + s + (0.75 if ts == "millis" else 0) for s in range(sec - 9, sec + 1)]
            )  # fmt: skip
            most_stamps = max(most_stamps, len(proc.parser.ts_cache))
            most_heads = max(most_heads, len(HEAD_SECONDS))
    assert events == seconds and proc.pairer.pending == 0
    assert most_stamps <= TS_CACHE_MAX
    assert most_heads <= HEAD_CACHE_MAX
    if ts == "seconds":
        assert most_stamps > TS_CACHE_MAX - 10  # it was used up to its bound (sampled every 10 s)


def test_a_cleared_head_cache_still_reads_every_stamp() -> None:
    """Twice the bound of distinct heads: every stamp still reads right after each clear."""
    for i in range(2 * HEAD_CACHE_MAX + 3):
        sec = START + 7 * i
        stamp = f"{_iso(sec)}.125Z"
        assert parse_timestamp(stamp) == sec + 0.125
        assert len(HEAD_SECONDS) <= HEAD_CACHE_MAX


def _iso(sec: float) -> str:
    return dt.datetime.fromtimestamp(sec, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_live_window_keeps_its_seconds_and_totals_bounded() -> None:
    window = 300
    clock = [START]
    live = LiveStats(Bus(), Hub(), ["A"], interval=2, clock=lambda: clock[0], window=window)
    keys = [("GET", "success"), ("PUT", "success"), ("GET", "canceled"), ("GET_AUDIT", "failed")]
    for sec in range(3 * window):
        now = clock[0] = START + sec
        events = [
            Event(now - 0.5, "A", action, status, 1000, f"SAT{sec % 3}", f"P{sec}-{i}", "1.2.3.4")  # type: ignore[arg-type]
            for i, (action, status) in enumerate(keys)
        ]  # fmt: skip
        live.on_events("A", events)
        if sec % 2 == 0:
            live.tick(now)
            w = live.nodes["A"]
            assert len(w.buckets) <= window
            assert min(w.buckets) >= int(now) - window + 1
            assert len(w.totals) <= 3 * len(keys)
            summed: Counter[tuple[str, str, str, str]] = Counter()
            for bucket in w.buckets.values():
                for key, (n, _b) in bucket.items():
                    summed[key] += n
            assert {k: v[0] for k, v in w.totals.items()} == dict(summed)  # no drift
    # the log stops: a window later nothing of it is left
    clock[0] = START + 4 * window
    live.tick()
    assert live.nodes["A"].buckets == {} and live.nodes["A"].totals == {}
    assert live.nodes["A"].received == 3 * window * len(keys)
