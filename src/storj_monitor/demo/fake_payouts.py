"""The fake node's money: daily traffic and tallies, its estimate and its payout history.

Every figure is derived from one deterministic model per satellite (bytes per day, stored
bytes, join date), and the replies are built with the node's own formulas and units, so
``/api/sno/estimated-payout`` agrees with what ``analytics/earnings`` computes from
``bandwidthDaily``/``storageDaily``, and the paystubs of closed months follow the held-back
schedule (75/50/25/0 %, half returned in the 16th month). Units as the node sends them:
prices and estimates in **cents**, paystubs and payout history in **micro-dollars**.
"""

from __future__ import annotations

import calendar
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DAY_S = 86_400
#: The node's prices (cents per TB, cents per TB-month).
PRICE_MODEL = {"EgressBandwidth": 200, "RepairBandwidth": 200, "AuditBandwidth": 200, "DiskSpace": 150}


@dataclass(frozen=True)
class SatModel:
    """One satellite's steady traffic: bytes per day and its share of the stored bytes."""

    joined: str  # RFC 3339
    get_per_day: int
    repair_per_day: int
    audit_per_day: int
    put_per_day: int
    share: float


MODELS: dict[str, SatModel] = {
    "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6": SatModel("2024-10-19T02:13:07Z", 9 * 10**9, 10**9, 2 * 10**7, 20 * 10**9, 0.15),
    "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S": SatModel("2024-09-04T07:13:40Z", 25 * 10**9, 3 * 10**9, 4 * 10**7, 55 * 10**9, 0.45),
    "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs": SatModel("2024-10-02T19:40:51Z", 18 * 10**9, 2 * 10**9, 3 * 10**7, 40 * 10**9, 0.30),
    "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE": SatModel("2026-09-10T00:00:00Z", 4 * 10**9, 5 * 10**8, 10**7, 8 * 10**9, 0.10),
}  # fmt: skip


