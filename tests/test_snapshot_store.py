"""store.snapshots: rows in, seed payloads out (real SQLite in tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storj_monitor.model import SatelliteScore, StorageSnapshot
from storj_monitor.settings import defaults
from storj_monitor.store import snapshots as qs
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.presentation import reputation_payload, reputation_stale_after


def reputation(read, names: list[str], now: float, settings) -> list[dict]:  # type: ignore[no-untyped-def]
    """The ``reputation_data`` payload: the store's rows shaped by web/presentation.py."""
    rows = read(lambda c: qs.reputation_rows(c, names))
    return reputation_payload(
        rows, thresholds_from(settings), now, stale_after=reputation_stale_after(settings)
    )


T0 = 1_736_000_000.0  # 2025-01-04T14:13:20Z
DAY = 86400.0
S = defaults()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "s.db").open()
    yield s
    s.close()


def snap(
    ts: float, used: int, node: str = "My-Node", total: int = 2_000_000_000_000
) -> StorageSnapshot:
    free = total - used
    return StorageSnapshot(
        ts, node, total, used, free, 50_000_000_000,
        used * 100 / total, 2.5, free * 100 / total,
    )  # fmt: skip


def test_storage_data_is_the_seed_shape(store: Store) -> None:
    for i in range(48):  # two days, hourly, 10 GB/day
        store.write_sync(
            lambda c, i=i: qs.insert_storage_snapshot(
                c, snap(T0 + i * 3600, int(1.5e12 + 10e9 * i / 24))
            )
        )
    now = T0 + 47 * 3600 + 60
    (d,) = store.read_sync(lambda c: qs.get_storage_data(c, ["My-Node", "Other"], now, S))
    assert d["node_name"] == "My-Node" and d["timestamp"] == "2025-01-06T13:13:20Z"
    assert d["total_bytes"] == 2_000_000_000_000 and d["trash_bytes"] == 50_000_000_000
    assert d["used_percent"] == pytest.approx(75.98, abs=0.01) and d["trash_percent"] == 2.5
    assert d["source"] == "api" and d["stale"] is False
    assert d["forecast_status"] == "filling" and d["forecast_method"] == "theil-sen"
    assert d["growth_rate_bytes_per_day"] == pytest.approx(10e9, rel=1e-6)
    assert d["data_points"] == 48
    assert d["days_until_full"] == pytest.approx(d["available_bytes"] / 10e9, rel=1e-3)
    later = store.read_sync(lambda c: qs.get_storage_data(c, ["My-Node"], now + 3 * 3600, S))
    assert later[0]["stale"] is True


def test_storage_history(store: Store) -> None:
    for i in range(10):
        store.write_sync(
            lambda c, i=i: qs.insert_storage_snapshot(c, snap(T0 + i * DAY, int(1e12 + i * 1e10)))
        )
    h = store.read_sync(lambda c: qs.get_storage_history(c, "My-Node", 7, T0 + 9 * DAY, S))
    assert set(h) == {"node_name", "days", "snapshots", "forecast"}
    assert h["node_name"] == "My-Node" and h["days"] == 7
    assert len(h["snapshots"]) == 8  # days 2..9 inclusive
    assert h["snapshots"][0]["timestamp"] == "2025-01-06T14:13:20Z"
    assert h["forecast"]["status"] == "filling"
    assert store.read_sync(lambda c: qs.get_storage_history(c, "Nope", 7, T0, S))["snapshots"] == []


def test_reputation_data_latest_per_satellite(store: Store) -> None:
    def score(ts: float, sat: str, audit: float, **kw: object) -> SatelliteScore:
        return SatelliteScore(ts, "My-Node", sat, f"{sat}.example:7777", audit, 100.0, 99.0, **kw)  # type: ignore[arg-type]

    store.write_sync(
        lambda c: qs.insert_reputation(c, [score(T0, "a", 97.0), score(T0, "b", 100.0)])
    )
    store.write_sync(
        lambda c: qs.insert_reputation(
            c, [score(T0 + 300, "a", 99.0), score(T0 + 300, "b", 95.0, disqualified=True)]
        )
    )
    rows = reputation(store.read_sync, ["My-Node"], T0 + 600, S)
    by = {r["satellite_id"]: r for r in rows}
    assert (
        by["a"]["audit_score"] == 99.0
        and by["a"]["audit_status"] == "ok"
        and by["a"]["status"] == "ok"
    )
    assert by["a"]["failed_audits_until_disqualification"] == 30
    assert by["b"]["disqualified"] is True and by["b"]["status"] == "critical"
    assert by["b"]["failed_audits_until_disqualification"] == 0
    assert by["b"]["status_color"] == "#c62828"
    assert by["a"]["thresholds"]["audit"] == {
        "warning": 98.0,
        "critical": 96.5,
        "network_limit": 96.0,
    }
    assert by["a"]["timestamp"] == "2025-01-04T14:18:20Z" and by["a"]["stale"] is False


def test_node_info_upsert(store: Store) -> None:
    for version in ("1.160.3", "1.162.3"):
        store.write_sync(
            lambda c, v=version: qs.upsert_node_info(
                c,
                "My-Node",
                node_id="1Ve",
                wallet="0x9",
                version=v,
                api_url="http://x",
                updated_at=T0,
                raw="{}",
            )
        )
    rows = store.read_sync(
        lambda c: c.execute("SELECT node_name, version FROM node_info").fetchall()
    )
    assert rows == [("My-Node", "1.162.3")]


def test_forecast_uses_the_newest_source_only(store: Store) -> None:
    def write(i: int, source: str, free: float) -> None:
        s = StorageSnapshot(
            T0 + i * 3600, "My-Node", None, None, int(free), None, None, None, None, source
        )
        store.write_sync(lambda c: qs.insert_storage_snapshot(c, s))

    for i in range(12):  # API era: shrinking (not filling)
        write(i, "api", 1e12 + i * 5e9)
    for i in range(12, 24):  # then log samples, filling 24 GB/day
        write(i, "log", 9e11 - (i - 12) * 1e9)
    f = store.read_sync(lambda c: qs.node_forecast(c, "My-Node", T0 + 23 * 3600, S))
    assert f["status"] == "filling" and f["data_points"] == 12
    assert f["growth_rate_bytes_per_day"] == pytest.approx(24e9)


def test_forecast_cache_follows_new_rows(store: Store) -> None:
    for i in range(24):
        store.write_sync(
            lambda c, i=i: qs.insert_storage_snapshot(c, snap(T0 + i * 3600, int(1e12 + i * 1e9)))
        )
    now = T0 + 23 * 3600
    cache = qs.ForecastCache()
    first = store.read_sync(lambda c: qs.node_forecast(c, "My-Node", now, S, cache))
    again = store.read_sync(lambda c: qs.node_forecast(c, "My-Node", now, S, cache))
    assert again == first and again is not first and len(cache._items) == 1
    store.write_sync(lambda c: qs.insert_storage_snapshot(c, snap(now + 3600, int(1.5e12))))
    moved = store.read_sync(lambda c: qs.node_forecast(c, "My-Node", now + 3600, S, cache))
    assert moved["data_points"] == 25 and moved["free_bytes"] == 5e11
