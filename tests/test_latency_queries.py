"""Latency queries on real SQLite files: raw and rollup paths agree, windows, views, slow ops."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from storj_monitor.analytics import latency
from storj_monitor.model import Event, action_category
from storj_monitor.store import events as se
from storj_monitor.store import latency_queries as lq
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.schema import migrate

NOW = 1_767_600_000.0 + 5 * 3600 + 1234.5  # not on a minute boundary
ACTIONS = ("GET", "GET", "GET", "PUT", "GET_AUDIT", "GET_REPAIR", "PUT_REPAIR")


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = connect(tmp_path / "q.db")
    migrate(c)
    yield c
    c.close()


def make_events(n: int, seed: int, start: float, end: float, node: str = "My-Node") -> list[Event]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        has = rnd.random() < 0.9
        out.append(
            Event(
                timestamp=start + (end - start) * i / n,
                node_name=node,
                action=rnd.choice(ACTIONS),
                status=rnd.choice(("success", "success", "canceled")),  # type: ignore[arg-type]
                size=2_000_000,
                satellite_id="12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S",
                piece_id=f"{node}-{seed}-{i}",
                remote_ip="203.0.113.1",
                duration_ms=round(rnd.lognormvariate(6.0, 1.3), 3) if has else None,  # µs: stored
                duration_source=("precise" if rnd.random() < 0.7 else "log_seconds")
                if has
                else None,
            )
        )
    return out


def ingest(conn: sqlite3.Connection, events: list[Event], batch: int = 2000) -> None:
    """Through the ingest writer's transaction (events + rollups)."""
    for i in range(0, len(events), batch):
        transaction(conn, lambda c, b=events[i : i + batch]: se.write_batch(c, b, []))


def stats(conn: sqlite3.Connection, nodes: list[str], hours: float, **kw: float) -> dict:
    return lq.get_latency_stats(
        conn,
        nodes,
        hours,
        NOW,
        slow_threshold_ms=kw.get("threshold", 5000.0),
        slow_limit=int(kw.get("limit", 10)),
    )


def test_empty_database(conn: sqlite3.Connection) -> None:
    data = stats(conn, ["My-Node"], 1)
    assert data["total_operations"] == 0
    assert data["statistics"]["get"]["count"] == 0
    assert data["slow_operations"] == []
    h = lq.get_latency_histogram(conn, ["My-Node"], 1, 100, NOW)
    assert h["buckets"] == [] and h["total"] == 0


def test_raw_path_is_exact(conn: sqlite3.Connection) -> None:
    events = make_events(3000, 1, NOW - 7200, NOW)
    ingest(conn, events)
    data = stats(conn, ["My-Node"], 1)
    assert data["computed_from"] == "events"
    in_window = [e for e in events if e.timestamp >= NOW - 3600]
    assert data["statistics"] == latency.analyze_latency_data(in_window)
    assert data["total_operations"] == len(in_window)
    assert data["without_duration"] == sum(e.duration_ms is None for e in in_window)
    assert data["duration_source"]["precise"] == sum(
        e.duration_source == "precise" for e in in_window
    )
    assert data["slow_operations"] == latency.detect_slow_operations(in_window, 5000, 10)
    assert data["window_hours"] == 1 and data["nodes"] == ["My-Node"]
    assert data["resolution_ms"] == 1
    hist = lq.get_latency_histogram(conn, ["My-Node"], 1, 100, NOW)
    expected = latency.build_histogram([e.duration_ms for e in in_window], 100)
    assert hist["buckets"] == expected["buckets"]
    assert hist["total"] == expected["total"]


@pytest.mark.parametrize("hours", [1.0, 2.5, 4.0, 24.0])
def test_rollup_path_within_one_percent_of_raw(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch, hours: float
) -> None:
    # events cover whole minutes of the window so the minute-aligned rollup window matches
    start = (NOW - hours * 3600) // 60 * 60
    events = make_events(6000, 2, start, NOW)
    ingest(conn, events)
    # the raw path over the same minute-aligned window the rollups cover
    monkeypatch.setattr(lq, "RAW_SCAN_MAX", 10**9)
    exact = stats(conn, ["My-Node"], (NOW - start) / 3600)
    assert exact["computed_from"] == "events"
    monkeypatch.setattr(lq, "RAW_SCAN_MAX", 0)
    approx = stats(conn, ["My-Node"], hours)
    assert approx["computed_from"] == "rollups"
    for cat in latency.STAT_CATEGORIES:
        e, a = exact["statistics"][cat], approx["statistics"][cat]
        assert a["count"] == e["count"] > 0
        assert a["min"] == e["min"] and a["max"] == e["max"]
        assert a["mean"] == pytest.approx(e["mean"], abs=0.02)
        for key in ("p50", "p95", "p99", "median"):
            assert abs(a[key] - e[key]) <= 0.01 * e[key] + 0.011, (cat, key)
    for key in ("total_operations", "without_duration", "duration_source", "resolution_ms"):
        assert approx[key] == exact[key]
    assert approx["slow_operations"] == exact["slow_operations"]
    assert len(approx["slow_operations"]) == 10
    h = lq.get_latency_histogram(conn, ["My-Node"], hours, 250, NOW)
    assert h["computed_from"] == "rollups"
    assert h["total"] == exact["statistics"]["all"]["count"]
    assert sum(b["count"] for b in h["buckets"]) == h["total"]


