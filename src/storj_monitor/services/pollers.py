"""The node API service: a coordinator per node, and the recorder that listens to each.

:class:`Pollers` builds one :class:`~storj_monitor.services.coordinator.NodeCoordinator` per
node that has (or may have) an API. Discovery: a node with an API URL uses it; a local log
file without one tries http://localhost:14002; a remote log source without one has no API
(logged once).

:class:`NodeApiRecorder` is the first listener of each coordinator. After a good poll it
stores, in one write transaction, a ``storage_snapshots`` row (available = free) every poll,
``satellite_storage`` rows (hourly), ``reputation_history`` rows (every poll), the raw payout
JSON (when changed, else hourly) and ``node_info``; it computes the capacity forecast and
reconciles storage and reputation alerts. After a failed poll it reconciles the "node possibly
offline" alert (after NODE_API_OFFLINE_ALERT_SECONDS, for a URL the user gave or one that has
answered before), saying what the API answered. Either way it publishes the
:class:`PollResult` on bus ``poll`` (the web broadcast listens there). A store failure raises
out of the listener: the coordinator records it (``listener_failures``, /metrics) and logs it on
transitions; the API itself stays "live", because it is.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from storj_monitor.alerts.log_rules import API_KINDS, node_offline_condition
from storj_monitor.alerts.reputation_rules import REPUTATION_KINDS, reputation_conditions
from storj_monitor.alerts.storage_rules import (
    STORAGE_KINDS,
    storage_alerts_payload,
    storage_conditions,
)
from storj_monitor.model import NodeSpec
from storj_monitor.nodeapi import DEFAULT_LOCAL_API, NodeApiError
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import (
    ApiState,
    NodeApiData,
    NodeCoordinator,
    api_state,
)
from storj_monitor.services.poll_result import (
    PollResult,
    satellite_storage_rows,
    scores_from_api,
    snapshot_from_summary,
)
from storj_monitor.settings import Settings
from storj_monitor.store import snapshots as snaps
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from

__all__ = ["NodeApiRecorder", "PollResult", "Pollers"]

log = logging.getLogger("storj_monitor.pollers")

#: Satellite storage and unchanged payout rows are kept at most this often (seconds);
#: storage snapshots and reputation rows are written every poll.
KEEP_EVERY = 3600.0


class NodeApiRecorder:
    """Listener of one coordinator: rows, forecast, storage/reputation/offline alerts, bus.

    ``result`` is the last :class:`PollResult` (good, or the last good one marked stale).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        engine: AlertEngine | None,
        coordinator: NodeCoordinator,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.engine = engine
        self.coordinator = coordinator
        self.thresholds = thresholds_from(settings)
        self.result: PollResult | None = None
        self._recorded_at: float | None = None  # fetched_at of the data last written
        self._forecast_status: str | None = None
        self._last_payout_raw: str | None = None
        self._last_payout_at = float("-inf")
        self._last_sat_storage_at = float("-inf")
        self.unsubscribe = coordinator.add_listener(self.on_update, name="recorder")

    async def on_update(self, coordinator: NodeCoordinator) -> None:
        data = coordinator.data
        if coordinator.live and data is not None:
            if data.fetched_at != self._recorded_at:
                await self._record(data)
        else:
            await self._offline(coordinator)
        if self.result is not None:
            self.bus.publish("poll", coordinator.node_name, self.result)

    async def _record(self, data: NodeApiData) -> None:
        c = self.coordinator
        now, node_name, api_url, summary = data.fetched_at, c.node_name, c.api_url, data.summary
        snapshot = snapshot_from_summary(node_name, summary, now)
        scores = scores_from_api(node_name, summary, data.overview, data.details, now)
        sat_rows = satellite_storage_rows(node_name, scores, data.details, now)
        payout_raw = orjson.dumps(data.payout).decode() if data.payout is not None else None
        summary_raw = orjson.dumps(summary.raw).decode()
        # Keep the slow-moving tables small: rows only when something changed or hourly.
        if payout_raw == self._last_payout_raw and now - self._last_payout_at < KEEP_EVERY:
            payout_raw = None
        if now - self._last_sat_storage_at < KEEP_EVERY:
            sat_rows = []

        def write(conn: sqlite3.Connection) -> None:
            snaps.insert_storage_snapshot(conn, snapshot)
            if sat_rows:
                snaps.insert_satellite_storage(conn, sat_rows)
            if scores:
                snaps.insert_reputation(conn, scores)
            if payout_raw is not None:
                snaps.insert_payout_snapshot(conn, node_name, now, payout_raw)
            snaps.upsert_node_info(
                conn,
                node_name,
                node_id=summary.node_id,
                wallet=summary.wallet,
                version=summary.version,
                api_url=api_url,
                updated_at=now,
                raw=summary_raw,
            )

        await self.store.write(write)
        self._recorded_at = now
        if payout_raw is not None:
            self._last_payout_raw, self._last_payout_at = payout_raw, now
        if sat_rows:
            self._last_sat_storage_at = now
        log.debug(
            "[%s] wrote storage snapshot (%.1f%% used)", node_name, snapshot.used_percent or 0
        )
        settings = self.settings
        forecast = await self.store.read(
            lambda conn: snaps.node_forecast(conn, node_name, now, settings)
        )
        conditions = storage_conditions(node_name, snapshot, forecast, self.thresholds)
        if self.engine is not None:
            await self.engine.evaluate(node_name, STORAGE_KINDS, conditions, now)
            await self.engine.evaluate(
                node_name, REPUTATION_KINDS, reputation_conditions(scores, self.thresholds), now
            )
            await self.engine.evaluate(node_name, API_KINDS, [], now)
        self._log_forecast(forecast)
        self.result = PollResult(
            node_name=node_name,
            timestamp=now,
            ok=True,
            api_url=api_url,
            summary=summary,
            snapshot=snapshot,
            scores=scores,
            forecast=forecast,
            storage_alerts=storage_alerts_payload(conditions),
            payout=data.payout,
            last_success=now,
        )

    async def _offline(self, c: NodeCoordinator) -> None:
        now = c.clock()
        if self.engine is not None and (c.explicit or c.ever_connected):
            exc = c.last_exception
            reason = exc.reason if isinstance(exc, NodeApiError) and not c.answered else c.failure
            cond = node_offline_condition(
                c.node_name,
                c.api_url,
                c.failing_since,
                now,
                float(self.settings.node_api_offline_alert_seconds),
                reason or "",
                answered=c.answered,
            )
            await self.engine.evaluate(c.node_name, API_KINDS, [cond] if cond else [], now)
        last = self.result
        self.result = PollResult(
            node_name=c.node_name,
            timestamp=now,
            ok=False,
            api_url=c.api_url,
            summary=last.summary if last else None,
            snapshot=last.snapshot if last else None,
            scores=last.scores if last else [],
            forecast=last.forecast if last else None,
            storage_alerts=last.storage_alerts if last else [],
            payout=last.payout if last else None,
            error=str(c.last_exception) if c.last_exception else c.failure,
            stale=True,
            last_success=c.last_success,
        )

    def _log_forecast(self, forecast: Mapping[str, Any]) -> None:
        """The seed's growth line: INFO when the forecast status changes, else DEBUG."""
        status = forecast.get("status")
        level = logging.INFO if status != self._forecast_status else logging.DEBUG
        self._forecast_status = status
        name = self.coordinator.node_name
        if status == "filling":
            log.log(
                level,
                "[%s] Growth rate: %.1f GB/day, full in %.1f days",
                name,
                forecast["growth_rate_bytes_per_day"] / 1e9,
                forecast["days_until_full"],
            )
        elif status == "not filling":
            log.log(level, "[%s] Disk usage stable or shrinking (not filling)", name)


