"""What the log alone says about storage, reputation and audits (bus ``events``/``records``/
``storage_sample`` in; snapshots, reputation rows and alerts out).

- **Storage without an API**: the free space of ``upload started`` lines (bus
  ``storage_sample``, published by the ingest service) becomes a ``storage_snapshots`` row with
  ``source = 'log'`` at most once per STORAGE_LOG_SAMPLE_INTERVAL of *log* time, so a backlog
  read gives a history too; the forecast and its alerts follow. Total/used/percent are unknown
  (the log does not say), so the percent-full rule cannot fire, the forecast rules can —
  unless the node has a configured ``allocation``: then used = allocation − free and the
  percent-full alert works too. Skipped while the node's API answers (its snapshots are better).
- **Failed GET_AUDIT** in the log: an alert at once (``AlertEngine.fire``), before any score moves.
- **ping satellite failed**: PING_FAILED_ALERT_COUNT of them for one satellite within 15
  minutes of log time is a warning (naming the satellite and the last error) that resolves
  itself after an hour without another; a single failure is a blip, not an alert.
- **The node's own alarms**: disk space smaller than the allocation / more used than allocated,
  a failed storage-directory check, an unrecoverable error (``alerts.log_rules``).
- **node scores updated/worsened** (every 4 h per satellite): a ``reputation_history`` row with
  ``source = 'log'``; reputation alerts are evaluated from them when the node has no live API.

All work runs on one worker task fed by a queue, so bus callbacks stay cheap and ordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from storj_monitor.alerts.log_rules import (
    AUDIT_FAILED_RESOLVE_AFTER,
    PING_FAILED_RESOLVE_AFTER,
    PING_FAILED_WINDOW_S,
    failed_audit_condition,
    node_problem_condition,
    ping_failed_condition,
)
from storj_monitor.alerts.reputation_rules import REPUTATION_KINDS, reputation_conditions
from storj_monitor.alerts.storage_rules import storage_conditions
from storj_monitor.model import Event, LogRecord, SatelliteScore, StorageSnapshot
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import ApiState
from storj_monitor.services.transitions import FailureLog
from storj_monitor.settings import Settings
from storj_monitor.store import snapshots as snaps
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from

log = logging.getLogger("storj_monitor.log_watch")


def _percent(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value) * 100.0, 6)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def score_from_record(record: LogRecord) -> SatelliteScore | None:
    """A ``node scores updated/worsened`` record as a SatelliteScore (percent), or None."""
    if record.kind != "reputation" or not record.satellite_id:
        return None
    f = record.fields
    audit = _percent(f.get("audit_score"))
    if audit is None and _percent(f.get("online_score")) is None:
        return None
    return SatelliteScore(
        timestamp=record.timestamp,
        node_name=record.node_name,
        satellite_id=record.satellite_id,
        satellite_name=None,
        audit_score=audit,
        suspension_score=_percent(f.get("suspension_score")),
        online_score=_percent(f.get("online_score")),
        total_audits=_int(f.get("total_audits")),
        successful_audits=_int(f.get("successful_audits")),
        source="log",
    )


def log_snapshot(
    node_name: str, timestamp: float, free_bytes: int, allocation: int | None = None
) -> StorageSnapshot:
    """A log-derived snapshot: only the free space is known, unless the node's ``allocation``
    (bytes) is configured: then used = allocation − free (trash included, as the API counts)."""
    free = int(free_bytes)
    if not allocation or allocation <= 0:
        return StorageSnapshot(
            timestamp=timestamp,
            node_name=node_name,
            total_bytes=None,
            used_bytes=None,
            available_bytes=free,
            trash_bytes=None,
            used_percent=None,
            trash_percent=None,
            available_percent=None,
            source="log",
        )
    used = max(allocation - free, 0)
    return StorageSnapshot(
        timestamp=timestamp,
        node_name=node_name,
        total_bytes=allocation,
        used_bytes=used,
        available_bytes=free,
        trash_bytes=None,
        used_percent=round(used * 100.0 / allocation, 4),
        trash_percent=None,
        available_percent=round(min(free, allocation) * 100.0 / allocation, 4),
        source="log",
    )


#: Log storage samples held per node while its API's first answer is awaited, at most.
MAX_HELD_SAMPLES = 20_000


class LogWatch:
    """Service. ``api_state(node_name)`` says whether the node API covers a node: ``live``,
    ``down``, ``unknown`` (its first poll has not finished) or ``none`` (no API).

    Storage samples of an ``unknown`` node are held (a backlog read at start arrives before
    the first poll ends) and written once the first poll says the API is not answering, or
    dropped when it is: an API node's history stays API-only.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        engine: AlertEngine,
        *,
        clock: Callable[[], float],
        api_state: Callable[[str], ApiState] | None = None,
        allocations: Mapping[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.thresholds = thresholds_from(settings)
        self.store = store
        self.bus = bus
        self.engine = engine
        self.clock = clock
        self.api_state = api_state or (lambda node: ApiState.NONE)
        self.allocations = dict(allocations or {})
        self._held: dict[str, list[tuple[float, int]]] = {}
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
        self._unsubscribe: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._last_sample: dict[str, float] = {}
        self._log_scores: dict[str, dict[str, SatelliteScore]] = {}
        self._pending_storage: dict[str, int] = {}
        #: (node, satellite) -> log times of its recent ``ping satellite failed`` lines.
        self._ping_failures: dict[tuple[str, str], deque[float]] = {}
        self.samples_written = 0
        self.audit_failures = 0

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        self._unsubscribe = [
            self.bus.subscribe("events", self._on_events),
            self.bus.subscribe("records", self._on_records),
            self.bus.subscribe("storage_sample", self._on_storage_sample),
            self.bus.subscribe("poll", self._on_poll),
        ]
        self._task = asyncio.create_task(self._work(), name="log-watch")

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self) -> None:
        """Wait until every queued item is handled (tests)."""
        await self._queue.join()

    # --- bus callbacks (cheap: filter and queue) -----------------------------------------
    def _on_events(self, node_name: str, events: list[Event]) -> None:
        for e in events:
            if e.action == "GET_AUDIT" and e.status == "failed":
                self._queue.put_nowait(("audit", (e,)))

    def _on_records(self, node_name: str, records: list[LogRecord]) -> None:
        for r in records:
            if r.kind in ("reputation", "ping_failed"):
                self._queue.put_nowait((r.kind, (r,)))
            elif r.kind in ("disk_space", "storage_check", "fatal"):
                self._queue.put_nowait(("node_problem", (r,)))

    def _on_storage_sample(self, node_name: str, timestamp: float, free_bytes: int) -> None:
        last = self._last_sample.get(node_name)
        interval = float(self.settings.storage_log_sample_interval)
        if last is not None and timestamp - last < interval:
            return
        state = self.api_state(node_name)
        if state == ApiState.LIVE:
            return
        self._last_sample[node_name] = timestamp
        if state == ApiState.UNKNOWN:
            held = self._held.setdefault(node_name, [])
            if len(held) < MAX_HELD_SAMPLES:
                held.append((timestamp, free_bytes))
            return
        self._release(node_name)
        self._queue_sample(node_name, timestamp, free_bytes)

    def _queue_sample(self, node_name: str, timestamp: float, free_bytes: int) -> None:
        self._pending_storage[node_name] = self._pending_storage.get(node_name, 0) + 1
        self._queue.put_nowait(("storage", (node_name, timestamp, free_bytes)))

    def _release(self, node_name: str) -> None:
        """Write (API not answering) or drop (API live) the samples held for a node."""
        held = self._held.pop(node_name, None)
        if held and self.api_state(node_name) != ApiState.LIVE:
            for timestamp, free_bytes in held:
                self._queue_sample(node_name, timestamp, free_bytes)

    def _on_poll(self, node_name: str, result: Any) -> None:
        if node_name in self._held and self.api_state(node_name) != ApiState.UNKNOWN:
            self._release(node_name)

    # --- the worker ----------------------------------------------------------------------
    async def _work(self) -> None:
        handlers: dict[str, Callable[..., Awaitable[None]]] = {
            "audit": self._handle_audit,
            "ping_failed": self._handle_ping,
            "node_problem": self._handle_node_problem,
            "reputation": self._handle_reputation,
            "storage": self._handle_storage,
        }
        failures = {kind: FailureLog(log, f"log watch: handling {kind}") for kind in handlers}
        while True:
            kind, args = await self._queue.get()
            try:
                await handlers[kind](*args)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures[kind].failed(exc)
            else:
                failures[kind].ok()
            finally:
                self._queue.task_done()

    async def _handle_audit(self, event: Event) -> None:
        score = None
        if event.satellite_id:
            node, sat = event.node_name, event.satellite_id
            score = await self.store.read(lambda c: snaps.latest_audit_score(c, node, sat))
        cond = failed_audit_condition(event, score)
        if cond is None:
            return
        self.audit_failures += 1
        await self.engine.fire(cond, event.timestamp, auto_resolve_after=AUDIT_FAILED_RESOLVE_AFTER)

    async def _handle_ping(self, record: LogRecord) -> None:
        times = self._ping_failures.setdefault(
            (record.node_name, record.satellite_id or ""), deque(maxlen=1000)
        )
        times.append(record.timestamp)
        while times and times[0] < record.timestamp - PING_FAILED_WINDOW_S:
            times.popleft()
        failures = sum(1 for t in times if t <= record.timestamp)
        cond = ping_failed_condition(record, failures)
        if cond is None:
            return
        is_open = any(a.key == cond.key for a in self.engine.open_alerts(record.node_name))
        if failures >= self.settings.ping_failed_alert_count or is_open:
            await self.engine.fire(
                cond, record.timestamp, auto_resolve_after=PING_FAILED_RESOLVE_AFTER
            )

    async def _handle_node_problem(self, record: LogRecord) -> None:
        found = node_problem_condition(record)
        if found is not None:
            cond, resolve_after = found
            await self.engine.fire(cond, record.timestamp, auto_resolve_after=resolve_after)

    async def _handle_reputation(self, record: LogRecord) -> None:
        score = score_from_record(record)
        if score is None:
            return
        await self.store.write(lambda c: snaps.insert_reputation(c, [score]))
        latest = self._log_scores.setdefault(score.node_name, {})
        latest[score.satellite_id] = score
        if self.api_state(score.node_name) != ApiState.LIVE:
            conditions = reputation_conditions(latest.values(), self.thresholds)
            await self.engine.evaluate(
                score.node_name, REPUTATION_KINDS, conditions, score.timestamp
            )

    async def _handle_storage(self, node_name: str, timestamp: float, free_bytes: int) -> None:
        self._pending_storage[node_name] -= 1
        allocation = self.allocations.get(node_name)
        snapshot = log_snapshot(node_name, timestamp, free_bytes, allocation)
        await self.store.write(lambda c: snaps.insert_storage_snapshot(c, snapshot))
        self.samples_written += 1
        if self._pending_storage[node_name] > 0:
            return  # more samples queued (a backlog): forecast once at its end
        forecast = await self.store.read(
            lambda c: snaps.node_forecast(c, node_name, timestamp, self.settings)
        )
        conditions = storage_conditions(node_name, snapshot, forecast, self.thresholds)
        # Without a configured allocation only the forecast: the log cannot say how full the
        # disk is, so a percent-full alert raised from the API earlier must stay as it is.
        kinds = {"disk_forecast", "disk_usage"} if allocation else {"disk_forecast"}
        await self.engine.evaluate(node_name, kinds, conditions, timestamp)
