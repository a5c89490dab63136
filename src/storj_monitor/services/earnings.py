"""The ``earnings_data`` node object: this month's figures from the best source there is.

Sources, in order:

- ``api``: the node API's per-satellite replies (``bandwidthDaily``, ``storageDaily``,
  ``priceModel``, ``nodeJoinedAt``) as the node coordinator last fetched them, plus the node's
  own ``estimated-payout`` beside our figures;
- ``log``: no API reply: egress per satellite and day from the log's own successful GET,
  GET_REPAIR and GET_AUDIT transfers (hourly rollups), storage from the latest disk snapshot
  (one row for all satellites, since the log does not split it), prices from the last reply seen
  or the production defaults; the held rate is unknown (no join dates), so held is 0 and said so;
- ``history``: a closed month whose payout history was imported: what the node was paid.

Every money figure is USD (``payout_replies`` converted the node's cents and micro-dollars).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from storj_monitor.analytics.earnings import (
    MONEY_FIELDS,
    DayBandwidth,
    DayStorage,
    Prices,
    SatelliteEarnings,
    SatelliteMonth,
    month_bounds,
    period_of,
    project_month,
)
from storj_monitor.payout_replies import node_estimate_from_api, satellite_month_from_api

#: Fields of one satellite row in the payload (``SatelliteEarnings`` less internals).
SATELLITE_FIELDS = (
    "satellite_id", "satellite_name", "egress_bytes", "egress_usd", "repair_audit_bytes",
    "repair_audit_usd", "storage_tb_months", "storage_usd", "gross_usd", "held_rate_percent",
    "held_usd", "held_returned_usd", "net_usd", "months_since_join", "disqualified",
)  # fmt: skip
#: Estimates further apart than this (relative) get an explanation on the card.
DISAGREE_RATIO = 0.05


@dataclass(frozen=True)
class ApiMoney:
    """What the coordinator's last good replies hold for earnings."""

    satellites: Mapping[str, Any]  # satellite id → raw /api/sno/satellite/{id}
    names: Mapping[str, str] = field(default_factory=dict)  # satellite id → host:port
    disqualified: frozenset[str] = frozenset()
    estimate: Any = None  # raw /api/sno/estimated-payout, or None


@dataclass(frozen=True)
class LogMoney:
    """What the store knows without an API: daily egress per satellite, the stored bytes."""

    egress_days: Mapping[str, Sequence[DayBandwidth]]
    stored_bytes: float | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    prices: Prices = field(default_factory=Prices)


def _row(e: SatelliteEarnings) -> dict[str, Any]:
    d = asdict(e)
    return {k: d[k] for k in SATELLITE_FIELDS}


def _totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    return {k: sum(float(r.get(k) or 0.0) for r in rows) for k in MONEY_FIELDS}


def _projection(p: Any) -> dict[str, float]:
    return {
        "month_end_net_usd": p.month_end_net_usd, "low_usd": p.low_usd, "high_usd": p.high_usd,
        "elapsed_hours": p.elapsed_hours, "hours_in_month": p.hours_in_month,
    }  # fmt: skip


def from_api(
    node_name: str, period: str, now: float, api: ApiMoney, held: Mapping[str, float]
) -> dict[str, Any]:
    """The node object from the API's replies (figures we compute, the node's own beside)."""
    sats: list[SatelliteMonth] = []
    for sid, reply in api.satellites.items():
        try:
            sats.append(
                satellite_month_from_api(
                    reply, satellite_name=api.names.get(sid, sid),
                    disqualified=sid in api.disqualified, total_held_usd=held.get(sid),
                )
            )
        except ValueError:
            continue  # one odd reply drops its own satellite only
    earned, projection = project_month(sats, period, now=now)
    rows = [_row(e) for e in earned]
    estimate = None
    if api.estimate is not None:
        try:
            estimate = asdict(node_estimate_from_api(api.estimate))
        except ValueError:
            estimate = None
    payload = {
        "node_name": node_name, "period": period, "source": "api", "satellites": rows,
        "total": _totals(rows), "projection": _projection(projection),
        "node_estimate": estimate,
    }  # fmt: skip
    payload["comparison"] = compare(payload)
    return payload


def from_log(node_name: str, period: str, now: float, log: LogMoney) -> dict[str, Any]:
    """The node object from the log alone: egress per satellite, storage for all of them."""
    start, end = month_bounds(period)
    sats = [
        SatelliteMonth(sid, log.names.get(sid, sid or "unknown satellite"), prices=log.prices,
                       bandwidth=tuple(days))
        for sid, days in sorted(log.egress_days.items())
    ]
    if log.stored_bytes is not None and log.stored_bytes > 0:
        seen = max(min(now, end) - start, 0.0) / 3600.0
        tallies = [DayStorage(start, log.stored_bytes * seen, seen)] if seen > 0 else []
        sats.append(
            SatelliteMonth("", "all satellites (storage from the disk)", prices=log.prices,
                           storage=tuple(tallies))
        )
    earned, projection = project_month(sats, period, now=now)
    rows = [{**_row(e), "held_rate_percent": None, "months_since_join": None} for e in earned]
    return {
        "node_name": node_name, "period": period, "source": "log", "satellites": rows,
        "total": _totals(rows),
        "projection": _projection(projection) if period == period_of(now) else None,
        "node_estimate": None, "comparison": None,
    }  # fmt: skip


def from_history(node_name: str, period: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A closed month from the imported payout history (what the node was paid, USD)."""
    sats = [
        {
            "satellite_id": r["satellite_id"], "satellite_name": r["satellite_name"],
            "egress_bytes": None, "egress_usd": None, "repair_audit_bytes": None,
            "repair_audit_usd": None, "storage_tb_months": None, "storage_usd": None,
            "gross_usd": r["earned_usd"], "held_rate_percent": r["held_percent"],
            "held_usd": r["held_usd"], "held_returned_usd": r["disposed_usd"],
            "net_usd": r["paid_usd"], "months_since_join": r["age_months"],
            "disqualified": False,
        }
        for r in rows
    ]  # fmt: skip
    return {
        "node_name": node_name, "period": period, "source": "history", "satellites": sats,
        "total": _totals(sats), "projection": None, "node_estimate": None, "comparison": None,
    }  # fmt: skip


def compare(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """Our projection next to the node's own expectation, and why they differ (> 5 %)."""
    estimate = payload.get("node_estimate") or {}
    theirs = estimate.get("month_end_expectation_usd")
    proj = payload.get("projection")
    if theirs is None or not proj:
        return None
    ours = float(proj["month_end_net_usd"])
    diff = ours - float(theirs)
    ratio = abs(diff) / max(abs(float(theirs)), 0.01)
    reason = None
    if ratio > DISAGREE_RATIO:
        reason = (
            "The node extrapolates its payout so far linearly in time; its storage tallies lag "
            "a day or two, so early in the month it undercounts storage. We extrapolate "
            "storage from the average stored bytes over the tallied hours and traffic from "
            "its rate per elapsed hour."
            if diff > 0
            else "Our projection is below the node's: traffic slowed down recently or "
            "a satellite's tallies stopped; the node extrapolates its month-so-far figure."
        )
    return {"node_usd": float(theirs), "ours_usd": ours, "difference_usd": diff,
            "difference_ratio": ratio, "explanation": reason}  # fmt: skip
