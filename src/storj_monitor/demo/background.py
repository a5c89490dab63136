"""Background lines of a generated storagenode log: everything that is not a transfer.

Reputation scores, hashstore compaction, used-space filewalker, ping failures, trash,
retain, orders and the collector, each in the field spelling of either dialect, with Go
duration strings where the node writes them. Used by :mod:`storj_monitor.demo.loggen`.
"""

from __future__ import annotations

import random

import orjson

__all__ = ["BACKGROUND_KINDS", "BackgroundLine", "background_lines", "go_duration", "zap_fields"]

#: (seconds after the occurrence starts, level, logger, message, JSON fields column)
BackgroundLine = tuple[float, str, str, str, str]

BACKGROUND_KINDS = ("reputation", "compaction", "filewalker", "ping_failed", "trash", "retain", "orders", "collector")  # fmt: skip

#: snake_case -> the pre-v1.146 spelling, for the background lines (others did not change).
_TITLE_KEYS = {
    "process": "Process",
    "satellite_id": "Satellite ID",
    "total_audits": "Total Audits",
    "successful_audits": "Successful Audits",
    "audit_score": "Audit Score",
    "online_score": "Online Score",
    "suspension_score": "Suspension Score",
    "total_records": "total records",
    "reclaim_ratio": "reclaim ratio",
    "trashed_records": "trashed records",
    "reclaimed_logs": "reclaimed logs",
    "reclaimed_bytes": "reclaimed bytes",
    "total_pieces_size": "Total Pieces Size",
    "total_pieces_count": "Total Pieces Count",
    "deleted_pieces": "Deleted pieces",
    "pieces_count": "Pieces count",
}


def zap_fields(fields: dict[str, object], old: bool) -> str:
    """zap's console JSON column: ``{"Process": "storagenode", "Key": value, ...}``."""
    items = {"process": "storagenode", **fields}
    if old:
        keys = [_TITLE_KEYS.get(k, k) for k in items]
        if "duration" in items and "store" not in items:
            keys = ["Duration" if k == "duration" else k for k in keys]
    else:
        keys = list(items)
    return "{" + ", ".join(f'"{k}": {orjson.dumps(v).decode()}' for k, v in zip(keys, items.values(), strict=True)) + "}"  # fmt: skip


def _trim(number: str) -> str:
    """``"8.500"`` -> ``"8.5"``, ``"3.000"`` -> ``"3"``; integers stay as they are."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def go_duration(seconds: float) -> str:
    """Go's ``Duration.String()``: ``850ms``, ``8.703424129s``, ``27m7.168320336s``, ``1h2m3s``."""
    nanos = max(0, round(seconds * 1e9))
    if nanos == 0:
        return "0s"
    for unit, scale in (("ns", 1), ("µs", 1_000), ("ms", 1_000_000)):
        if nanos < scale * 1000:
            return _trim(f"{nanos / scale:.{len(str(scale)) - 1}f}") + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = _trim(f"{rest // 1_000_000_000}.{rest % 1_000_000_000:09d}") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


def background_lines(rng: random.Random, sat: str, old: bool) -> list[BackgroundLine]:
    """One background occurrence (one to three lines) of a random kind, for satellite ``sat``;
    ``old`` selects the pre-v1.146 field names."""
    kind = rng.choice(BACKGROUND_KINDS)

    def line(offset: float, level: str, logger: str, message: str, **fields: object) -> BackgroundLine:  # fmt: skip
        return offset, level, logger, message, zap_fields(fields, old)

    if kind == "reputation":
        audit = 1 if rng.random() < 0.8 else round(rng.uniform(0.97, 1), 6)
        total = rng.randrange(1000, 5_000_000)
        worse = audit < 1
        return [
            line(0, "WARN" if worse else "INFO", "reputation:service",
                 "node scores worsened" if worse else "node scores updated",
                 satellite_id=sat, total_audits=total, successful_audits=total - rng.randrange(3),
                 audit_score=audit, online_score=round(rng.uniform(0.95, 1), 6), suspension_score=1)
        ]  # fmt: skip
    if kind == "compaction":
        store, secs = rng.choice(("s0", "s1")), rng.uniform(2, 200)
        return [
            line(0, "INFO", "hashstore", "beginning compaction", satellite=sat, store=store, stats={"NumLogs": 210, "LenLogs": "390.9 GiB"}),
            line(secs, "INFO", "hashstore", "hashtbl rewritten", satellite=sat, store=store, duration=go_duration(secs * 0.4),
                 total_records=rng.randrange(10**5, 10**6), trashed_records=rng.randrange(20000), reclaimed_logs=rng.randrange(4),
                 reclaimed_bytes=f"{rng.uniform(0.1, 9.9):.1f} GiB", reclaim_ratio="NaN"),
            line(secs, "INFO", "hashstore", "finished compaction", satellite=sat, store=store, duration=go_duration(secs),
                 stats={"NumLogs": 208, "LenLogs": "388.1 GiB"}),
        ]  # fmt: skip
    if kind == "filewalker":
        secs = rng.uniform(60, 3000)
        return [
            line(0, "INFO", "pieces", "used-space-filewalker started", satellite_id=sat),
            line(secs, "INFO", "pieces", "used-space-filewalker completed", satellite_id=sat,
                 total_pieces_size=rng.randrange(10**11, 10**13), total_pieces_count=rng.randrange(10**5, 10**7),
                 duration=go_duration(secs))
        ]  # fmt: skip
    if kind == "ping_failed":
        return [
            line(0, "ERROR", "contact:service", "ping satellite failed ", satellite_id=sat, attempts=rng.randrange(1, 6),
                 error="ping satellite: failed to ping storage node, your node indicated error code: 0, rpc: tcp "
                       "connector failed: rpc: dial tcp 203.0.113.45:28967: connect: connection refused")
        ]  # fmt: skip
    if kind == "trash":
        secs = rng.uniform(1, 60)
        return [
            line(0, "INFO", "pieces:trash", "emptying trash started", satellite_id=sat),
            line(secs, "INFO", "pieces:trash", "emptying trash finished", satellite_id=sat, elapsed=go_duration(secs)),
        ]  # fmt: skip
    if kind == "retain":
        secs = rng.uniform(30, 1800)
        return [
            line(secs, "INFO", "retain", "Moved pieces to trash during retain", deleted_pieces=rng.randrange(30000),
                 pieces_count=rng.randrange(10**5, 10**6), satellite_id=sat, duration=go_duration(secs))
        ]  # fmt: skip
    if kind == "orders":
        sat_field = {"satelliteID": sat} if old else {"satellite_id": sat}
        return [line(0, "INFO", "orders", "finished", **sat_field, count=rng.randrange(9000))]
    return [line(0, "INFO", "collector", "expired pieces collection completed", count=rng.randrange(500))]  # fmt: skip
