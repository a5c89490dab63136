"""Exact storagenode log lines for pipeline tests (counts known in advance)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
T0 = 1_764_325_815.0  # 2025-11-28T10:30:15Z


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def piece_id(i: int) -> str:
    return f"P{i:051d}"


def transfer(i: int, t: float = T0, *, dialect: str = "old", status: str = "success") -> list[str]:
    """A DEBUG ``download started`` line and its finish line one second later: one event."""
    if dialect == "old":
        fields = {
            "Piece ID": piece_id(i),
            "Satellite ID": SAT,
            "Action": "GET",
            "Offset": 0,
            "Size": 1000 + i,
            "Remote Address": f"203.0.113.{i % 250}:40112",
        }
    else:
        fields = {
            "piece_id": piece_id(i),
            "satellite_id": SAT,
            "action": "GET",
            "offset": 0,
            "size": 1000 + i,
            "remote_address": f"203.0.113.{i % 250}:40112",
        }
    message, level = {
        "success": ("downloaded", "INFO"),
        "canceled": ("download canceled", "INFO"),
        "failed": ("download failed", "ERROR"),
    }[status]
    finish = dict(fields)
    if status == "failed":
        finish["error"] = "file does not exist"
    return [
        f"{stamp(t)}\tDEBUG\tpiecestore\tdownload started\t{json.dumps(fields)}",
        f"{stamp(t + 1)}\t{level}\tpiecestore\t{message}\t{json.dumps(finish)}",
    ]


def transfers(start: int, count: int, t: float = T0) -> list[str]:
    """``count`` transfers (two lines each), alternating dialects."""
    lines: list[str] = []
    for i in range(start, start + count):
        lines += transfer(i, t + i, dialect="old" if i % 2 else "new")
    return lines


def text(lines: list[str], newline: str = "\n") -> str:
    return "".join(line + newline for line in lines)