def _ts(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month_start(ts: float) -> float:
    d = datetime.fromtimestamp(ts, UTC)
    return datetime(d.year, d.month, 1, tzinfo=UTC).timestamp()


def _wobble(day_start: float) -> float:
    """Day-to-day variation (±20 %), the same for the same day."""
    return 1.0 + 0.2 * math.sin(day_start / DAY_S)


def _months_between(joined: float, period_start: float) -> int:
    a, b = datetime.fromtimestamp(joined, UTC), datetime.fromtimestamp(period_start, UTC)
    return (b.year - a.year) * 12 + b.month - a.month


def held_rate(months: int) -> int:
    return 75 if months < 3 else 50 if months < 6 else 25 if months < 9 else 0


def bandwidth_daily(model: SatModel, now: float) -> list[dict[str, Any]]:
    """This month's days up to today (today's traffic so far), as ``bandwidthDaily``."""
    start = max(_month_start(now), _day(_ts(model.joined)))
    out = []
    day = start
    while day <= now:
        part = min(now - day, DAY_S) / DAY_S * _wobble(day)
        out.append({
            "egress": {"repair": int(model.repair_per_day * part), "audit": int(model.audit_per_day * part), "usage": int(model.get_per_day * part)},
            "ingress": {"repair": int(model.put_per_day * part / 4), "usage": int(model.put_per_day * part)},
            "delete": 0,
            "intervalStart": _iso(day),
        })  # fmt: skip
        day += DAY_S
    return out


def _day(ts: float) -> float:
    return ts - ts % DAY_S


def storage_daily(model: SatModel, used_bytes: int, now: float) -> list[dict[str, Any]]:
    """Tallies of this month's complete days before yesterday (the satellite lags a day)."""
    start = max(_month_start(now), _day(_ts(model.joined)) + DAY_S)
    out = []
    day = start
    while day + 2 * DAY_S <= now:
        stored = used_bytes * model.share
        out.append({
            "atRestTotal": stored * 24, "atRestTotalBytes": stored, "intervalInHours": 24,
            "intervalStart": _iso(day), "calculated": False,
        })  # fmt: skip
        day += DAY_S
    return out


def _month_cents(sat: dict[str, Any], joined: float, period_start: float) -> dict[str, Any]:
    """``estimated-payout``'s month object for one satellite (cents), node formula."""
    get = sum(d["egress"]["usage"] for d in sat["bandwidthDaily"])
    repair_audit = sum(d["egress"]["repair"] + d["egress"]["audit"] for d in sat["bandwidthDaily"])
    byte_months = sum(s["atRestTotal"] for s in sat["storageDaily"]) / 720
    get_c = round(get * PRICE_MODEL["EgressBandwidth"] / 1e12, 2)
    ra_c = round(repair_audit * PRICE_MODEL["AuditBandwidth"] / 1e12, 2)
    disk_c = round(byte_months * PRICE_MODEL["DiskSpace"] / 1e12, 2)
    rate = held_rate(_months_between(joined, period_start))
    gross = get_c + ra_c + disk_c
    held = gross * rate / 100
    return {
        "egressBandwidth": get, "egressBandwidthPayout": get_c, "egressRepairAudit": repair_audit,
        "egressRepairAuditPayout": ra_c, "diskSpace": byte_months, "diskSpacePayout": disk_c,
        "heldRate": rate, "payout": round(gross - held, 2), "held": held,
    }  # fmt: skip


def estimated_payout(sats: dict[str, dict[str, Any]], disqualified: set[str], now: float) -> dict[str, Any]:
    """``/api/sno/estimated-payout``: the month so far summed over satellites not disqualified,
    and ``currentMonthExpectations`` extrapolated by time (from joining, if this month)."""
    start = _month_start(now)
    days = calendar.monthrange(*(int(p) for p in _iso(now)[:7].split("-")))[1]
    end = start + days * DAY_S
    keys = ("egressBandwidth", "egressBandwidthPayout", "egressRepairAudit", "egressRepairAuditPayout",
            "diskSpace", "diskSpacePayout", "payout", "held")  # fmt: skip
    current = dict.fromkeys(keys, 0.0)
    expected = 0.0
    for sid, sat in sats.items():
        if sid in disqualified:
            continue
        joined = _ts(MODELS[sid].joined)
        month = _month_cents(sat, joined, start)
        for k in keys:
            current[k] += month[k]
        first = max(start, joined)
        if now > first:
            expected += month["payout"] / (now - first) * (end - first)
    current["heldRate"] = 0  # not aggregated, as the node does
    previous = {k: v * 1.4 for k, v in current.items()}
    return {"currentMonth": current, "previousMonth": previous, "currentMonthExpectations": int(expected)}


def _closed_months(joined: float, now: float) -> list[float]:
    out = []
    d = datetime.fromtimestamp(joined, UTC)
    y, m = d.year, d.month
    this = _month_start(now)
    while (t := datetime(y, m, 1, tzinfo=UTC).timestamp()) < this:
        out.append(t)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def payout_rows(used_bytes: int, now: float) -> list[dict[str, Any]]:
    """One payout-history row (micro-dollars) per satellite and closed month, oldest first."""
    rows = []
    for sid, model in MODELS.items():
        joined = _ts(model.joined)
        held_total = 0
        for i, start in enumerate(_closed_months(joined, now)):
            ramp = min(1.0, (i + 1) / 6)  # a new node fills up over its first months
            earned = int(
                (model.get_per_day * 2 + (model.repair_per_day + model.audit_per_day) * 2) * 30 / 1e6
                + used_bytes * model.share * ramp * 1.5 / 1e6
            )
            percent = held_rate(i)
            held = earned * percent // 100
            disposed = held_total // 2 if i == 15 else 0
            held_total += held
            paid = earned - held + disposed
            period = _iso(start)[:7]
            rows.append({
                "satelliteID": sid, "satelliteURL": "", "age": i + 1, "earned": earned,
                "surge": earned, "surgePercent": 100, "held": held, "heldPercent": percent,
                "afterHeld": earned - held, "disposed": disposed, "paid": paid,
                "receipt": "zksync-era:0x" + hashlib.sha256(f"{sid}{period}".encode()).hexdigest(),
                "isExitComplete": False, "distributed": paid if paid >= 2_000_000 else 0,
                "period": period,
            })  # fmt: skip
    return rows


def held_history(used_bytes: int, now: float) -> list[dict[str, Any]]:
    """``/api/heldamount/held-history`` (micro-dollars) from the same payout rows."""
    out = []
    for sid, model in MODELS.items():
        mine = [r for r in payout_rows(used_bytes, now) if r["satelliteID"] == sid]
        held = [r["held"] for r in mine]
        out.append({
            "satelliteID": sid, "satelliteName": "", "holdForFirstPeriod": sum(held[0:3]),
            "holdForSecondPeriod": sum(held[3:6]), "holdForThirdPeriod": sum(held[6:9]),
            "totalHeld": sum(held), "totalDisposed": sum(r["disposed"] for r in mine),
            "joinedAt": model.joined,
        })  # fmt: skip
    return out
