"""Rows handed to the import's writer process block by block (``store.bulk.EncodedRows``)
store exactly what the same rows store inline, in one batch or in many."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.services import history
from storj_monitor.services.history import import_log
from storj_monitor.store.bulk import EncodedRows, InlineWriter, ProcessWriter

START = 1_795_000_000.0


def test_encoded_rows_decode_to_the_rows_in_order() -> None:
    lines = list(LogGenerator(seed=3, start=START).lines(3000))
    proc = LineProcessor("n", max_pending=10_000, ttl_seconds=3600.0)
    blocks = [proc.process_rows(lines[i : i + 700]).rows for i in range(0, len(lines), 700)]
    encoded = EncodedRows()
    for rows in blocks:
        encoded.extend(rows)
    encoded.extend([])  # an empty block adds no chunk
    everything = [row for rows in blocks for row in rows]
    assert len(encoded) == len(everything) > 1000
    assert len(encoded.chunks) == len(blocks)
    assert encoded.decode() == everything
    assert InlineWriter.encodes is False and ProcessWriter.encodes is True


def _stored(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        events = conn.execute(
            "SELECT timestamp, action, status, size, satellite_id, piece_id, remote_ip, error, "
            "error_category, duration_ms, duration_source FROM events ORDER BY timestamp, id"
        ).fetchall()
        rollups = conn.execute("SELECT * FROM rollups_minute ORDER BY 1, 2, 3, 4, 5, 6").fetchall()
    finally:
        conn.close()
    return [*events, *rollups]


@pytest.mark.parametrize("batch_rows", [50, 100_000])
def test_writer_process_stores_what_inline_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int
) -> None:
    monkeypatch.setattr(history, "IMPORT_BATCH_ROWS", batch_rows)
    log = tmp_path / "node.log"
    log.write_text("\n".join(LogGenerator(seed=4, start=START).lines(4000)) + "\n")
    results = {}
    for process in (False, True):
        db = tmp_path / f"{process}.db"
        results[process] = import_log(
            str(db), "n1", str(log), max_pending=10_000, ttl_seconds=3600.0,
            writer_process=process, block_bytes=16_384,
        )  # fmt: skip
    inline, child = results[False], results[True]
    assert child.events == inline.events > 1500
    assert child.by_status == inline.by_status
    assert set(inline.by_status) >= {"success", "canceled", "failed"}
    assert sum(inline.by_status.values()) == inline.events
    assert _stored(tmp_path / "True.db") == _stored(tmp_path / "False.db")