def test_rollup_percentiles_against_numpy(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = make_events(20_000, 3, NOW - 24 * 3600, NOW)
    ingest(conn, events, batch=5000)
    monkeypatch.setattr(lq, "RAW_SCAN_MAX", 0)
    data = stats(conn, [], 24)
    values = np.array(
        [e.duration_ms for e in events if e.duration_ms is not None and e.action == "GET"]
    )
    for p in (50, 95, 99):
        exact = float(np.percentile(values, p, method="inverted_cdf"))
        assert data["statistics"]["get"][f"p{p}"] == pytest.approx(exact, rel=0.01)


def test_aggregate_view_and_node_filter(conn: sqlite3.Connection) -> None:
    ingest(conn, make_events(500, 4, NOW - 3000, NOW, node="A"))
    ingest(conn, make_events(300, 5, NOW - 3000, NOW, node="B"))
    a = stats(conn, ["A"], 1)
    both = stats(conn, ["Aggregate"], 1)
    also_both = stats(conn, [], 1)
    assert a["total_operations"] == 500
    assert both["total_operations"] == also_both["total_operations"] == 800
    assert both["nodes"] == ["A", "B"]
    assert stats(conn, ["A", "B"], 1)["statistics"] == both["statistics"]
    assert stats(conn, ["nobody"], 1)["total_operations"] == 0


def test_window_excludes_older_events(conn: sqlite3.Connection) -> None:
    ingest(conn, make_events(100, 6, NOW - 10 * 3600, NOW - 5 * 3600))
    ingest(conn, make_events(100, 7, NOW - 1800, NOW))
    assert stats(conn, ["My-Node"], 1)["total_operations"] == 100
    assert stats(conn, ["My-Node"], 24)["total_operations"] == 200


def test_slow_operations_thresholds_and_limit(conn: sqlite3.Connection) -> None:
    events = make_events(200, 8, NOW - 600, NOW)
    for e, d in zip(events[:5], (4000.0, 5000.0, 5000.5, 90_000.0, 12_000.0), strict=True):
        e.duration_ms = d
    for e in events[5:]:
        e.duration_ms = 10.0 if e.duration_ms is not None else None
    ingest(conn, events)
    slow = stats(conn, ["My-Node"], 1, threshold=5000, limit=10)["slow_operations"]
    assert [s["duration_ms"] for s in slow] == [90_000.0, 12_000.0, 5000.5]
    assert slow[0]["piece_id"] == events[3].piece_id
    assert slow[0]["timestamp"].endswith("Z")
    slow = stats(conn, ["My-Node"], 1, threshold=100, limit=2)["slow_operations"]
    assert [s["duration_ms"] for s in slow] == [90_000.0, 12_000.0]


def test_slow_operations_from_rollup_path_use_cutoff(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_events(2000, 9, NOW - 20 * 3600, NOW - 10 * 3600)
    for e in old:
        e.duration_ms = 60_000.0  # slower than anything in the window, but outside it
    recent = make_events(2000, 10, NOW - 3600, NOW)
    ingest(conn, old + recent)
    monkeypatch.setattr(lq, "RAW_SCAN_MAX", 0)
    got = stats(conn, ["My-Node"], 1, threshold=1000, limit=5)["slow_operations"]
    in_window = [e for e in recent if e.timestamp >= NOW - 3600]
    assert got == latency.detect_slow_operations(in_window, 1000, 5)
    got = stats(conn, ["My-Node"], 1, threshold=1e9, limit=5)["slow_operations"]
    assert got == []


def test_log_seconds_resolution_and_without_duration(conn: sqlite3.Connection) -> None:
    events = make_events(100, 11, NOW - 600, NOW)
    for e in events:
        if e.duration_ms is not None:
            e.duration_ms = float(round(e.duration_ms / 1000) * 1000)
            e.duration_source = "log_seconds"
    events[0].duration_ms = events[0].duration_source = None
    ingest(conn, events)
    data = stats(conn, ["My-Node"], 1)
    assert data["resolution_ms"] == 1000
    assert data["duration_source"]["log_seconds"] == sum(e.duration_ms is not None for e in events)
    assert data["without_duration"] == sum(e.duration_ms is None for e in events)


def test_rollups_used_when_raw_events_were_pruned(conn: sqlite3.Connection) -> None:
    ingest(conn, make_events(300, 12, NOW - 20 * 3600, NOW))
    transaction(conn, lambda c: se.delete_events_before(c, NOW - 3600))
    data = stats(conn, ["My-Node"], 24)
    assert data["computed_from"] == "rollups"
    assert data["total_operations"] == 300


def test_histogram_rejects_bad_bucket(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError):
        lq.get_latency_histogram(conn, [], 1, 0, NOW)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (NOW - 3600, NOW, [("rollups_minute", (NOW - 3600) // 60 * 60, NOW)]),
        (
            7200.0 + 1830,
            7200.0 * 5 + 100,
            [
                ("rollups_minute", 9000.0, 10800.0),
                ("rollups_hour", 10800.0, 36000.0),
                ("rollups_minute", 36000.0, 36100.0),
            ],
        ),
        (
            7200.0,
            7200.0 * 5,
            [("rollups_hour", 7200.0, 36000.0)],
        ),
    ],
)
def test_rollup_segments(start: float, end: float, expected: list) -> None:
    assert lq.rollup_segments(start, end) == expected


def test_raw_path_when_the_node_started_inside_the_window(conn: sqlite3.Connection) -> None:
    ingest(conn, make_events(100, 13, NOW - 600, NOW))  # a new node: 10 minutes of data
    assert stats(conn, ["My-Node"], 1)["computed_from"] == "events"
    assert lq.get_latency_histogram(conn, ["My-Node"], 24, 100, NOW)["computed_from"] == "events"


def test_slow_operations_without_the_partial_index(conn: sqlite3.Connection) -> None:
    events = make_events(300, 14, NOW - 600, NOW)
    events[7].duration_ms = 70_000.0
    ingest(conn, events)
    conn.execute("DROP INDEX idx_piece_ops_slow")  # an import killed before building it
    slow = stats(conn, ["My-Node"], 1, threshold=5000, limit=1)["slow_operations"]
    assert [s["piece_id"] for s in slow] == [events[7].piece_id]


def test_slow_operation_lookup_walks_only_the_top_of_the_index(conn: sqlite3.Connection) -> None:
    """The index walk starts at the cutoff, not at 1 s (counted in SQLite VM steps)."""
    events = make_events(20_000, 15, NOW - 20 * 3600, NOW)
    for i, e in enumerate(events):
        e.duration_ms = 1000.0 + (i % 5000)  # 20,000 entries in the partial index
    events[-1].duration_ms = 90_000.0
    ingest(conn, events, batch=5000)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn.set_progress_handler(count, 100)
    rows = lq._slow_rows(conn, ["My-Node"], NOW - 3600, NOW, 5000.0, 80_000.0, 10)
    conn.set_progress_handler(None, 0)
    assert [r[2] for r in rows] == [90_000.0]
    assert steps < 20  # < 2,000 VM instructions; walking from 1 s would take > 200,000


def test_hourly_percentiles_baseline(conn: sqlite3.Connection) -> None:
    start = (NOW // 3600 - 30) * 3600
    events = make_events(30 * 60, 16, start, start + 30 * 3600)  # 60 per hour
    ingest(conn, events)
    got = lq.hourly_percentiles(conn, ["My-Node"], start, start + 30 * 3600, 0.95, min_count=5)
    for cat in ("get", "put"):
        expected = []
        for h in range(30):
            lo, hi = start + h * 3600, start + (h + 1) * 3600
            vals = [
                e.duration_ms
                for e in events
                if lo <= e.timestamp < hi
                and e.duration_ms is not None
                and action_category(e.action) == cat
            ]
            if len(vals) >= 5:
                expected.append(latency.calculate_percentiles(vals, [95])["p95"])
        assert len(got[cat]) == len(expected) > 0
        for a, e in zip(got[cat], expected, strict=True):
            assert a == pytest.approx(e, rel=0.01)
    assert lq.hourly_percentiles(conn, ["nobody"], start, NOW) == {}


def test_log_millis_durations_have_millisecond_resolution(
    conn: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Durations from millisecond log stamps are labelled as such, not as whole seconds."""
    events = make_events(300, 12, NOW - 600, NOW)
    for e in events:
        if e.duration_ms is not None:
            e.duration_source = "log_millis"
    ingest(conn, events)
    measured = sum(e.duration_ms is not None for e in events)
    for raw_max, computed_from in ((10**9, "events"), (0, "rollups")):
        monkeypatch.setattr(lq, "RAW_SCAN_MAX", raw_max)
        data = stats(conn, ["My-Node"], 1)
        assert data["computed_from"] == computed_from
        assert data["duration_source"]["log_millis"] == measured
        assert data["duration_source"]["log_seconds"] == 0
        assert data["resolution_ms"] == 1
