"""The alerts core: turns the conditions that rules report into stored, deduplicated alerts.

- ``evaluate(node, scope, conditions, now)`` reconciles: for the node's open alerts whose kind
  is in ``scope``, a condition with the same ``key`` keeps its alert open (updating severity,
  title, message and ``last_seen``), a new key opens a new alert, and an open alert whose key is
  no longer reported is resolved. The same condition therefore never re-fires every poll.
- Minimum duration: a new key opens only once it has been reported at every evaluation for
  ``min_duration[kind]`` seconds (LATENCY_ALERT_MIN_SECONDS, STORAGE_ALERT_MIN_SECONDS,
  SCORE_ALERT_MIN_SECONDS; other kinds — disqualified, suspended, offline — at once). Until
  then it is *pending* (memory only; ``first_seen`` of the alert is when it started).
- Hysteresis: a ``hold`` condition (the value is back inside its threshold but within the
  threshold's hysteresis band, see :mod:`storj_monitor.thresholds`) keeps an open or pending
  alert as it is and opens nothing; only a value past the band resolves. A p99 hovering at its
  threshold therefore gives one alert and one notification, not one per flap.
- ``fire(condition, now, auto_resolve_after=...)`` is for one-shot facts (a failed audit seen in
  the log): it opens the alert or refreshes the open one, which resolves itself once
  ``auto_resolve_after`` seconds pass without a new occurrence.
- Every change is published on the bus topic ``alert`` as ``(Alert, change)`` with change in
  new | updated | resolved | acknowledged, and logged once per transition, as the seed shows:
  ``[My-Node] WARNING: High Disk Usage on My-Node - Disk is 82.3% full...``.

Open alerts are held in memory (loaded from the ``alerts`` table at start) and every change is
written through the Store, so a restart continues the same alerts instead of duplicating them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from storj_monitor.model import SEVERITY_RANK, Alert, AlertCondition
from storj_monitor.services.bus import Bus
from storj_monitor.services.periodic import PeriodicTask
from storj_monitor.settings import Settings
from storj_monitor.store import alerts as q
from storj_monitor.store.database import Store

log = logging.getLogger("storj_monitor.alerts")

_LEVELS = {"critical": logging.CRITICAL, "warning": logging.WARNING, "info": logging.INFO}
_RANK = SEVERITY_RANK
AUTO_RESOLVE_KEY = "auto_resolve_at"


def log_alert(alert: Alert, change: str) -> None:
    """One log line per transition, in the seed's format."""
    if change == "resolved":
        log.info("[%s] RESOLVED: %s", alert.node_name, alert.title)
        return
    log.log(
        _LEVELS.get(alert.severity, logging.INFO),
        "[%s] %s: %s - %s",
        alert.node_name,
        alert.severity.upper(),
        alert.title,
        alert.message,
    )


def min_durations(settings: Settings) -> dict[str, float]:
    """Seconds a condition must persist before its alert opens, by kind (0 when absent)."""
    storage = float(settings.storage_alert_min_seconds)
    scores = float(settings.score_alert_min_seconds)
    return {
        "latency": float(settings.latency_alert_min_seconds),
        "disk_usage": storage,
        "disk_forecast": storage,
        "audit_score": scores,
        "suspension_score": scores,
        "online_score": scores,
    }


