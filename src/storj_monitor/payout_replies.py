"""The node API's money replies turned into USD and the pure earnings types (adapter).

This is the one place where the node's units become ours: the price model and the estimated
payout are **cents** (per TB, per TB-month, or plain), the ``/api/heldamount`` paystubs and
payout history **micro-dollars**. Everything returned here is USD, bytes and UTC unix seconds.
Old nodes leave fields out or send ``null`` lists: a missing figure becomes ``None`` or an
empty list (the caller shows what it has), never an exception, except for a reply that is not
JSON of the expected shape at all (``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storj_monitor.analytics.earnings import DayBandwidth, DayStorage, Prices, SatelliteMonth
from storj_monitor.nodeapi import parse_time

CENTS = 100.0
MICRO = 1e6


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _usd_from_cents(value: Any) -> float | None:
    f = _float(value)
    return None if f is None else f / CENTS


def _usd_from_micro(value: Any) -> float | None:
    f = _float(value)
    return None if f is None else f / MICRO


def prices_from_price_model(model: Any, default: Prices | None = None) -> Prices:
    """``priceModel`` (cents per TB / per TB-month, capitalised keys) → USD ``Prices``.

    A key that is missing or not a number keeps the default's value.
    """
    base = default or Prices()
    m = _dict(model)

    def pick(key: str, fallback: float) -> float:
        usd = _usd_from_cents(m.get(key))
        return fallback if usd is None or usd < 0 else usd

    return Prices(
        egress_usd_per_tb=pick("EgressBandwidth", base.egress_usd_per_tb),
        repair_usd_per_tb=pick("RepairBandwidth", base.repair_usd_per_tb),
        audit_usd_per_tb=pick("AuditBandwidth", base.audit_usd_per_tb),
        storage_usd_per_tb_month=pick("DiskSpace", base.storage_usd_per_tb_month),
    )


def _bytes(d: dict[str, Any], key: str) -> int:
    f = _float(d.get(key))
    return int(f) if f is not None and f > 0 else 0


def satellite_month_from_api(
    reply: Any,
    *,
    satellite_name: str,
    disqualified: bool = False,
    default_prices: Prices | None = None,
    total_held_usd: float | None = None,
) -> SatelliteMonth:
    """``/api/sno/satellite/{id}`` → the month's bandwidth, tallies, prices and join date."""
    if not isinstance(reply, dict):
        raise ValueError("satellite reply is not a JSON object")
    days = []
    for entry in _list(reply.get("bandwidthDaily")):
        e = _dict(entry)
        start = parse_time(e.get("intervalStart"))
        if start is None:
            continue
        egress = _dict(e.get("egress"))
        days.append(
            DayBandwidth(start, _bytes(egress, "usage"), _bytes(egress, "repair"), _bytes(egress, "audit"))
        )
    tallies = []
    for entry in _list(reply.get("storageDaily")):
        e = _dict(entry)
        start = parse_time(e.get("intervalStart"))
        byte_hours = _float(e.get("atRestTotal"))
        if start is None or byte_hours is None or byte_hours < 0:
            continue
        hours = _float(e.get("intervalInHours"))
        tallies.append(DayStorage(start, byte_hours, hours if hours and hours > 0 else 24.0))
    sat_id = reply.get("id")
    return SatelliteMonth(
        satellite_id=sat_id if isinstance(sat_id, str) else "",
        satellite_name=satellite_name,
        prices=prices_from_price_model(reply.get("priceModel"), default_prices),
        joined_at=parse_time(reply.get("nodeJoinedAt")),
        disqualified=disqualified,
        bandwidth=tuple(days),
        storage=tuple(tallies),
        total_held_usd=total_held_usd,
    )


@dataclass(frozen=True, slots=True)
class NodeEstimate:
    """The node's own ``/api/sno/estimated-payout``, in USD (None where the node left it out)."""

    current_month_net_usd: float | None
    current_month_held_usd: float | None
    previous_month_net_usd: float | None
    month_end_expectation_usd: float | None


def node_estimate_from_api(reply: Any) -> NodeEstimate:
    """``/api/sno/estimated-payout`` (cents) → USD."""
    if not isinstance(reply, dict):
        raise ValueError("estimated-payout reply is not a JSON object")
    current = _dict(reply.get("currentMonth"))
    previous = _dict(reply.get("previousMonth"))
    return NodeEstimate(
        current_month_net_usd=_usd_from_cents(current.get("payout")),
        current_month_held_usd=_usd_from_cents(current.get("held")),
        previous_month_net_usd=_usd_from_cents(previous.get("payout")),
        month_end_expectation_usd=_usd_from_cents(reply.get("currentMonthExpectations")),
    )


@dataclass(frozen=True, slots=True)
class PaidMonth:
    """One satellite's closed month as the payout history tells it, in USD.

    ``earned`` is before held and surge; ``paid`` what was owed after held plus any disposal;
    ``distributed`` what actually left the wallet (less than paid: postponed under the
    payout threshold).
    """

    period: str
    satellite_id: str
    satellite_name: str
    age_months: int | None
    earned_usd: float
    held_usd: float
    held_percent: float | None
    disposed_usd: float
    paid_usd: float
    distributed_usd: float
    receipt: str


def payout_history_from_api(period: str, reply: Any) -> list[PaidMonth]:
    """``/api/heldamount/payout-history/{period}`` (micro-dollars) → one row per satellite."""
    rows = []
    for entry in _list(reply):
        e = _dict(entry)
        sat_id = e.get("satelliteID")
        if not isinstance(sat_id, str) or not sat_id:
            continue
        age = _float(e.get("age"))
        rows.append(
            PaidMonth(
                period=period,
                satellite_id=sat_id,
                satellite_name=str(e.get("satelliteURL") or sat_id),
                age_months=None if age is None else int(age),
                earned_usd=_usd_from_micro(e.get("earned")) or 0.0,
                held_usd=_usd_from_micro(e.get("held")) or 0.0,
                held_percent=_float(e.get("heldPercent")),
                disposed_usd=_usd_from_micro(e.get("disposed")) or 0.0,
                paid_usd=_usd_from_micro(e.get("paid")) or 0.0,
                distributed_usd=_usd_from_micro(e.get("distributed")) or 0.0,
                receipt=str(e.get("receipt") or ""),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class HeldTotal:
    """Everything one satellite has held since the node joined, in USD."""

    satellite_id: str
    satellite_name: str
    total_held_usd: float
    total_disposed_usd: float
    joined_at: float | None


def held_history_from_api(reply: Any) -> list[HeldTotal]:
    """``/api/heldamount/held-history`` (micro-dollars) → one row per satellite."""
    rows = []
    for entry in _list(reply):
        e = _dict(entry)
        sat_id = e.get("satelliteID")
        if not isinstance(sat_id, str) or not sat_id:
            continue
        rows.append(
            HeldTotal(
                satellite_id=sat_id,
                satellite_name=str(e.get("satelliteName") or sat_id),
                total_held_usd=_usd_from_micro(e.get("totalHeld")) or 0.0,
                total_disposed_usd=_usd_from_micro(e.get("totalDisposed")) or 0.0,
                joined_at=parse_time(e.get("joinedAt")),
            )
        )
    return rows


def periods_from_api(reply: Any) -> list[str]:
    """``/api/heldamount/periods`` → the ``YYYY-MM`` months that have paystubs, sorted."""
    return sorted(
        {p for p in _list(reply) if isinstance(p, str) and len(p) == 7 and p[4] == "-"}
    )
