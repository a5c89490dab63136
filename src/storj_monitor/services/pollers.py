"""One poller per node API, fanned out to listeners (bus ``poll`` and ``add_listener``).

Every NODE_API_POLL_INTERVAL seconds (± 10 % jitter per node, the next poll scheduled when the
current one ends) a poller fetches ``/api/sno/``, ``/api/sno/satellites``, each
``/api/sno/satellite/{id}`` and ``/api/sno/estimated-payout``, then in one write transaction
stores a ``storage_snapshots`` row (available = free) every poll, and ``satellite_storage``
rows (hourly), ``reputation_history`` rows (every poll), the raw payout JSON (when changed,
else hourly) and ``node_info``; it computes the capacity
forecast and reconciles storage, reputation and availability alerts through the AlertEngine.

Failures: the client raises ``NodeApiError``; here it becomes state (``last_update_success``,
``last_exception``, ``failing_since``) while the last good data is kept and marked stale. Only
transitions are logged (unreachable once, recovered once). An API failing longer than
NODE_API_OFFLINE_ALERT_SECONDS raises "node possibly offline" — for a URL the user gave, or
one that has answered before (an auto-discovered localhost that never answered is just "no
API"). Nothing here can stop the process or another node's poller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import orjson

from storj_monitor.alerts.engine import AlertEngine
from storj_monitor.alerts.log_rules import API_KINDS, node_offline_condition
from storj_monitor.alerts.reputation_rules import REPUTATION_KINDS, reputation_conditions
from storj_monitor.alerts.storage_rules import (
    STORAGE_KINDS,
    storage_alerts_payload,
    storage_conditions,
)
from storj_monitor.model import NodeSpec
from storj_monitor.nodeapi import (
    DEFAULT_LOCAL_API,
    NodeApiClient,
    NodeApiError,
    NodeSummary,
    SatelliteDetail,
)

__all__ = ["NodePoller", "PollResult", "Pollers"]
from storj_monitor.services.bus import Bus
from storj_monitor.services.poll_result import (
    PollResult,
    satellite_storage_rows,
    scores_from_api,
    snapshot_from_summary,
)
from storj_monitor.store import snapshots as snaps
from storj_monitor.store.database import Store

log = logging.getLogger("storj_monitor.pollers")

Listener = Callable[[PollResult], Any]
#: Satellite storage and unchanged payout rows are kept at most this often (seconds);
#: storage snapshots and reputation rows are written every poll.
KEEP_EVERY = 3600.0


class NodePoller:
    """Polls one node's API; ``data`` is the last PollResult (good, or stale)."""

    def __init__(
        self,
        settings: Any,
        store: Store,
        bus: Bus,
        engine: AlertEngine | None,
        node_name: str,
        api_url: str,
        *,
        clock: Callable[[], float],
        explicit: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.engine = engine
        self.node_name = node_name
        self.api_url = api_url
        self.clock = clock
        self.explicit = explicit
        self.rng = rng or random.Random()
        self.client = NodeApiClient(
            api_url,
            timeout=float(settings.node_api_timeout),
            retries=int(settings.node_api_retries),
            backoff=min(0.5, float(settings.node_api_poll_interval) / 10),
            rng=self.rng,
            max_reply_bytes=int(settings.node_api_max_reply_bytes),
        )
        self.data: PollResult | None = None
        self.last_update_success: bool | None = None
        self.last_exception: NodeApiError | None = None
        self.last_success: float | None = None
        self.failing_since: float | None = None
        self.ever_connected = False
        self.polls = 0
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._forecast_status: str | None = None
        self._last_payout_raw: str | None = None
        self._last_payout_at = float("-inf")
        self._last_sat_storage_at = float("-inf")

    # --- fan-out -------------------------------------------------------------------------
    def add_listener(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(result)`` after every poll; returns the unsubscribe function."""
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def _notify(self, result: PollResult) -> None:
        for cb in list(self._listeners):
            try:
                cb(result)
            except Exception:
                log.exception("[%s] poll listener failed", self.node_name)
        self.bus.publish("poll", self.node_name, result)

    def has_live_api(self, now: float) -> bool:
        """True when the last poll succeeded (the node's storage/reputation come from the API)."""
        return bool(self.last_update_success) and self.last_success is not None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"poller-{self.node_name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()

    async def _run(self) -> None:
        interval = float(self.settings.node_api_poll_interval)
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("[%s] poll failed unexpectedly", self.node_name)
            await asyncio.sleep(interval * (0.9 + 0.2 * self.rng.random()))

    # --- one poll ------------------------------------------------------------------------
    async def poll_once(self) -> PollResult:
        now = self.clock()
        self.polls += 1
        try:
            summary = await self.client.dashboard()
        except NodeApiError as exc:
            return await self._failed(exc, now)
        overview, details, payout = await self._optional_parts(summary)
        snapshot = snapshot_from_summary(self.node_name, summary, now)
        scores = scores_from_api(self.node_name, summary, overview, details, now)
        sat_rows = satellite_storage_rows(self.node_name, scores, details, now)
        payout_raw = orjson.dumps(payout).decode() if payout is not None else None
        summary_raw = orjson.dumps(summary.raw).decode()
        node_name, api_url = self.node_name, self.api_url
        # Keep the slow-moving tables small: rows only when something changed or hourly.
        if payout_raw == self._last_payout_raw and now - self._last_payout_at < KEEP_EVERY:
            payout_raw = None
        if now - self._last_sat_storage_at < KEEP_EVERY:
            sat_rows = []

        def write(conn: Any) -> None:
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

        self._log_connection(summary)
        await self.store.write(write)
        if payout_raw is not None:
            self._last_payout_raw, self._last_payout_at = payout_raw, now
        if sat_rows:
            self._last_sat_storage_at = now
        log.debug(
            "[%s] wrote storage snapshot (%.1f%% used)", node_name, snapshot.used_percent or 0
        )
        forecast = await self.store.read(
            lambda c: snaps.node_forecast(c, node_name, now, self.settings)
        )
        conditions = storage_conditions(node_name, snapshot, forecast, self.settings)
        if self.engine is not None:
            await self.engine.evaluate(node_name, STORAGE_KINDS, conditions, now)
            await self.engine.evaluate(
                node_name, REPUTATION_KINDS, reputation_conditions(scores, self.settings), now
            )
            await self.engine.evaluate(node_name, API_KINDS, [], now)
        self._log_forecast(forecast)
        self.last_update_success = True
        self.last_exception = None
        self.last_success = now
        self.failing_since = None
        self.ever_connected = True
        result = PollResult(
            node_name=node_name,
            timestamp=now,
            ok=True,
            api_url=api_url,
            summary=summary,
            snapshot=snapshot,
            scores=scores,
            forecast=forecast,
            storage_alerts=storage_alerts_payload(conditions),
            payout=payout,
            last_success=now,
        )
        self.data = result
        self._notify(result)
        return result

    async def _optional_parts(
        self, summary: NodeSummary
    ) -> tuple[SatelliteDetail | None, dict[str, SatelliteDetail], dict[str, Any] | None]:
        """Satellites overview, per-satellite details and payout; each may fail on its own."""
        ids = [s.id for s in summary.satellites]
        results = await asyncio.gather(
            self.client.satellites(),
            self.client.estimated_payout(),
            *(self.client.satellite(sid) for sid in ids),
            return_exceptions=True,
        )
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, Exception):
                raise r  # cancellation and friends
            if isinstance(r, NodeApiError):
                log.debug("[%s] optional API call failed: %s", self.node_name, r)
            elif isinstance(r, Exception):
                log.warning("[%s] optional API call failed unexpectedly: %r", self.node_name, r)
        overview = results[0] if isinstance(results[0], SatelliteDetail) else None
        payout = results[1] if isinstance(results[1], dict) else None
        details = {
            sid: r
            for sid, r in zip(ids, results[2:], strict=True)
            if isinstance(r, SatelliteDetail)
        }
        return overview, details, payout

    def _log_connection(self, summary: NodeSummary) -> None:
        """The connected line once, then "recovered" after failures (transitions only)."""
        if not self.ever_connected:
            log.info(
                "[%s] API client connected to %s (Node ID: %s, Wallet: %s, Version: %s)",
                self.node_name,
                self.api_url,
                summary.node_id,
                summary.wallet,
                summary.version,
            )
        elif self.last_update_success is False:
            log.info("[%s] node API at %s recovered", self.node_name, self.api_url)

    def _log_forecast(self, forecast: dict[str, Any]) -> None:
        """The seed's growth line: INFO when the forecast status changes, else DEBUG."""
        status = forecast.get("status")
        level = logging.INFO if status != self._forecast_status else logging.DEBUG
        self._forecast_status = status
        if status == "filling":
            log.log(
                level,
                "[%s] Growth rate: %.1f GB/day, full in %.1f days",
                self.node_name,
                forecast["growth_rate_bytes_per_day"] / 1e9,
                forecast["days_until_full"],
            )
        elif status == "not filling":
            log.log(level, "[%s] Disk usage stable or shrinking (not filling)", self.node_name)

    async def _failed(self, exc: NodeApiError, now: float) -> PollResult:
        first_failure = self.last_update_success is not False
        self.last_update_success = False
        self.last_exception = exc
        if self.failing_since is None:
            self.failing_since = now
        if first_failure:
            if not self.ever_connected:
                log.warning(
                    "[%s] node API not reachable at %s (%s): enhanced features (storage capacity, "
                    "reputation, payout) are off for this node until it answers; monitoring "
                    "continues from its logs",
                    self.node_name,
                    self.api_url,
                    exc.reason,
                )
            else:
                log.warning("[%s] node API unreachable: %s", self.node_name, exc)
        else:
            log.debug("[%s] node API still failing: %s", self.node_name, exc)
        if self.engine is not None and (self.explicit or self.ever_connected):
            cond = node_offline_condition(
                self.node_name,
                self.api_url,
                self.failing_since,
                now,
                float(self.settings.node_api_offline_alert_seconds),
                exc.reason,
            )
            await self.engine.evaluate(self.node_name, API_KINDS, [cond] if cond else [], now)
        last = self.data
        result = PollResult(
            node_name=self.node_name,
            timestamp=now,
            ok=False,
            api_url=self.api_url,
            summary=last.summary if last else None,
            snapshot=last.snapshot if last else None,
            scores=last.scores if last else [],
            forecast=last.forecast if last else None,
            storage_alerts=last.storage_alerts if last else [],
            payout=last.payout if last else None,
            error=str(exc),
            stale=True,
            last_success=self.last_success,
        )
        self.data = result
        self._notify(result)
        return result


class Pollers:
    """The service: a NodePoller for every node that has (or may have) an API.

    Discovery: a node with an API URL uses it; a local log file without one tries
    http://localhost:14002; a remote log source without one has no API (logged once).
    """

    def __init__(
        self,
        settings: Any,
        store: Store,
        bus: Bus,
        engine: AlertEngine | None,
        nodes: list[NodeSpec],
        *,
        clock: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.pollers: dict[str, NodePoller] = {}
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
            self.pollers[node.name] = NodePoller(
                settings,
                store,
                bus,
                engine,
                node.name,
                url,
                clock=clock,
                explicit=node.api_url is not None,
            )

    def get(self, node_name: str) -> NodePoller | None:
        return self.pollers.get(node_name)

    def api_state(self, node_name: str) -> str:
        """``live``, ``down``, ``unknown`` (first poll not finished) or ``none`` (no API)."""
        p = self.pollers.get(node_name)
        if p is None:
            return "none"
        if p.last_update_success is None:
            return "unknown"
        return "live" if p.last_update_success else "down"

    def has_live_api(self, node_name: str, now: float) -> bool:
        p = self.pollers.get(node_name)
        return p is not None and p.has_live_api(now)

    def add_listener(self, callback: Listener) -> Callable[[], None]:
        """Listen to every node's polls; returns one function that unsubscribes from all."""
        removers = [p.add_listener(callback) for p in self.pollers.values()]

        def remove() -> None:
            for r in removers:
                r()

        return remove

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        if self.pollers:
            log.info(
                "Storage polling task started: %d node API(s), every %g s",
                len(self.pollers),
                float(self.settings.node_api_poll_interval),
            )
        for p in self.pollers.values():
            await p.start()

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await asyncio.gather(*(p.stop() for p in self.pollers.values()), return_exceptions=True)