class AlertEngine:
    """Owns open alerts. ``clock`` gives UTC unix seconds (housekeeping only)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        *,
        clock: Callable[[], float],
        housekeeping_interval: float = 30.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.clock = clock
        self.housekeeping_interval = housekeeping_interval
        self._open: dict[tuple[str, str], Alert] = {}
        #: (node, key) -> (kind, when a not-yet-open condition was first reported, UTC unix s).
        self._pending: dict[tuple[str, str], tuple[str, float]] = {}
        self.min_duration: dict[str, float] = min_durations(settings)
        self._lock = asyncio.Lock()
        self._housekeeping = PeriodicTask(
            "alert housekeeping", housekeeping_interval, self._expire_now, delay_first=True
        )
        self._loaded = False

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._housekeeping.running:
            return
        await self._load()
        self._housekeeping.start()

    async def stop(self) -> None:
        await self._housekeeping.stop()

    async def _load(self) -> None:
        if self._loaded:
            return
        for alert in await self.store.read(q.load_open_alerts):
            self._open[(alert.node_name, alert.key)] = alert
        self._loaded = True

    async def _expire_now(self) -> None:
        await self.expire(self.clock())

    # --- queries -------------------------------------------------------------------------
    def open_alerts(self, node_name: str | None = None) -> list[Alert]:
        """Open alerts (in memory, no I/O), optionally of one node."""
        return [a for (n, _), a in self._open.items() if node_name is None or n == node_name]

    # --- changes -------------------------------------------------------------------------
    async def evaluate(
        self,
        node_name: str,
        scope: str | Iterable[str],
        conditions: list[AlertCondition],
        now: float,
    ) -> None:
        """Reconcile the node's open alerts of the kinds in ``scope`` with ``conditions``."""
        kinds = {scope} if isinstance(scope, str) else set(scope)
        async with self._lock:
            await self._load()
            wanted: dict[str, AlertCondition] = {}
            for cond in conditions:
                if cond.node_name != node_name or cond.kind not in kinds:
                    log.debug(
                        "condition %s/%s outside scope %s ignored", cond.node_name, cond.kind, kinds
                    )
                    continue
                wanted[cond.key] = cond  # last one wins for a duplicated key
            for cond in wanted.values():
                at = (node_name, cond.key)
                if at in self._open:
                    if not cond.hold:
                        await self._open_or_update(cond, now, None)
                    continue
                if cond.hold:  # keeps a pending condition pending, opens nothing
                    continue
                since = self._pending.setdefault(at, (cond.kind, now))[1]
                if now - since >= self.min_duration.get(cond.kind, 0.0):
                    del self._pending[at]
                    await self._open_or_update(cond, now, None, first_seen=since)
            for at, (kind, _) in list(self._pending.items()):
                if at[0] == node_name and kind in kinds and at[1] not in wanted:
                    del self._pending[at]  # a blip shorter than the minimum duration
            for (node, key), alert in list(self._open.items()):
                if node == node_name and alert.kind in kinds and key not in wanted:
                    await self._resolve(alert, now)

    async def fire(
        self, condition: AlertCondition, now: float, *, auto_resolve_after: float | None = None
    ) -> Alert:
        """Open (or refresh) a one-shot alert; it resolves ``auto_resolve_after`` s after the
        last occurrence (never, when None)."""
        async with self._lock:
            await self._load()
            return await self._open_or_update(condition, now, auto_resolve_after, count=True)

    async def resolve(self, node_name: str, key: str, now: float) -> bool:
        """Resolve one open alert by key; False when it is not open."""
        async with self._lock:
            alert = self._open.get((node_name, key))
            if alert is None:
                return False
            await self._resolve(alert, now)
            return True

    async def expire(self, now: float) -> int:
        """Resolve one-shot alerts whose auto-resolve time has passed; returns how many."""
        async with self._lock:
            due = [
                a
                for a in self._open.values()
                if a.details.get(AUTO_RESOLVE_KEY) is not None
                and a.details[AUTO_RESOLVE_KEY] <= now
            ]
            for alert in due:
                await self._resolve(alert, now)
            return len(due)

    async def acknowledge(self, alert_id: int, now: float) -> bool:
        """Mark an alert acknowledged (it stays open until its condition clears)."""
        async with self._lock:
            ok = await self.store.write(lambda c: q.acknowledge_alert(c, alert_id, now))
            if not ok:
                return False
            alert = next((a for a in self._open.values() if a.id == alert_id), None)
            if alert is None:
                alert = await self.store.read(lambda c: q.get_alert(c, alert_id))
            else:
                alert.acknowledged_at = now
            if alert is not None:
                self.bus.publish("alert", alert, "acknowledged")
            return True

    # --- internals (called with the lock held) -------------------------------------------
    async def _open_or_update(
        self,
        cond: AlertCondition,
        now: float,
        auto_resolve_after: float | None,
        *,
        count: bool = False,
        first_seen: float | None = None,
    ) -> Alert:
        key = (cond.node_name, cond.key)
        alert = self._open.get(key)
        details = dict(cond.details)
        if auto_resolve_after is not None:
            details[AUTO_RESOLVE_KEY] = now + auto_resolve_after
        if alert is None:
            if count:
                details["occurrences"] = 1
            alert = Alert(
                node_name=cond.node_name,
                kind=cond.kind,
                key=cond.key,
                severity=cond.severity,
                title=cond.title,
                message=cond.message,
                first_seen=now if first_seen is None else first_seen,
                last_seen=now,
                details=details,
            )
            alert.id = await self.store.write(lambda c: q.insert_alert(c, alert))
            self._open[key] = alert
            log_alert(alert, "new")
            self.bus.publish("alert", alert, "new")
            return alert
        if count:
            details["occurrences"] = int(alert.details.get("occurrences", 1)) + 1
        previous_expiry = alert.details.get(AUTO_RESOLVE_KEY)
        if AUTO_RESOLVE_KEY in details and previous_expiry is not None:
            # Occurrences may arrive out of order (a backlog): never pull the expiry earlier.
            details[AUTO_RESOLVE_KEY] = max(details[AUTO_RESOLVE_KEY], previous_expiry)
        changed = (alert.severity, alert.title, alert.message) != (
            cond.severity,
            cond.title,
            cond.message,
        )
        severity_changed = _RANK.get(cond.severity, 0) != _RANK.get(alert.severity, 0)
        if _RANK.get(cond.severity, 0) > _RANK.get(alert.severity, 0):
            alert.acknowledged_at = None  # worse than what the operator acknowledged
        alert.severity = cond.severity
        alert.title = cond.title
        alert.message = cond.message
        alert.last_seen = max(alert.last_seen, now)
        alert.details = details
        await self.store.write(lambda c: q.update_alert(c, alert))
        if severity_changed:  # a transition: logged like a new alert
            log_alert(alert, "updated")
        if changed or count:
            self.bus.publish("alert", alert, "updated")
        return alert

    async def _resolve(self, alert: Alert, now: float) -> None:
        alert.resolved_at = now  # last_seen stays the last time the condition was true
        self._open.pop((alert.node_name, alert.key), None)
        await self.store.write(lambda c: q.update_alert(c, alert))
        log_alert(alert, "resolved")
        self.bus.publish("alert", alert, "resolved")
