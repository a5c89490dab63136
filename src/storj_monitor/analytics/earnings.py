"""What a node earns in one month, per satellite, and where the month will end (pure).

Everything here is USD, bytes, byte-hours and UTC unix seconds; the adapters convert the node
API's cents (price model, estimated payout) and the paystubs' micro-dollars before calling in.
The formulas are the node's own (storagenode ``estimatedpayouts`` and ``payouts.GetHeldRate``):

- egress (GET) and repair + audit egress (GET_REPAIR + GET_AUDIT) are paid per TB (1e12 bytes);
  the node prices repair *and* audit egress with the audit price, as its estimate does;
- storage is paid per TB-month, where a month is always 720 hours:
  ``TB-months = Σ byte-hours / 720 / 1e12`` (so a full 31-day month pays 744/720 of one);
- a share is held back by calendar months since the node joined *that* satellite
  (0–2: 75 %, 3–5: 50 %, 6–8: 25 %, then 0 %); in the 16th month (15 months after joining)
  half of everything held so far comes back;
- a satellite that disqualified the node pays nothing for the month.

The projection extrapolates by **elapsed hours** since the month started (or since the node
joined, if that was later), not by whole days, so it is not 20 % high on the 2nd at 04:00.
Storage tallies lag a day and can miss a day; the storage rate is the tallied byte-hours over
the hours those tallies cover, so a missing tally lowers neither the rate nor the projection.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

TB = 1e12
HOURS_PER_PAYOUT_MONTH = 720.0
DAY_S = 86_400.0
#: z for the projection's low/high range (a 90 % two-sided interval of a normal spread).
RANGE_Z = 1.645


@dataclass(frozen=True, slots=True)
class Prices:
    """What a satellite pays, in USD: per TB of egress, per TB-month of storage.

    Defaults are the production rates since December 2023 (reference part C); a node's own
    ``priceModel`` reply overrides them.
    """

    egress_usd_per_tb: float = 2.0
    repair_usd_per_tb: float = 2.0
    audit_usd_per_tb: float = 2.0
    storage_usd_per_tb_month: float = 1.5


@dataclass(frozen=True, slots=True)
class DayBandwidth:
    """One UTC day of egress in bytes (``bandwidthDaily`` or the log's own transfers)."""

    day_start: float
    egress_usage: int = 0
    egress_repair: int = 0
    egress_audit: int = 0


@dataclass(frozen=True, slots=True)
class DayStorage:
    """One satellite tally: byte-hours stored over ``hours`` hours starting at ``day_start``."""

    day_start: float
    byte_hours: float
    hours: float = 24.0


@dataclass(frozen=True, slots=True)
class SatelliteMonth:
    """Everything known about one satellite for one month, before any money is computed."""

    satellite_id: str
    satellite_name: str
    prices: Prices = field(default_factory=Prices)
    joined_at: float | None = None
    disqualified: bool = False
    bandwidth: Sequence[DayBandwidth] = ()
    storage: Sequence[DayStorage] = ()
    #: Everything held by this satellite since joining (USD), for the month-16 return.
    total_held_usd: float | None = None


@dataclass(frozen=True, slots=True)
class SatelliteEarnings:
    """One satellite's month: bytes, TB-months and USD. ``net = gross − held + returned``."""

    satellite_id: str
    satellite_name: str
    egress_bytes: int
    egress_usd: float
    repair_audit_bytes: int
    repair_audit_usd: float
    storage_byte_hours: float
    storage_tb_months: float
    storage_usd: float
    gross_usd: float
    held_rate_percent: int
    held_usd: float
    held_returned_usd: float
    net_usd: float
    months_since_join: int | None
    disqualified: bool


MONEY_FIELDS = (
    "egress_usd",
    "repair_audit_usd",
    "storage_usd",
    "gross_usd",
    "held_usd",
    "held_returned_usd",
    "net_usd",
)


@dataclass(frozen=True, slots=True)
class Projection:
    """Month-end net USD with a 90 % range; the hours say how much of the month was seen."""

    month_end_net_usd: float
    low_usd: float
    high_usd: float
    elapsed_hours: float
    hours_in_month: float


def month_bounds(period: str) -> tuple[float, float]:
    """``"YYYY-MM"`` → (start, end) in UTC unix seconds. Raises ValueError on a bad period."""
    try:
        year_s, month_s = period.split("-")
        year, month = int(year_s), int(month_s)
        start = datetime(year, month, 1, tzinfo=UTC)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"period must be YYYY-MM, got {period!r}") from exc
    days = calendar.monthrange(year, month)[1]
    return start.timestamp(), start.timestamp() + days * DAY_S


