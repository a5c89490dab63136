"""Which non-piece log lines are worth keeping, and how they become ``LogRecord``s.

The storagenode writes many lines besides transfers; a few tell an operator something:
compaction and filewalker runs (with durations), garbage collection, the node being
unreachable (``ping satellite failed ``), reputation scores, version and start-up, disk
space misconfiguration, order settlement, fatal errors. They are matched by message (and
the logger the message must come from), their JSON fields keep their values with keys
normalised to the v1.146+ snake_case spelling, and a Go ``duration``/``elapsed`` field
becomes ``duration_ms``. Pure, no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from storj_monitor.logs.goduration import parse_go_duration
from storj_monitor.model import LogRecord

__all__ = ["RECORD_KINDS", "build_record", "record_kind", "snake_key"]

#: Every ``LogRecord.kind`` this parser produces, with what it covers.
RECORD_KINDS: dict[str, str] = {
    "hashstore_compaction": "hashstore compaction rounds: stats, durations, reclaimed bytes",
    "used_space_filewalker": "used-space filewalker start/completion (totals, duration)/failure",
    "lazyfilewalker": "lazy filewalker subprocess lifecycle and exit status",
    "gc_filewalker": "garbage-collection filewalker (bloom filter) start/completion",
    "trash": "emptying trash (elapsed) and the trash-cleanup filewalker",
    "retain": "bloom filter received, retain queued/prepared, pieces moved to trash (duration)",
    "ping_failed": "contact: 'ping satellite failed ' (node unreachable, hurts online score)",
    "reputation": "node scores updated/worsened: audit/online/suspension scores 0..1",
    "version": "version checks: running/allowed/outdated version",
    "startup": "node started, public/private server started, configuration loaded",
    "disk_space": "disk smaller than the allocation, or more used than allocated",
    "storage_check": "piecestore:monitor readability/writability checks and their failures",
    "orders": "orders settled per satellite, or failed to settle (payout risk)",
    "collector": "expired pieces collection completed (count) or failed",
    "upload_rejected": "upload rejected, too many requests (concurrency limit)",
    "upload_internal_error": "upload internal error (socket failure, no piece fields)",
    "fatal": "unrecoverable error / failure during run: the node stops",
}

#: message -> (kind, logger prefix the line must have; "" = any logger, including none).
_RECORD_MESSAGES: dict[str, tuple[str, str]] = {
    "beginning compaction": ("hashstore_compaction", "hashstore"),
    "compact once started": ("hashstore_compaction", "hashstore"),
    "compaction acquired locks": ("hashstore_compaction", "hashstore"),
    "compaction computed details": ("hashstore_compaction", "hashstore"),
    "records rewritten": ("hashstore_compaction", "hashstore"),
    "hashtbl rewritten": ("hashstore_compaction", "hashstore"),
    "compact once finished": ("hashstore_compaction", "hashstore"),
    "finished compaction": ("hashstore_compaction", "hashstore"),
    "compaction failed": ("hashstore_compaction", "hashstore"),
    "used-space-filewalker started": ("used_space_filewalker", "pieces"),
    "used-space-filewalker completed": ("used_space_filewalker", "pieces"),
    "used-space-filewalker failed": ("used_space_filewalker", "pieces"),
    "starting subprocess": ("lazyfilewalker", "lazyfilewalker"),
    "subprocess started": ("lazyfilewalker", "lazyfilewalker"),
    "subprocess finished successfully": ("lazyfilewalker", "lazyfilewalker"),
    "subprocess exited with status": ("lazyfilewalker", "lazyfilewalker"),
    "failed to start subprocess": ("lazyfilewalker", "lazyfilewalker"),
    "gc-filewalker started": ("gc_filewalker", "lazyfilewalker"),
    "gc-filewalker completed": ("gc_filewalker", "lazyfilewalker"),
    "emptying trash started": ("trash", "pieces:trash"),
    "emptying trash finished": ("trash", "pieces:trash"),
    "emptying trash failed": ("trash", "pieces:trash"),
    "trash-filewalker started": ("trash", "lazyfilewalker"),
    "trash-filewalker completed": ("trash", "lazyfilewalker"),
    "New bloomfilter is received": ("retain", "piecestore"),
    "Retain job queued": ("retain", "retain"),
    "Prepared to run a Retain request.": ("retain", "retain"),
    "Moved pieces to trash during retain": ("retain", "retain"),
    "retain pieces failed": ("retain", "retain"),
    "ping satellite failed ": ("ping_failed", "contact"),
    "ping satellite failed": ("ping_failed", "contact"),
    "node scores updated": ("reputation", "reputation"),
    "node scores worsened": ("reputation", "reputation"),
    "running on version": ("version", "version"),
    "Running on allowed version.": ("version", "version"),
    "Allowed minimum version from control server.": ("version", "version"),
    "version not allowed/outdated": ("version", "version"),
    "version is outdated": ("version", "version"),
    "outdated software version": ("version", "version"),
    "Configuration loaded": ("startup", ""),
    "readability check done": ("storage_check", "piecestore:monitor"),
    "writability check done": ("storage_check", "piecestore:monitor"),
    "finished": ("orders", "orders"),
    "failed to settle orders for satellite": ("orders", "orders"),
    "expired pieces collection completed": ("collector", "collector"),
    "error during expired pieces collection": ("collector", "collector"),
    "collect": ("collector", "collector"),
    "upload rejected, too many requests": ("upload_rejected", "piecestore"),
    "upload internal error": ("upload_internal_error", "piecestore"),
    "Unrecoverable error": ("fatal", ""),
    "failure during run": ("fatal", ""),
}

#: Messages that embed data, matched by prefix: (prefix, kind, logger prefix).
_RECORD_PREFIXES: tuple[tuple[str, str, str], ...] = (
    ("Node ", "startup", ""),  # "Node <node id> started"
    ("Public server started on", "startup", ""),
    ("Private server started on", "startup", ""),
    ("Disk space is less than requested", "disk_space", ""),
    ("Used more space than allocated", "disk_space", ""),
    ("Total disk space is less than required minimum", "disk_space", ""),
    ("error verifying", "storage_check", "piecestore:monitor"),
    ("timed out while verifying", "storage_check", "piecestore:monitor"),
    ("failed to settle orders", "orders", "orders"),
)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_snake_cache: dict[str, str] = {}


def snake_key(key: str) -> str:
    """``"Piece ID"``, ``"satelliteID"``, ``"curr logSlots"`` -> ``piece_id``, ``satellite_id``,
    ``curr_log_slots``: the v1.146+ spelling of a field name (cached)."""
    cached = _snake_cache.get(key)
    if cached is not None:
        return cached
    name = _CAMEL_BOUNDARY.sub("_", key).replace(" ", "_").replace("-", "_").lower()
    while "__" in name:
        name = name.replace("__", "_")
    if len(_snake_cache) < 4096:
        _snake_cache[key] = name
    return name


def record_kind(logger: str, message: str) -> str | None:
    """The ``LogRecord.kind`` of a line with this logger and message, or None to ignore it."""
    rule = _RECORD_MESSAGES.get(message)
    if rule is not None:
        kind, logger_prefix = rule
        return kind if logger.startswith(logger_prefix) else None
    for prefix, kind, logger_prefix in _RECORD_PREFIXES:
        if message.startswith(prefix) and logger.startswith(logger_prefix):
            if kind == "startup" and prefix == "Node " and not message.endswith(" started"):
                continue
            return kind
    if logger in ("version", "version:chore"):
        return "version"
    return None


def _startup_fields(message: str, fields: dict[str, Any]) -> None:
    """Data embedded in start-up messages: the node id, the server addresses."""
    if message.startswith("Node ") and message.endswith(" started"):
        fields.setdefault("node_id", message[5:-8].strip())
    elif " server started on " in message:
        fields.setdefault("address", message.rsplit(" ", 1)[-1])


def build_record(
    node_name: str,
    timestamp: float,
    kind: str,
    level: str,
    message: str,
    raw_fields: object,
) -> LogRecord | None:
    """The record of a kept line; None for the docker updater's look-alike lines.

    ``raw_fields`` is the line's JSON object as parsed (anything else counts as no fields).
    Values are kept as the node wrote them (``"NaN"``/``"+Inf"`` stay strings); the
    ``process`` field is dropped.
    """
    raw: dict[Any, Any] = raw_fields if type(raw_fields) is dict else {}
    process = raw.get("Process", raw.get("process"))
    if process is not None and process != "storagenode":
        return None  # storagenode-updater lines in the docker container
    fields = {snake_key(k): v for k, v in raw.items() if isinstance(k, str)}
    fields.pop("process", None)
    if kind == "startup":
        _startup_fields(message, fields)
    satellite = fields.get("satellite_id", fields.get("satellite"))
    return LogRecord(
        timestamp=timestamp,
        node_name=node_name,
        kind=kind,
        level=level,
        message=message,
        satellite_id=satellite if isinstance(satellite, str) else None,
        duration_ms=parse_go_duration(fields.get("duration", fields.get("elapsed"))),
        fields=fields,
    )
