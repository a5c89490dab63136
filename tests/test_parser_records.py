"""logs.records directly: which lines are kept, and how their fields are normalised."""

from __future__ import annotations

import pytest

from storj_monitor.logs.records import RECORD_KINDS, build_record, record_kind


@pytest.mark.parametrize(
    ("logger", "message", "kind"),
    [
        ("hashstore", "finished compaction", "hashstore_compaction"),
        ("hashstore", "trashed record was read", None),  # frequent WARN, not kept
        ("lazyfilewalker.used-space-filewalker", "subprocess started", "lazyfilewalker"),
        ("lazyfilewalker.gc-filewalker.subprocess", "Database started", None),
        ("contact:service", "ping satellite failed ", "ping_failed"),
        ("contact:endpoint", "pinged", None),
        ("version", "anything the version chore says", "version"),
        ("version:chore", "outdated software version", "version"),
        ("", "Node 1abc started", "startup"),
        ("", "Node operator email", None),
        ("", "Public server started on [::]:28967", "startup"),
        ("", "Disk space is less than requested. Allocated space is", "disk_space"),
        ("piecestore:monitor", "timed out while verifying readability of storage directory", "storage_check"),
        ("piecestore", "timed out while verifying readability of storage directory", None),
        ("orders", "failed to settle orders for satellite", "orders"),
        ("bandwidth", "finished", None),
        ("piecestore", "file found in trash", None),
    ],
)  # fmt: skip
def test_record_kind(logger: str, message: str, kind: str | None) -> None:
    assert record_kind(logger, message) == kind
    assert kind is None or kind in RECORD_KINDS


def test_build_record_normalises_and_converts() -> None:
    record = build_record(
        "n1",
        100.0,
        "retain",
        "INFO",
        "Moved pieces to trash during retain",
        {"Process": "storagenode", "Deleted pieces": 3, "Satellite ID": "1sat", "Duration": "1.5s"},
    )
    assert record is not None
    assert record.fields == {"deleted_pieces": 3, "satellite_id": "1sat", "duration": "1.5s"}
    assert (record.satellite_id, record.duration_ms, record.node_name) == ("1sat", 1500.0, "n1")


def test_elapsed_and_hashstore_satellite() -> None:
    trash = build_record("n", 1.0, "trash", "INFO", "emptying trash finished", {"elapsed": "250ms"})
    compaction = build_record(
        "n", 1.0, "hashstore_compaction", "INFO", "x", {"satellite": "1s", "duration": "2m"}
    )
    assert trash is not None and trash.duration_ms == 250.0
    assert (
        compaction is not None
        and compaction.satellite_id == "1s"
        and compaction.duration_ms == 120000.0
    )


def test_updater_lines_are_not_records() -> None:
    fields = {"Process": "storagenode-updater", "Location": "/app/config/config.yaml"}
    assert build_record("n", 1.0, "startup", "INFO", "Configuration loaded", fields) is None


@pytest.mark.parametrize("raw", [None, [], "text", 5, {1: "non-string key"}])
def test_odd_field_objects(raw: object) -> None:
    record = build_record("n", 1.0, "fatal", "FATAL", "Unrecoverable error", raw)
    assert record is not None and record.fields == {} and record.duration_ms is None


def test_odd_duration_and_satellite_values() -> None:
    record = build_record("n", 1.0, "retain", "INFO", "m", {"satellite_id": 5, "duration": 12})
    assert record is not None and record.satellite_id is None and record.duration_ms is None