def period_of(ts: float) -> str:
    """The UTC month (``"YYYY-MM"``) that contains ``ts``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def months_since_join(joined_at: float, period: str) -> int:
    """Calendar months between the join month and ``period`` (0 in the joining month)."""
    joined = datetime.fromtimestamp(joined_at, UTC)
    year, month = (int(p) for p in period.split("-"))
    return (year - joined.year) * 12 + (month - joined.month)


def held_rate_percent(months: int) -> int:
    """Share held back in a month ``months`` calendar months after joining (node's rule)."""
    if months < 3:
        return 75
    if months < 6:
        return 50
    if months < 9:
        return 25
    return 0


def satellite_earnings(sat: SatelliteMonth, period: str) -> SatelliteEarnings:
    """One satellite's figures for the month so far (what its tallies and traffic say)."""
    start, end = month_bounds(period)
    days = [d for d in sat.bandwidth if start <= d.day_start < end]
    tallies = [s for s in sat.storage if start <= s.day_start < end]
    egress = sum(d.egress_usage for d in days)
    repair_audit = sum(d.egress_repair + d.egress_audit for d in days)
    byte_hours = sum(s.byte_hours for s in tallies)
    months = months_since_join(sat.joined_at, period) if sat.joined_at is not None else None
    rate = held_rate_percent(months) if months is not None else 0
    if sat.disqualified:
        return SatelliteEarnings(
            sat.satellite_id, sat.satellite_name, egress, 0.0, repair_audit, 0.0, byte_hours,
            byte_hours / HOURS_PER_PAYOUT_MONTH / TB, 0.0, 0.0, rate, 0.0, 0.0, 0.0, months, True,
        )  # fmt: skip
    p = sat.prices
    egress_usd = egress / TB * p.egress_usd_per_tb
    repair_audit_usd = repair_audit / TB * p.audit_usd_per_tb
    tb_months = byte_hours / HOURS_PER_PAYOUT_MONTH / TB
    storage_usd = tb_months * p.storage_usd_per_tb_month
    gross = egress_usd + repair_audit_usd + storage_usd
    held = gross * rate / 100.0
    returned = (sat.total_held_usd or 0.0) * 0.5 if months == 15 else 0.0
    return SatelliteEarnings(
        sat.satellite_id, sat.satellite_name, egress, egress_usd, repair_audit, repair_audit_usd,
        byte_hours, tb_months, storage_usd, gross, rate, held, returned, gross - held + returned,
        months, False,
    )  # fmt: skip


def total(earnings: Iterable[SatelliteEarnings]) -> dict[str, float]:
    """The money fields summed over satellites (USD)."""
    rows = list(earnings)
    return {name: sum(getattr(e, name) for e in rows) for name in MONEY_FIELDS}


def _observed_start(sat: SatelliteMonth, start: float) -> float:
    """Payable time starts at the month's start, or when the node joined if later."""
    return max(start, sat.joined_at) if sat.joined_at is not None else start


def _daily_net(
    sat: SatelliteMonth, earned: SatelliteEarnings, start: float, now: float
) -> dict[float, float]:
    """Net USD of each complete day seen, by day start (traffic plus that day's tally)."""
    if earned.disqualified:
        return {}
    p = sat.prices
    keep = 1.0 - earned.held_rate_percent / 100.0
    storage = {s.day_start: s for s in sat.storage}
    out: dict[float, float] = {}
    for d in sat.bandwidth:
        if d.day_start < start or d.day_start + DAY_S > now:
            continue
        usd = d.egress_usage / TB * p.egress_usd_per_tb
        usd += (d.egress_repair + d.egress_audit) / TB * p.audit_usd_per_tb
        tally = storage.get(d.day_start)
        if tally is not None and tally.hours > 0:
            usd += tally.byte_hours / tally.hours * 24.0 / HOURS_PER_PAYOUT_MONTH / TB * p.storage_usd_per_tb_month
        out[d.day_start] = usd * keep
    return out


def project_month(
    sats: Sequence[SatelliteMonth], period: str, *, now: float
) -> tuple[list[SatelliteEarnings], Projection]:
    """This month's figures per satellite and the month-end net with its range.

    Traffic is extrapolated by its rate per elapsed hour; storage by the average bytes its
    tallies show (byte-hours ÷ hours covered) over the whole payable month. The range comes
    from the spread of complete days' net: a sum of ``d`` more days varies by ``sd·√d`` and the
    rate itself is uncertain by ``sd·d/√n``; it never goes below what is already earned.
    """
    start, end = month_bounds(period)
    hours_in_month = (end - start) / 3600.0
    clock = min(max(now, start), end)
    elapsed = (clock - start) / 3600.0
    earned = [satellite_earnings(s, period) for s in sats]
    projected = 0.0
    so_far = 0.0
    daily_by_day: dict[float, float] = {}
    for sat, e in zip(sats, earned, strict=True):
        so_far += e.net_usd
        if e.disqualified:
            continue
        first = _observed_start(sat, start)
        payable_hours = max((end - first) / 3600.0, 0.0)
        seen_hours = max((clock - first) / 3600.0, 0.0)
        traffic_usd = e.egress_usd + e.repair_audit_usd
        traffic_end = traffic_usd * payable_hours / seen_hours if seen_hours > 0 else 0.0
        tallies = [s for s in sat.storage if start <= s.day_start < end and s.hours > 0]
        covered = sum(s.hours for s in tallies)
        storage_end = e.storage_usd * payable_hours / covered if covered > 0 else e.storage_usd
        gross_end = traffic_end + storage_end
        projected += gross_end * (1 - e.held_rate_percent / 100.0) + e.held_returned_usd
        for day, usd in _daily_net(sat, e, first, clock).items():
            daily_by_day[day] = daily_by_day.get(day, 0.0) + usd
    remaining = (end - clock) / DAY_S
    if len(daily_by_day) >= 2:
        spread = _spread(list(daily_by_day.values()), remaining_days=remaining)
    else:  # under two complete days: no spread to measure, only "at least what is earned"
        spread = max(projected - so_far, 0.0) if remaining > 0 else 0.0
    low = max(projected - spread, min(so_far, projected))
    high = projected + spread
    return earned, Projection(projected, low, high, elapsed, hours_in_month)


def _spread(daily: list[float], *, remaining_days: float) -> float:
    """Half-width (USD) of the range for the rest of the month from day-to-day variation."""
    n = len(daily)
    if remaining_days <= 0:
        return 0.0
    mean = sum(daily) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in daily) / (n - 1))
    return RANGE_Z * sd * math.sqrt(remaining_days + remaining_days**2 / n)
