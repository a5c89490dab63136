"""Listener of a node coordinator for money: the payout history import and this month's figures.

After every good poll of its :class:`~storj_monitor.services.coordinator.NodeCoordinator` it

- keeps the last ``priceModel`` the node sent (USD :class:`Prices`), for log-only figures after
  the API goes away;
- computes this month's ``earnings_data`` node object from the coordinator's replies (``current``,
  read by /metrics at scrape time);
- on its own slower schedule (``HELD_EVERY``, hourly) asks ``/api/heldamount/periods`` and
  ``/held-history`` (held totals are replaced: a running figure), and for every **closed** month
  the node lists that is not stored yet, ``/payout-history/{period}`` once: those rows are
  written with ``INSERT OR IGNORE`` and never rewritten.

Old nodes answer the heldamount paths with 404 (or their dashboard's HTML): that is logged once
(and once more when it starts answering), retried on the slow schedule, and never marks the node
API down or this listener failing. Money is USD (``payout_replies`` converts micro-dollars).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from storj_monitor.analytics.earnings import Prices, period_of
from storj_monitor.nodeapi import NodeApiError
from storj_monitor.payout_replies import (
    HeldTotal,
    held_history_from_api,
    payout_history_from_api,
    periods_from_api,
    prices_from_price_model,
)
from storj_monitor.services.coordinator import NodeApiData, NodeCoordinator
from storj_monitor.services.earnings import ApiMoney, from_api
from storj_monitor.store import earnings as earnings_q
from storj_monitor.store.database import Store

log = logging.getLogger("storj_monitor.earnings")

#: Seconds between two heldamount checks (periods, held-history) of one node.
HELD_EVERY = 3600.0
#: Closed months fetched at most per check, newest first (a node many years old imports the
#: rest on the next checks).
MAX_MONTHS_PER_CHECK = 36


def api_money(data: NodeApiData) -> ApiMoney:
    """What the coordinator's last good replies hold for earnings (raw satellite JSON)."""
    names = {s.id: s.url or s.id for s in data.summary.satellites}
    dq = frozenset(s.id for s in data.summary.satellites if s.disqualified_at is not None)
    return ApiMoney(
        satellites={sid: d.raw for sid, d in data.details.items()},
        names=names,
        disqualified=dq,
        estimate=data.payout,
    )


def last_prices(data: NodeApiData) -> Prices | None:
    """The price model of the first satellite reply that carries one (USD), else None."""
    for detail in data.details.values():
        model = detail.raw.get("priceModel") if isinstance(detail.raw, dict) else None
        if isinstance(model, dict) and model:
            return prices_from_price_model(model)
    return None


class EarningsRecorder:
    """One node's money listener. ``clock`` returns UTC unix seconds.

    ``current`` is this month's node object (or None before the first good poll);
    ``prices`` the last price model seen; ``held`` satellite id → total held (USD);
    ``heldamount_ok`` whether the node answered the heldamount paths last time (None: not
    asked yet); ``imported_rows`` how many payout history rows this process stored.
    """

    def __init__(
        self,
        store: Store,
        coordinator: NodeCoordinator,
        *,
        clock: Callable[[], float],
        held_every: float = HELD_EVERY,
    ) -> None:
        self.store = store
        self.coordinator = coordinator
        self.node_name = coordinator.node_name
        self.clock = clock
        self.held_every = held_every
        self.current: dict[str, Any] | None = None
        self.prices: Prices | None = None
        self.held: dict[str, float] = {}
        self.held_rows: list[HeldTotal] = []
        self.heldamount_ok: bool | None = None
        self.imported_rows = 0
        self._held_checked_at: float | None = None
        self._lock = asyncio.Lock()
        self.unsubscribe = coordinator.add_listener(self.on_poll, "earnings")

    async def on_poll(self, coordinator: NodeCoordinator) -> None:
        data = coordinator.data
        if data is None or not coordinator.live:
            return
        now = self.clock()
        prices = last_prices(data)
        if prices is not None and prices != self.prices:
            self.prices = prices  # kept for a restart without the API (store.earnings)
            await self.store.write(
                lambda c: earnings_q.save_prices(c, self.node_name, prices, now)
            )
        due = self._held_checked_at is None or now - self._held_checked_at >= self.held_every
        if due:
            self._held_checked_at = now
            async with self._lock:
                await self.import_heldamount(now)
        self.current = from_api(self.node_name, period_of(now), now, api_money(data), self.held)

    async def import_heldamount(self, now: float) -> int:
        """Held totals and the closed months not stored yet; returns the new history rows."""
        client = self.coordinator.client
        try:
            periods = periods_from_api(await client.get_json("/api/heldamount/periods"))
            held = held_history_from_api(await client.get_json("/api/heldamount/held-history"))
            stored = await self.store.read(
                lambda conn: earnings_q.stored_periods(conn, self.node_name)
            )
            this_month = period_of(now)
            missing = sorted(
                (p for p in periods if p < this_month and p not in stored), reverse=True
            )
            rows = []
            for period in missing[:MAX_MONTHS_PER_CHECK]:
                reply = await client.get_json(f"/api/heldamount/payout-history/{period}")
                rows.extend(payout_history_from_api(period, reply))
        except NodeApiError as exc:
            if self.heldamount_ok is not False:
                log.info(
                    "[%s] payout history not available from the node API (%s): earnings show "
                    "this month only; asking again every %g s",
                    self.node_name, exc, self.held_every,
                )  # fmt: skip
            self.heldamount_ok = False
            return 0
        if self.heldamount_ok is False:
            log.info("[%s] payout history available from the node API again", self.node_name)
        self.heldamount_ok = True
        self.held_rows = held
        self.held = {h.satellite_id: h.total_held_usd for h in held}

        def write(conn: Any) -> int:
            earnings_q.replace_held_totals(conn, self.node_name, held, now)
            return earnings_q.insert_paid_months(conn, self.node_name, rows, now)

        added: int = await self.store.write(write)
        self.imported_rows += added
        if added:
            log.info(
                "[%s] payout history: %d row(s) of %d closed month(s) imported",
                self.node_name, added, len({r.period for r in rows}),
            )  # fmt: skip
        return added


def build_recorders(
    store: Store, coordinators: Mapping[str, NodeCoordinator], *, clock: Callable[[], float]
) -> dict[str, EarningsRecorder]:
    """One recorder per coordinator, each registered as its listener."""
    return {name: EarningsRecorder(store, c, clock=clock) for name, c in coordinators.items()}
