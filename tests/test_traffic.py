"""Traffic analytics (pure) and traffic queries (real SQLite in tmp_path)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.traffic import (
    SIZE_BUCKET_EDGES,
    iso_utc,
    series_step,
    size_bucket_index,
    size_bucket_labels,
    summarize_cities,
    summarize_countries,
    summarize_sizes,
    summarize_traffic,
    traffic_series,
)
from storj_monitor.model import Event
from storj_monitor.store.database import Store
from storj_monitor.store.events import insert_events
from storj_monitor.store.traffic import (
    details_start,
    get_geo_stats,
    get_traffic_stats,
    rollup_segments,
)

SAT_A = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
SAT_B = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"
NOW = 1_736_000_000.0  # 2025-01-04T14:13:20Z


def test_summarize_traffic_counts_rates_bandwidth_and_errors() -> None:
    rows = [
        (SAT_A, "GET", "success", "", 90, 90_000),
        (SAT_A, "GET", "failed", "file does not exist", 5, 5_000),
        (SAT_A, "GET", "canceled", "context canceled", 5, 5_000),
        (SAT_B, "PUT", "success", "", 40, 400_000),
        (SAT_B, "PUT", "canceled", "context canceled", 10, 100_000),
        (SAT_B, "GET_AUDIT", "success", "", 3, 768),
        (SAT_A, "GET_REPAIR", "success", "", 2, 2_000),
        (SAT_A, "PUT_REPAIR", "failed", "timeout", 1, 10),
        (SAT_A, "DELETE", "success", "", 7, 0),
    ]
    out = summarize_traffic(rows)
    get = out["operations"]["get"]
    assert get == {"success": 90, "failed": 5, "canceled": 5, "total": 100, "success_rate": 90.0}
    assert out["operations"]["put"]["success_rate"] == 80.0
    assert out["operations"]["audit"] == {
        "success": 3,
        "failed": 0,
        "canceled": 0,
        "total": 3,
        "success_rate": 100.0,
    }
    assert out["operations"]["repair"]["total"] == 3
    assert out["operations"]["other"]["total"] == 7
    # Only successful transfers move bytes; audits and repair downloads are egress.
    assert out["bandwidth"] == {"egress_bytes": 90_000 + 768 + 2_000, "ingress_bytes": 400_000}
    assert out["errors"] == [
        {"category": "context canceled", "count": 15},
        {"category": "file does not exist", "count": 5},
        {"category": "timeout", "count": 1},
    ]
    assert out["total_operations"] == 100 + 50 + 3 + 3 + 7
    assert [s["satellite_id"] for s in out["satellites"]] == [SAT_A, SAT_B]
    sat_b = out["satellites"][1]
    assert sat_b["ingress_bytes"] == 400_000
    assert sat_b["operations"]["put"]["success_rate"] == 80.0
    assert sat_b["total"] == 53


def test_summarize_traffic_empty_has_no_rates() -> None:
    out = summarize_traffic([])
    assert out["operations"]["get"]["success_rate"] is None
    assert out["total_operations"] == 0
    assert out["satellites"] == [] and out["errors"] == []


@pytest.mark.parametrize(
    ("size", "index"),
    [(0, 0), (1023, 0), (1024, 1), (4095, 1), (4096, 2), (2_319_872, 6), (4 << 20, 7)],
)
def test_size_bucket_index(size: int, index: int) -> None:
    assert size_bucket_index(size) == index


@given(st.integers(min_value=0, max_value=1 << 40))
def test_size_bucket_index_respects_edges(size: int) -> None:
    i = size_bucket_index(size)
    edges = (0, *SIZE_BUCKET_EDGES, 1 << 62)
    assert edges[i] <= size < edges[i + 1]


def test_size_labels_and_summary() -> None:
    labels = size_bucket_labels()
    assert labels[0] == "< 1 KiB" and labels[-1] == ">= 4 MiB" and len(labels) == 8
    out = summarize_sizes([("GET", 0, 4), ("PUT", 7, 2), ("GET_AUDIT", 0, 1)])
    assert out[0] == {
        "bucket": "< 1 KiB",
        "get": 4,
        "put": 0,
        "audit": 1,
        "repair": 0,
        "other": 0,
    }
    assert out[7]["put"] == 2


def test_traffic_series_fills_gaps() -> None:
    points = traffic_series(
        [(120, "GET", "success", 3, 300), (60, "PUT", "failed", 1, 5)],
        start=50,
        end=200,
        step=60,
    )
    assert [p["timestamp"] for p in points] == [
        "1970-01-01T00:00:00Z",
        "1970-01-01T00:01:00Z",
        "1970-01-01T00:02:00Z",
        "1970-01-01T00:03:00Z",
    ]
    assert points[1]["put"] == 1 and points[1]["failed"] == 1 and points[1]["ingress_bytes"] == 0
    assert points[2]["get"] == 3 and points[2]["egress_bytes"] == 300
    assert points[3]["get"] == 0


@pytest.mark.parametrize(
    ("hours", "step"), [(1, 60), (6, 60), (24, 300), (168, 3600), (720, 3 * 3600)]
)
def test_series_step(hours: float, step: int) -> None:
    assert series_step(hours) == step


def test_summarize_countries_groups_unknown() -> None:
    table = {"1.1.1.1": "AU", "1.0.0.1": "AU", "81.2.69.142": "GB"}
    rows = [("1.1.1.1", 5, 50), ("1.0.0.1", 2, 20), ("81.2.69.142", 9, 9), ("10.0.0.1", 1, 1)]
    out = summarize_countries(rows, table.get)
    assert out == [
        {"country": "GB", "operations": 9, "bytes": 9, "addresses": 1},
        {"country": "AU", "operations": 7, "bytes": 70, "addresses": 2},
        {"country": None, "operations": 1, "bytes": 1, "addresses": 1},
    ]


def test_iso_utc() -> None:
    assert iso_utc(1736000000.7) == "2025-01-04T14:13:20Z"
    assert iso_utc(None) is None


# --- queries -------------------------------------------------------------------------


def _event(ts: float, action: str, status: str, size: int, **kw: object) -> Event:
    return Event(
        timestamp=ts,
        node_name=str(kw.get("node", "A")),
        action=action,
        status=status,  # type: ignore[arg-type]
        size=size,
        satellite_id=str(kw.get("sat", SAT_A)),
        piece_id=str(kw.get("piece", "P1")),
        remote_ip=str(kw.get("ip", "81.2.69.142")),
        error_category=kw.get("err"),  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    s = Store(tmp_path / "t.db").open()
    yield s
    s.close()


def _insert_events(store: Store, events: list[Event]) -> None:
    store.write_sync(lambda c: insert_events(c, events))


def test_traffic_stats_from_raw_events_when_no_rollups(store: Store) -> None:
    events = [
        _event(NOW - 100, "GET", "success", 2048, piece="P1"),
        _event(NOW - 90, "GET", "success", 2048, piece="P1"),
        _event(NOW - 80, "GET", "failed", 2048, piece="P2", err="file does not exist"),
        _event(NOW - 70, "PUT", "success", 1 << 20, sat=SAT_B, ip="1.1.1.1"),
        _event(NOW - 60, "GET", "success", 10, node="B"),
        _event(NOW - 7200, "GET", "success", 10),  # outside a 1 h window
    ]
    _insert_events(store, events)
    out = store.read_sync(lambda c: get_traffic_stats(c, ["A"], 1, NOW))
    assert out["operations"]["get"]["total"] == 3
    assert out["operations"]["get"]["success_rate"] == pytest.approx(66.67)
    assert out["bandwidth"] == {"egress_bytes": 4096, "ingress_bytes": 1 << 20}
    assert out["errors"] == [{"category": "file does not exist", "count": 1}]
    assert out["top_pieces"][0]["piece_id"] == "P1" and out["top_pieces"][0]["count"] == 2
    assert out["top_pieces"][0]["egress_bytes"] == 4096
    sizes = {b["bucket"]: b for b in out["size_buckets"]}
    assert sizes["1 KiB - 4 KiB"]["get"] == 2  # successful only
    assert sizes["1 MiB - 4 MiB"]["put"] == 1
    assert out["series"]["step_seconds"] == 60
    assert sum(p["get"] for p in out["series"]["points"]) == 3
    assert out["end"] == "2025-01-04T14:13:20Z"
    both = store.read_sync(lambda c: get_traffic_stats(c, ["A", "B"], 1, NOW))
    assert both["operations"]["get"]["total"] == 4
    day = store.read_sync(lambda c: get_traffic_stats(c, ["A"], 3, NOW))
    assert day["operations"]["get"]["total"] == 4


def _rollup(store: Store, rows: list[tuple[object, ...]], table: str = "rollups_minute") -> None:
    def write(conn):  # type: ignore[no-untyped-def]
        conn.executemany(
            f"INSERT INTO {table} (node_name, bucket_start, satellite_id, action, status, "
            "error_category, count, bytes, duration_count, duration_sum_ms) "
            "VALUES (?,?,?,?,?,?,?,?,0,0)",
            rows,
        )

    store.write_sync(write)


def _rollup_both(store: Store, ops: list[tuple[float, str, str, str, int, int]]) -> None:
    """Write (time, action, status, error_category, count, bytes) into both rollup tables,
    as the ingest writer does."""
    for table, size in (("rollups_minute", 60), ("rollups_hour", 3600)):
        merged: dict[tuple[object, ...], list[int]] = {}
        for ts, action, status, err, n, b in ops:
            key = ("A", (ts // size) * size, SAT_A, action, status, err)
            acc = merged.setdefault(key, [0, 0])
            acc[0] += n
            acc[1] += b
        _rollup(store, [(*k, n, b) for k, (n, b) in merged.items()], table)


def test_traffic_stats_prefers_rollups(store: Store) -> None:
    _rollup_both(
        store,
        [
            (NOW - 60, "GET", "success", "", 1000, 1_000_000),
            (NOW - 120, "GET", "canceled", "context canceled", 10, 0),
            (NOW - 7200, "GET", "success", "", 5, 5),  # outside 1 h
            (NOW - 30 * 3600, "PUT", "success", "", 7, 70),
            (NOW - 100 * 3600, "PUT", "success", "", 1, 1),
        ],
    )
    out = store.read_sync(lambda c: get_traffic_stats(c, ["A"], 1, NOW))
    assert out["operations"]["get"]["total"] == 1010
    assert out["errors"] == [{"category": "context canceled", "count": 10}]
    assert out["bandwidth"]["egress_bytes"] == 1_000_000
    assert sum(p["get"] for p in out["series"]["points"]) == 1010
    # minute edges and whole hours in between: nothing counted twice
    for hours, puts, step in ((3, 0, 60), (5, 0, 60), (72, 7, 900), (720, 8, 3 * 3600)):
        long = store.read_sync(lambda c, h=hours: get_traffic_stats(c, ["A"], h, NOW))
        assert long["operations"]["get"]["total"] == 1015, hours
        assert long["operations"]["put"]["total"] == puts, hours
        assert long["series"]["step_seconds"] == step
        assert sum(p["get"] + p["put"] for p in long["series"]["points"]) == 1015 + puts


@pytest.mark.parametrize("hours", [0.5, 3, 3.5, 24, 100, 720])
def test_rollup_segments_cover_the_window_once(hours: float) -> None:
    end = NOW + 17.3
    segs = rollup_segments(end - hours * 3600, end)
    assert segs[0][1] == ((end - hours * 3600) // 60) * 60
    assert segs[-1][2] > end
    for (_, _, e), (_, s, _) in itertools.pairwise(segs):
        assert e == s
    for table, s, e in segs:
        size = 3600 if table == "rollups_hour" else 60
        assert s % size == 0 and (e % size == 0 or e > end)


def test_geo_stats_by_country(store: Store) -> None:
    _insert_events(
        store,
        [
            _event(NOW - 10, "GET", "success", 100, ip="81.2.69.142"),
            _event(NOW - 10, "GET", "success", 100, ip="81.2.69.142"),
            _event(NOW - 10, "PUT", "success", 50, ip="1.1.1.1"),
            _event(NOW - 10, "PUT", "success", 50, ip="192.168.1.2"),
        ],
    )
    table = {"81.2.69.142": "GB", "1.1.1.1": "AU"}
    out = store.read_sync(lambda c: get_geo_stats(c, ["A"], 1, NOW, table.get))
    assert out["countries"][0] == {"country": "GB", "operations": 2, "bytes": 200, "addresses": 1}
    assert {c["country"] for c in out["countries"]} == {"GB", "AU", None}
    assert out["window_hours"] == 1
    assert out["cities"] is None
    places = {
        "81.2.69.142": {"city": "London", "country": "GB", "latitude": 51.5, "longitude": -0.1}
    }
    with_cities = store.read_sync(lambda c: get_geo_stats(c, ["A"], 1, NOW, table.get, places.get))
    assert with_cities["cities"] == [
        {"city": "London", "country": "GB", "latitude": 51.5, "longitude": -0.1,
         "operations": 2, "bytes": 200}
    ]  # fmt: skip


def test_details_cover_only_the_newest_operations_per_node(store: Store) -> None:
    _insert_events(store, [_event(NOW - 1000 + i, "GET", "success", 10) for i in range(100)])
    _insert_events(store, [_event(NOW - 50 + i, "GET", "success", 10, node="B") for i in range(5)])
    begin = store.read_sync(lambda c: details_start(c, ["A", "B"], NOW - 3600, NOW, 10))
    assert begin == NOW - 1000 + 89  # A's 11th newest: the 10 newest follow it
    assert store.read_sync(lambda c: details_start(c, ["B"], NOW - 3600, NOW, 10)) == NOW - 3600
    assert store.read_sync(lambda c: details_start(c, ["A"], NOW - 30 * 3600, NOW, 10**6)) == (
        NOW - 24 * 3600
    )
    out = store.read_sync(lambda c: get_traffic_stats(c, ["A", "B"], 1, NOW))
    assert out["details_start"] == "2025-01-04T13:13:20Z" and out["details_window_hours"] == 1


# --- the pure summaries, pinned -------------------------------------------------------------


def ops(success: int = 0, failed: int = 0, canceled: int = 0) -> dict:
    total = success + failed + canceled
    rate = round(success * 100.0 / total, 2) if total else None
    return {
        "success": success,
        "failed": failed,
        "canceled": canceled,
        "total": total,
        "success_rate": rate,
    }


def test_summarize_traffic_adds_up_repeated_rows_and_skips_unknown_statuses() -> None:
    rows = [
        (SAT_B, "GET", "weird", "x", 1000, 1000),  # an unknown status first: skipped, not the end
        (SAT_B, "GET", "success", "", 2, None),  # no size known: 0 bytes
        (SAT_B, "GET", "success", "", 3, 20),
        (SAT_B, "GET", "success", "", 0, 10),
        (SAT_B, "PUT", "success", "", 1, 7),
        (SAT_B, "PUT", "success", "", 1, 8),
        (None, "GET", "failed", "timeout", 2, 99),
        ("", "DELETE", "success", "", 4, 50),  # neither ingress nor egress
        (SAT_A, "GET", "failed", "b-error", 3, 0),
        (SAT_A, "GET", "failed", "a-error", 3, 0),
        (SAT_A, "GET", "failed", "0-rare", 0, 0),
        (SAT_A, "PUT_REPAIR", "success", "", 1, 11),
    ]
    out = summarize_traffic(rows)
    assert out["operations"] == {
        "get": ops(success=5, failed=8),
        "put": ops(success=2),
        "audit": ops(),
        "repair": ops(success=1),
        "other": ops(success=4),
    }
    assert out["bandwidth"] == {"ingress_bytes": 7 + 8 + 11, "egress_bytes": 30}
    assert out["satellites"][0]["egress_bytes"] == 30
    sat_b, sat_a, unknown = out["satellites"]  # A and B tie on 7: by id ("121R" < "12Ea")
    assert sat_a["satellite_id"] == SAT_A and sat_a["total"] == 7
    assert (sat_a["ingress_bytes"], sat_a["egress_bytes"]) == (11, 0)
    assert sat_b["satellite_id"] == SAT_B and sat_b["total"] == 7
    assert sat_b["operations"]["get"] == ops(success=5)
    assert (sat_b["ingress_bytes"], sat_b["egress_bytes"]) == (15, 30)
    assert unknown["satellite_id"] is None and unknown["total"] == 6  # None and "" together
    assert out["errors"] == [
        {"category": "a-error", "count": 3},
        {"category": "b-error", "count": 3},
        {"category": "timeout", "count": 2},
        {"category": "0-rare", "count": 0},
    ]
    assert out["total_operations"] == 20


def test_summarize_traffic_keeps_the_ten_most_frequent_errors() -> None:
    rows = [(SAT_A, "GET", "failed", f"e{i:02d}", 100 + i, 0) for i in range(12)]
    out = summarize_traffic(rows)
    assert [e["category"] for e in out["errors"]] == [f"e{i:02d}" for i in range(11, 1, -1)]
    assert len(summarize_traffic(rows, top_errors=3)["errors"]) == 3


def test_satellites_tie_on_total_sorted_by_id_unknown_first() -> None:
    rows = [(SAT_A, "GET", "success", "", 1, 0), (None, "GET", "success", "", 1, 0),
            (SAT_B, "GET", "success", "", 1, 0)]  # fmt: skip
    out = summarize_traffic(rows)
    assert [s["satellite_id"] for s in out["satellites"]] == [None, SAT_B, SAT_A]


def test_summarize_sizes_adds_up_and_clamps_indexes() -> None:
    out = summarize_sizes([("GET", 3, 2), ("GET", 3, 5), ("PUT", -4, 1), ("DELETE", 99, 6)])
    assert out[3]["get"] == 7
    assert out[0]["put"] == 1
    assert out[7]["other"] == 6
    assert sum(sum(v for k, v in p.items() if k != "bucket") for p in out) == 14


def test_traffic_series_edges_and_sums() -> None:
    rows = [
        (-30, "GET", "success", 100, 100),  # before the first bucket (skipped, not the end)
        (0, "GET", "success", 1, 10),  # the first bucket
        (0, "GET", "success", 2, None),
        (180, "PUT", "success", 1, 5),  # the last bucket
        (180, "PUT", "success", 1, 6),
        (180, "PUT", "success", 0, None),
        (180, "PUT", "failed", 1, 70),
        (180, "GET", "canceled", 2, 70),
        (60, "DELETE", "success", 3, 40),  # neither ingress nor egress
        (240, "GET", "success", 100, 100),  # after the last
    ]
    points = traffic_series(rows, start=0, end=180, step=60)
    assert len(points) == 4
    assert points[0] == {"timestamp": "1970-01-01T00:00:00Z", "get": 3, "put": 0, "audit": 0,
                         "repair": 0, "other": 0, "failed": 0, "ingress_bytes": 0,
                         "egress_bytes": 10}  # fmt: skip
    assert points[1]["other"] == 3 and points[1]["ingress_bytes"] == 0
    assert points[1]["egress_bytes"] == 0
    assert (points[3]["put"], points[3]["get"], points[3]["failed"]) == (2 + 1, 2, 3)
    assert points[3]["ingress_bytes"] == 11 and points[3]["egress_bytes"] == 0


def test_traffic_series_empty_when_the_window_is_inverted() -> None:
    assert traffic_series([], start=600, end=500, step=60) == []
    assert traffic_series([], start=600, end=590, step=60) == []
    assert len(traffic_series([], start=600, end=600, step=60)) == 1


@pytest.mark.parametrize(
    ("hours", "step"),
    [(6 + 1 / 60, 300), (30, 300), (30.1, 900), (90, 900), (360, 3600), (1080, 3 * 3600),
     (1080.5, 6 * 3600), (5000, 6 * 3600)],
)  # fmt: skip
def test_series_step_boundaries(hours: float, step: int) -> None:
    assert series_step(hours) == step


def test_summarize_countries_ties_and_missing_sizes() -> None:
    table = {"1.1.1.1": "ZA", "2.2.2.2": "DE", "3.3.3.3": "AU"}

    def lookup(ip: str) -> str | None:
        assert ip, "lookup is not asked about a missing address"
        return table.get(ip)

    rows = [("1.1.1.1", 2, None), ("3.3.3.3", 2, 1), ("2.2.2.2", 2, 500),
            (None, 1, 7), ("9.9.9.9", 1, 0)]  # fmt: skip
    out = summarize_countries(rows, lookup)
    assert [(c["country"], c["bytes"], c["addresses"]) for c in out] == [
        ("AU", 1, 1),
        ("DE", 500, 1),
        ("ZA", 0, 1),
        (None, 7, 2),
    ]


def test_summarize_cities_every_field_order_and_limit() -> None:
    places = {
        "1.1.1.1": {"city": "Zurich", "country": "CH", "latitude": 47.4, "longitude": 8.5},
        "2.2.2.2": {"city": "Aachen", "country": "DE", "latitude": 50.8, "longitude": 6.1},
        "3.3.3.3": {"city": None, "country": "US", "latitude": 37.8, "longitude": -97.8},
        "4.4.4.4": {"city": "Nowhere", "country": "XX", "latitude": 1.0, "longitude": None},
        "5.5.5.5": {"city": "Nowhere", "country": "XX", "latitude": None, "longitude": 1.0},
    }

    def lookup(ip: str) -> dict | None:
        assert ip, "lookup is not asked about a missing address"
        return places.get(ip)

    rows = [("1.1.1.1", 3, 4), ("1.1.1.1", 2, 10), ("2.2.2.2", 5, 1), ("3.3.3.3", 4, 2),
            ("4.4.4.4", 50, 0), ("5.5.5.5", 50, 0), ("9.9.9.9", 50, 0), (None, 50, 0)]  # fmt: skip
    out = summarize_cities(rows, lookup)
    assert out == [
        {"city": "Aachen", "country": "DE", "latitude": 50.8, "longitude": 6.1,
         "operations": 5, "bytes": 1},
        {"city": "Zurich", "country": "CH", "latitude": 47.4, "longitude": 8.5,
         "operations": 5, "bytes": 14},
        {"city": None, "country": "US", "latitude": 37.8, "longitude": -97.8,
         "operations": 4, "bytes": 2},
    ]  # fmt: skip
    many = {f"10.0.{i // 256}.{i % 256}": {"city": f"c{i}", "country": "DE", "latitude": i,
                                            "longitude": 0.0} for i in range(205)}  # fmt: skip
    rows = [(ip, 1, 0) for ip in many]
    assert len(summarize_cities(rows, many.get)) == 200
    assert len(summarize_cities(rows, many.get, limit=3)) == 3


def test_iso_utc_ignores_the_local_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "JST-9")  # a POSIX zone string: needs no tz database
    time.tzset()
    try:
        assert time.timezone == -9 * 3600
        assert iso_utc(1736000000.7) == "2025-01-04T14:13:20Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_summarize_cities_unnamed_city_sorts_last_on_a_tie_and_no_size_is_zero() -> None:
    places = {
        "1.1.1.1": {"city": None, "country": "US", "latitude": 37.8, "longitude": -97.8},
        "2.2.2.2": {"city": "Zwolle", "country": "NL", "latitude": 52.5, "longitude": 6.1},
    }
    rows = [("1.1.1.1", 2, None), ("2.2.2.2", 2, None)]
    out = summarize_cities(rows, places.get)
    assert [(c["city"], c["bytes"]) for c in out] == [("Zwolle", 0), (None, 0)]
