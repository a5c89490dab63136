"""Retention: raw events and log records older than EVENTS_RETENTION_DAYS go, and the
history tables (snapshots, scores, payouts, resolved alerts) after HISTORY_RETENTION_DAYS.

Runs once shortly after start and then every ``interval`` seconds. Deletes in bounded
chunks, each its own write transaction, so the live pipeline's batches interleave instead
of waiting behind one huge delete. Rollups outlive raw events; their retention belongs to
the rollups module.
"""

from __future__ import annotations

import functools
import logging
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
    totals = []
    for delete in (store_events.delete_events_before, store_events.delete_records_before):
        total = 0
        while True:
            n = await store.write(functools.partial(delete, cutoff=cutoff, limit=DELETE_CHUNK))
            total += n
            if n < DELETE_CHUNK:
                break
        totals.append(total)
    return totals[0], totals[1]


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
