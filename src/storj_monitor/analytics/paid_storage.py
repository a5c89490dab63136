"""What the satellites pay a node to store (pure): the sum over satellites of the newest daily
tally's average stored bytes (``storageDaily[-1].atRestTotalBytes`` of
``/api/sno/satellite/{id}``; from ``atRestTotal`` byte-hours / ``intervalInHours`` when a node
version lacks it). Bytes; None when no satellite reports a tally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value >= 0 else None


def satellite_paid_bytes(raw: Mapping[str, Any]) -> float | None:
    """Average bytes stored on the newest day of one satellite's ``storageDaily``."""
    daily = raw.get("storageDaily")
    if not isinstance(daily, list):
        return None
    for entry in reversed(daily):
        if not isinstance(entry, Mapping):
            continue
        at_rest = _num(entry.get("atRestTotalBytes"))
        if at_rest is not None:
            return at_rest
        byte_hours, hours = _num(entry.get("atRestTotal")), _num(entry.get("intervalInHours"))
        if byte_hours is not None and hours:
            return byte_hours / hours
    return None


def paid_bytes(raws: Iterable[Mapping[str, Any]]) -> float | None:
    """The sum over satellites of :func:`satellite_paid_bytes` (None when none reports)."""
    values = [v for v in (satellite_paid_bytes(r) for r in raws) if v is not None]
    return sum(values) if values else None