class Pollers:
    """The service: a coordinator (and its recorder) for every node that may have an API."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        engine: AlertEngine | None,
        nodes: list[NodeSpec],
        *,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.coordinators: dict[str, NodeCoordinator] = {}
        self.recorders: dict[str, NodeApiRecorder] = {}
        self._started = False
        for node in nodes:
            url = node.api_url or (None if node.is_remote else DEFAULT_LOCAL_API)
            if url is None:
                log.warning(
                    "[%s] no node API URL for remote log source %s: enhanced features (storage "
                    "capacity, reputation, payout) are off; add :http://HOST:14002 to --node to "
                    "enable them",
                    node.name,
                    node.log_source,
                )
                continue
            coordinator = NodeCoordinator(
                settings, node.name, url, clock=clock, explicit=node.api_url is not None
            )
            self.coordinators[node.name] = coordinator
            self.recorders[node.name] = NodeApiRecorder(settings, store, bus, engine, coordinator)

    def api_state(self, node_name: str) -> ApiState:
        """Whether the node API covers a node now (:func:`coordinator.api_state`)."""
        return api_state(self.coordinators, node_name)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.coordinators:
            log.info(
                "Storage polling task started: %d node API(s), every %g s",
                len(self.coordinators),
                float(self.settings.node_api_poll_interval),
            )
        for c in self.coordinators.values():
            await c.start()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await asyncio.gather(
            *(c.stop() for c in self.coordinators.values()), return_exceptions=True
        )
