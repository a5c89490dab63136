"""Group commit of the nodes' live batches (services/live_writer.py) on a real SQLite file."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Future
from pathlib import Path

import pytest

from storj_monitor.model import Event
from storj_monitor.services.live_writer import GroupWriter, group_writer
from storj_monitor.store import events as se
from storj_monitor.store.database import Store

T0 = 1_780_000_000.0


def event(node: str, i: int) -> Event:
    return Event(
        timestamp=T0 + i, node_name=node, action="GET", status="success", size=2048,
        satellite_id="sat", piece_id=f"{node}-{i}", remote_ip="203.0.113.7", error=None,
        error_category=None, duration_ms=12.5, duration_source="arrival",
    )  # fmt: skip


def offset(node: str, n: int) -> se.LogOffset:
    return se.LogOffset(node, f"/logs/{node}.log", f"fp-{node}", 100, n, T0)


def counts(store: Store) -> dict[str, int]:
    def q(c):  # type: ignore[no-untyped-def]
        rows = c.execute("SELECT node_name, COUNT(*) FROM events GROUP BY node_name")
        return dict(rows.fetchall())

    return store.read_sync(q)


def stored_offset(store: Store, node: str) -> int | None:
    row = store.read_sync(lambda c: se.get_offset(c, se.source_key(node, f"fp-{node}")))
    return row.offset if row is not None else None


def result(fut: Future[None]) -> BaseException | None:
    try:
        fut.result(30)
    except Exception as exc:
        return exc
    return None


def test_batches_of_several_nodes_share_one_transaction(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        writer = GroupWriter(store, gather=0.2)
        futs = [
            writer.submit([event(n, i) for i in range(3)], [], [(offset(n, 300), None)])
            for n in ("a", "b", "c")
        ]
        assert [result(f) for f in futs] == [None, None, None]
        assert (writer.transactions, writer.batches) == (1, 3)
        assert counts(store) == {"a": 3, "b": 3, "c": 3}
        assert [stored_offset(store, n) for n in "abc"] == [300, 300, 300]
        rollup = store.read_sync(
            lambda c: c.execute("SELECT SUM(count) FROM rollups_minute").fetchone()[0]
        )
        assert rollup == 9  # the rollups of every batch, written together


def test_an_offset_conflict_fails_only_its_own_batch(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.write_sync(lambda c: se.advance_offset(c, offset("b", 50), expected=None))
        writer = GroupWriter(store, gather=0.2)
        fa = writer.submit([event("a", 1)], [], [(offset("a", 100), None)])
        fb = writer.submit([event("b", 1)], [], [(offset("b", 100), None)])  # b is at 50
        assert result(fa) is None
        assert isinstance(result(fb), se.OffsetConflictError)
        assert counts(store) == {"a": 1}
        assert (stored_offset(store, "a"), stored_offset(store, "b")) == (100, 50)


def test_a_batch_that_cannot_be_stored_does_not_hold_back_the_others(tmp_path: Path) -> None:
    bad = dataclasses.replace(event("b", 1), timestamp=float("nan"))  # breaks the rollups
    with Store(tmp_path / "s.db") as store:
        writer = GroupWriter(store, gather=0.2)
        fa = writer.submit([event("a", 1)], [], [(offset("a", 100), None)])
        fb = writer.submit([bad], [], [(offset("b", 100), None)])
        fc = writer.submit([event("c", 1)], [], [(offset("c", 100), None)])
        assert result(fa) is None and result(fc) is None
        assert result(fb) is not None
        assert counts(store) == {"a": 1, "c": 1}
        assert stored_offset(store, "b") is None  # its lines will be read again


def test_a_closed_store_fails_the_batch_instead_of_losing_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db").open()
    store.close()
    fut = GroupWriter(store).submit([event("a", 1)], [], [(offset("a", 100), None)])
    assert isinstance(result(fut), RuntimeError)


def test_every_ingest_of_a_store_shares_its_writer(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        assert group_writer(a) is group_writer(a)
        assert group_writer(a) is not group_writer(b)


@pytest.mark.parametrize("gather", [0.0, 0.05])
def test_later_batches_open_the_next_group(tmp_path: Path, gather: float) -> None:
    with Store(tmp_path / "s.db") as store:
        writer = GroupWriter(store, gather=gather)
        first = writer.submit([event("a", 1)], [], [(offset("a", 100), None)])
        assert result(first) is None
        second = writer.submit([event("a", 2)], [], [(offset("a", 200), 100)])
        assert result(second) is None
        assert writer.transactions == 2 and counts(store) == {"a": 2}
