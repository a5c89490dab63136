"""Retention: raw events and log records older than EVENTS_RETENTION_DAYS go, and the
history tables (snapshots, scores, payouts, resolved alerts) after HISTORY_RETENTION_DAYS.
Raw events older than EVENTS_DETAIL_HOURS are thinned to those slower than
LATENCY_WARNING_MS (store.piece_ops): only the slow-operations list reads raw rows that old.

Runs once shortly after start and then every ``interval`` seconds. Deletes in bounded
chunks, each its own write transaction, so the live pipeline's batches interleave instead
of waiting behind one huge delete. Rollups outlive raw events; their retention belongs to
the rollups module.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
from collections.abc import Callable

from storj_monitor.services.periodic import PeriodicTask
from storj_monitor.settings import Settings
from storj_monitor.store import events as store_events
from storj_monitor.store.database import Store
from storj_monitor.store.retention import delete_history_before

log = logging.getLogger(__name__)

DAY = 86400.0
RETENTION_INTERVAL = 3600.0  # seconds between retention passes
DELETE_CHUNK = 20_000  # rows per delete transaction


async def prune_raw_data(store: Store, cutoff: float) -> tuple[int, int]:
    """Delete events and log records older than ``cutoff`` (UTC unix seconds); the counts."""
    events = await _until_none_left(
        store, functools.partial(store_events.delete_events_before, cutoff=cutoff, limit=DELETE_CHUNK)
    )
    records = 0
    while True:
        n = await store.write(
            functools.partial(
                store_events.delete_records_before, cutoff=cutoff, limit=DELETE_CHUNK
            )
        )
        records += n
        if n < DELETE_CHUNK:
            return events, records


async def _until_none_left(store: Store, chunk: Callable[[sqlite3.Connection], int]) -> int:
    """Run a chunked raw-event delete, one transaction per chunk, until a chunk deletes
    nothing (a chunk may stop short of its limit at a timestamp boundary); the total."""
    total = 0
    while n := await store.write(chunk):
        total += n
    return total


async def thin_raw_events(
    store: Store, since: float | None, cutoff: float, keep_ms: float
) -> int:
    """Delete the raw events in ``[since, cutoff)`` faster than ``keep_ms``: node by node,
    one transaction per chunk, each chunk starting where the last one ended; the count."""
    total = 0
    for node in await store.read(store_events.raw_event_nodes):
        start = since
        while True:
            chunk = functools.partial(
                store_events.thin_events_chunk,
                node=node, since=start, cutoff=cutoff, keep_ms=keep_ms, limit=DELETE_CHUNK,
            )  # fmt: skip
            n, reached = await store.write(chunk)
            total += n
            if reached >= cutoff:
                break
            start = reached
    return total


class Maintenance:
    """Periodic retention; start/stop are idempotent, stop cancels a pass in progress."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        interval: float = RETENTION_INTERVAL,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.interval = interval
        self.passes = 0
        self.deleted_events = 0
        self.deleted_records = 0
        self.deleted_history = 0
        self.thinned_events = 0
        #: Where the last complete thinning pass ended (UTC unix seconds): the next one
        #: starts there instead of walking the slow rows it kept again. None: from the start.
        self._thinned_until: float | None = None
        self._periodic = PeriodicTask("retention", interval, self.run_once)

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self) -> tuple[int, int]:
        cutoff = self.clock() - self.settings.events_retention_days * DAY
        events, records = await prune_raw_data(self.store, cutoff)
        self.passes += 1
        self.deleted_events += events
        self.deleted_records += records
        if events or records:
            log.info("retention: deleted %d events and %d log records", events, records)
        await self._thin(cutoff)
        history_cutoff = self.clock() - self.settings.history_retention_days * DAY
        history = 0
        while True:
            n = await self.store.write(
                lambda c: delete_history_before(c, history_cutoff, DELETE_CHUNK)
            )
            history += n
            if n < DELETE_CHUNK:
                break
        self.deleted_history += history
        if history:
            log.info(
                "retention: deleted %d history rows (snapshots, scores, payouts, alerts)", history
            )
        return events, records

    async def _thin(self, retention_cutoff: float) -> None:
        detail_cutoff = self.clock() - self.settings.events_detail_hours * 3600.0
        if detail_cutoff <= retention_cutoff:
            return  # the detail window covers the whole retention: nothing to thin
        since = self._thinned_until
        if since is not None and since >= detail_cutoff:
            return
        keep_ms = self.settings.latency_warning_ms
        thinned = await thin_raw_events(self.store, since, detail_cutoff, keep_ms)
        self._thinned_until = detail_cutoff
        self.thinned_events += thinned
        if thinned:
            log.info(
                "retention: %d raw events past the %.0f-hour detail window thinned to the "
                "slow ones", thinned, self.settings.events_detail_hours
            )
