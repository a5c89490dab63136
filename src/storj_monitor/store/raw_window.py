"""Which parsed operations get a raw row, besides their rollups (UTC unix seconds).

Raw rows are only worth writing while something reads them: none older than the raw-event
retention (EVENTS_RETENTION_DAYS; retention would delete them within the hour) and, older
than the detail window (EVENTS_DETAIL_HOURS), only those slower than LATENCY_WARNING_MS,
which is what retention's thinning leaves (services.maintenance). An import of old history
applies the same rule as it writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


class RawWindow(NamedTuple):
    """Which event rows get a raw row (UTC unix seconds): none older than ``keep_since``
    (the raw-event retention) and, older than ``full_since`` (the detail window), only
    those of at least ``slow_ms``: what retention leaves of them."""

    keep_since: float
    full_since: float
    slow_ms: float


#: ``write_row_batch``'s ``raw_since``: a :class:`RawWindow`, a float (the retention cutoff
#: only: every newer row gets a raw row) or None (every row).
RawSince = RawWindow | float | None


def raw_window(
    now: float, retention_days: float, detail_hours: float, slow_ms: float
) -> RawWindow:
    """The :class:`RawWindow` of the settings (EVENTS_RETENTION_DAYS, EVENTS_DETAIL_HOURS,
    LATENCY_WARNING_MS) at ``now`` (UTC unix seconds)."""
    keep = now - retention_days * 86400.0
    return RawWindow(keep, max(keep, now - detail_hours * 3600.0), slow_ms)


def raw_rows(rows: Sequence[Sequence[Any]], raw_since: RawSince) -> Sequence[Sequence[Any]]:
    """The rows of a batch that get a raw row (see :data:`RawSince`)."""
    if raw_since is None:
        return rows
    if not isinstance(raw_since, RawWindow):
        return [r for r in rows if r[0] >= raw_since]
    keep, full, slow = raw_since
    return [
        r for r in rows
        if r[0] >= full or (r[0] >= keep and r[10] is not None and r[10] >= slow)
    ]  # fmt: skip
