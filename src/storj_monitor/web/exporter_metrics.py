"""The Storj-Exporter families on /metrics, from the node API replies the coordinators keep.

Dashboards and alert rules written for anclrii/Storj-Exporter (one exporter per node) keep
working: the same family names, label names and values, computed by the same rules from the
same ``/api/sno/`` replies. The rules were re-implemented from that project's documented
behaviour (it is GPL-3; no code was copied):

- ``storj_node_info{type=K, K="<str(value)>"} 1`` for K in nodeID, wallet, upToDate, version,
  allowedVersion, quicStatus (a missing or null key: no sample; booleans print ``True``/``False``).
- ``storj_total_diskspace{type=used|available|trash}``, ``storj_total_bandwidth{type=used|
  available}``: ``diskSpace`` / ``bandwidth`` of ``/api/sno/`` as the node sends them (raw:
  before v1.143 ``available`` is the allocation, since then free space).
- ``storj_payout_currentMonth{type=...}``: ``currentMonth`` of ``/api/sno/estimated-payout`` plus
  its ``currentMonthExpectations``, raw (cents, bytes, byte-months).
- Per satellite of ``/api/sno/``'s list with both ``id`` and ``url`` and a good
  ``/api/sno/satellite/{id}`` reply (labels ``satellite``, ``url``): ``storj_sat_summary`` (the
  reply's summaries and ``currentStorageUsed`` where the node has it, ``disqualified`` /
  ``suspended`` = 1 when the dashboard's time is set, else 0), ``storj_sat_audit`` (the
  ``audits`` fractions 0..1), ``storj_sat_month_egress`` / ``storj_sat_month_ingress`` (per key,
  the sum over the month's ``bandwidthDaily``; null or unusable list: no samples),
  ``storj_sat_day_storage{type=atRestTotal}`` (the last ``storageDaily`` entry, byte-hours).

Values are numbers as Python's ``float()`` reads them (``true`` = 1); anything else gives no
sample. Every family gets a first label ``node``; ``/metrics?node=NAME`` drops it again.

Only the replies of the node's last poll count: a node whose API is down (or not polled yet)
has none of these families, and an endpoint that failed in an otherwise good poll (404,
timeout, HTML: ``NodeCoordinator.endpoint_failures``) drops only the families built from it.
No API call is made at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from storj_monitor.services.coordinator import NodeCoordinator

SNO = "/api/sno/"
PAYOUT = "/api/sno/estimated-payout"

INFO_KEYS = ("nodeID", "wallet", "upToDate", "version", "allowedVersion", "quicStatus")
DISK_KEYS = ("used", "available", "trash")
BANDWIDTH_KEYS = ("used", "available")
PAYOUT_KEYS = (
    "egressBandwidth",
    "egressBandwidthPayout",
    "egressRepairAudit",
    "egressRepairAuditPayout",
    "diskSpace",
    "diskSpacePayout",
    "heldRate",
    "payout",
    "held",
    "currentMonthExpectations",
)
SUMMARY_KEYS = (
    "storageSummary",
    "bandwidthSummary",
    "egressSummary",
    "ingressSummary",
    "currentStorageUsed",
    "disqualified",
    "suspended",
)
AUDIT_KEYS = ("auditScore", "suspensionScore", "onlineScore")
EGRESS_KEYS = ("repair", "audit", "usage")
INGRESS_KEYS = ("repair", "usage")

SAT_LABELS = ["node", "type", "satellite", "url"]


def number(value: Any) -> float | None:
    """The sample value of an API value: what ``float()`` makes of it, else None (no sample)."""
    if value is None or isinstance(value, dict | list):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def label_text(value: Any) -> str:
    """An info label value: the value as text (``True`` / ``False`` for booleans)."""
    return value if isinstance(value, str) else str(value)


def month_sum(days: Any, direction: str) -> dict[str, float]:
    """Per key, the sum of ``bandwidthDaily[].<direction>`` (bytes); {} when the list is null,
    empty or holds anything but objects of numbers (the whole family is then left out)."""
    if not isinstance(days, list):
        return {}
    total: dict[str, float] = {}
    for day in days:
        part = day.get(direction) if isinstance(day, dict) else None
        if not isinstance(part, dict):
            return {}
        for key, value in part.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                return {}
            total[key] = total.get(key, 0) + value
    return total


def last_entry(days: Any) -> dict[str, Any]:
    """The last ``storageDaily`` entry, or {} (null, empty, not an object)."""
    if isinstance(days, list) and days and isinstance(days[-1], dict):
        return days[-1]
    return {}


def _gauges(
    family: GaugeMetricFamily,
    prefix: Sequence[str],
    data: Any,
    keys: tuple[str, ...],
    suffix: Sequence[str] = (),
) -> None:
    """One sample per key of ``data`` that holds a number (``type`` = the key)."""
    if not isinstance(data, dict):
        return
    for key in keys:
        value = number(data.get(key))
        if value is not None:
            family.add_metric([*prefix, key, *suffix], value)


class _Families:
    def __init__(self) -> None:
        self.info = InfoMetricFamily("storj_node", "Storj node info", labels=["node", "type"])
        self.disk = GaugeMetricFamily(
            "storj_total_diskspace", "Storj total diskspace metrics", labels=["node", "type"]
        )
        self.bandwidth = GaugeMetricFamily(
            "storj_total_bandwidth", "Storj total bandwidth metrics", labels=["node", "type"]
        )
        self.payout = GaugeMetricFamily(
            "storj_payout_currentMonth",
            "Storj estimated payouts for current month",
            labels=["node", "type"],
        )
        self.summary = GaugeMetricFamily(
            "storj_sat_summary", "Storj satellite summary metrics", labels=SAT_LABELS
        )
        self.audit = GaugeMetricFamily(
            "storj_sat_audit", "Storj satellite audit metrics", labels=SAT_LABELS
        )
        self.egress = GaugeMetricFamily(
            "storj_sat_month_egress",
            "Storj satellite egress since current month start",
            labels=SAT_LABELS,
        )
        self.ingress = GaugeMetricFamily(
            "storj_sat_month_ingress",
            "Storj satellite ingress since current month start",
            labels=SAT_LABELS,
        )
        self.day_storage = GaugeMetricFamily(
            "storj_sat_day_storage",
            "Storj satellite data stored on disk since current day start",
            labels=SAT_LABELS,
        )

    def all(self) -> list[Metric]:
        return [
            self.info,
            self.disk,
            self.bandwidth,
            self.payout,
            self.summary,
            self.audit,
            self.egress,
            self.ingress,
            self.day_storage,
        ]

    def add_node(self, name: str, c: NodeCoordinator) -> None:
        data = c.data
        if data is None or not c.live or SNO in c.endpoint_failures:
            return
        failures = c.endpoint_failures
        sno = data.summary.raw
        for key in INFO_KEYS:
            value = sno.get(key)
            if value is not None:
                self.info.add_metric([name, key], {key: label_text(value)})
        _gauges(self.disk, [name], sno.get("diskSpace"), DISK_KEYS)
        _gauges(self.bandwidth, [name], sno.get("bandwidth"), BANDWIDTH_KEYS)
        if data.payout is not None and PAYOUT not in failures:
            current = data.payout.get("currentMonth")
            payout = dict(current) if isinstance(current, dict) else {}
            payout["currentMonthExpectations"] = data.payout.get("currentMonthExpectations")
            _gauges(self.payout, [name], payout, PAYOUT_KEYS)
        satellites = sno.get("satellites")
        for sat in satellites if isinstance(satellites, list) else []:
            if not isinstance(sat, dict):
                continue
            sid, url = sat.get("id"), sat.get("url")
            if not (isinstance(sid, str) and sid and isinstance(url, str) and url):
                continue
            detail = data.details.get(sid)
            if detail is None or f"/api/sno/satellite/{sid}" in failures:
                continue
            self.add_satellite(name, sid, url, sat, detail.raw)

    def add_satellite(
        self, name: str, sid: str, url: str, sat: dict[str, Any], reply: dict[str, Any]
    ) -> None:
        summary = dict(reply)
        summary["suspended"] = 1 if sat.get("suspended") else 0
        summary["disqualified"] = 1 if sat.get("disqualified") else 0
        labels = [sid, url]
        _gauges(self.summary, [name], summary, SUMMARY_KEYS, labels)
        _gauges(self.audit, [name], reply.get("audits"), AUDIT_KEYS, labels)
        days = reply.get("bandwidthDaily")
        _gauges(self.egress, [name], month_sum(days, "egress"), EGRESS_KEYS, labels)
        _gauges(self.ingress, [name], month_sum(days, "ingress"), INGRESS_KEYS, labels)
        last_day = last_entry(reply.get("storageDaily"))
        _gauges(self.day_storage, [name], last_day, ("atRestTotal",), labels)


def exporter_families(coordinators: Mapping[str, NodeCoordinator]) -> Iterator[Metric]:
    """The nine Storj-Exporter families for every node with an API (``node`` label first)."""
    families = _Families()
    for name, c in coordinators.items():
        families.add_node(name, c)
    yield from families.all()
