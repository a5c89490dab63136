"""The store's SQLite connections are a bounded set with bounded page caches."""

from __future__ import annotations

import threading
from pathlib import Path

from storj_monitor.store import database
from storj_monitor.store.database import Store


def test_read_sync_from_many_threads_shares_a_bounded_pool(tmp_path: Path) -> None:
    """Each node's ingest thread used to keep a connection of its own (and its cache)."""
    results: list[int] = []
    gate = threading.Barrier(12)

    def reader() -> None:
        gate.wait()
        results.append(store.read_sync(lambda c: int(c.execute("SELECT 41 + 1").fetchone()[0])))

    with Store(tmp_path / "s.db", read_threads=2) as store:
        threads = [threading.Thread(target=reader) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [42] * 12
        assert store.connections <= 1 + 2 + database.EXTRA_READ_CONNECTIONS
        cache = store.read_sync(lambda c: c.execute("PRAGMA cache_size").fetchone()[0])
        assert cache == -database.READER_CACHE_KIB
        assert store.cache_limit_bytes == 1024 * (
            database.WRITER_CACHE_KIB + 4 * database.READER_CACHE_KIB
        )
    assert store.connections == 0


async def test_pooled_reads_and_writes_see_each_other(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        await store.write(lambda c: c.execute("CREATE TABLE t (x INTEGER)"))
        await store.write(lambda c: c.execute("INSERT INTO t VALUES (7)"))
        assert await store.read(lambda c: c.execute("SELECT x FROM t").fetchone()[0]) == 7
        assert store.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()[0]) == 1
        size = store.write_sync(lambda c: c.execute("PRAGMA cache_size").fetchone()[0])
        assert size == -database.WRITER_CACHE_KIB
