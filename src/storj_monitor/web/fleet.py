"""Node identity and the fleet table's rows: how they read on the page, decided here.

Identity comes from the coordinator's last good ``/api/sno/`` reply (``source: "api"``) and,
for a node without one, from its log's records (``source: "log"``, see
:func:`storj_monitor.store.fleet.log_identity`). A fleet row puts together, for one node, what
the other cards show for a view: status, version, uptime, disk, the lowest reputation score,
success rates, open alerts and this month's net earnings. Pure functions: the handler
(:mod:`storj_monitor.web.handlers_fleet`) reads the store; uptime comes from services/node_watch.

Units: times UTC unix seconds in, ISO 8601 out; scores and rates in percent; USD.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from storj_monitor.analytics.traffic import summarize_traffic
from storj_monitor.model import SEVERITY_RANK, iso_utc
from storj_monitor.services.coordinator import NodeCoordinator

#: Score kinds of the reputation payload, in the order a tie is reported.
SCORE_KINDS = ("audit", "suspension", "online")
#: Fleet columns of success rates -> traffic categories (analytics/traffic.py).
RATE_CATEGORIES = {"download": "get", "upload": "put", "audit": "audit"}
#: The window of the success rates, hours.
RATE_WINDOW_HOURS = 24.0


def _version(text: str | None) -> str | None:
    """``v1.145.3`` (log) and ``1.145.3`` (API) read alike."""
    return text[1:] if text and text[:1] in "vV" and text[1:2].isdigit() else text


def node_identity(
    coordinator: NodeCoordinator | None, log_row: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``{"node_id", "version", "allowed_version", "up_to_date", "quic_status",
    "last_contact", "source"}`` or None.

    The API's reply wins when there is one (even a stale one: the node id and version do not
    change between polls); the log's start-up and version lines otherwise. Uptime is not
    here: ``started_at``/``uptime_seconds`` come from services/node_watch (restarts).
    """
    data = coordinator.data if coordinator is not None else None
    if data is not None:
        s = data.summary
        return {
            "node_id": s.node_id,
            "version": _version(s.version),
            "allowed_version": _version(s.allowed_version),
            "up_to_date": s.up_to_date,
            "quic_status": s.quic_status,
            "last_contact": iso_utc(s.last_pinged),
            "source": "api",
        }
    if not log_row:
        return None
    outdated = log_row.get("outdated")
    return {
        "node_id": log_row.get("node_id"),
        "version": _version(log_row.get("version")),
        "allowed_version": _version(log_row.get("allowed_version")),
        "up_to_date": None if outdated is None else not outdated,
        "quic_status": None,
        "last_contact": None,
        "source": "log",
    }


def lowest_score(reputation: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The lowest audit, suspension or online score of a node's satellites (reputation_data
    rows) with its satellite: ``{"kind", "value", "status", "satellite_id",
    "satellite_name"}``; None without scores."""
    best: dict[str, Any] | None = None
    for row in reputation:
        for kind in SCORE_KINDS:
            value = row.get(f"{kind}_score")
            if value is None:
                continue
            if best is None or value < best["value"]:
                best = {
                    "kind": kind,
                    "value": value,
                    "status": row.get(f"{kind}_status", "unknown"),
                    "satellite_id": row.get("satellite_id"),
                    "satellite_name": row.get("satellite_name"),
                }
    return best


def success_rates(counts: Iterable[tuple[str, str, int]]) -> dict[str, float | None]:
    """``{"download", "upload", "audit"}`` success rates in percent (None: no operations)."""
    ops = summarize_traffic((None, a, s, "", n, 0) for a, s, n in counts)["operations"]
    return {col: ops[cat]["success_rate"] for col, cat in RATE_CATEGORIES.items()}


def node_status(alerts: Iterable[Mapping[str, Any]], api_state: str) -> str:
    """``critical`` / ``warning`` by the worst open alert; ``warning`` while the node API
    fails; else ``ok``."""
    rank = max((SEVERITY_RANK.get(str(a.get("severity")), 0) for a in alerts), default=0)
    if rank >= SEVERITY_RANK["critical"]:
        return "critical"
    if rank >= SEVERITY_RANK["warning"] or api_state == "down":
        return "warning"
    return "ok"


def fleet_row(
    node_name: str,
    *,
    api_state: str,
    identity: Mapping[str, Any] | None,
    health: Mapping[str, Any],
    storage: Mapping[str, Any] | None,
    reputation: list[Mapping[str, Any]],
    counts: Iterable[tuple[str, str, int]],
    alerts: list[Mapping[str, Any]],
    earnings_net_usd: float | None,
) -> dict[str, Any]:
    """One row of ``fleet_status`` (fields: docs/protocol.md)."""
    ident = identity or {}
    worst = max(
        (str(a.get("severity")) for a in alerts),
        key=lambda s: SEVERITY_RANK.get(s, 0),
        default=None,
    )
    return {
        "node_name": node_name,
        "status": node_status(alerts, api_state),
        "api_state": api_state,
        "version": ident.get("version"),
        "up_to_date": ident.get("up_to_date"),
        "node_id": ident.get("node_id"),
        "identity": identity,
        "started_at": health.get("started_at"),
        "uptime_seconds": health.get("uptime_seconds"),
        "used_percent": storage.get("used_percent") if storage else None,
        "days_until_full": storage.get("days_until_full") if storage else None,
        "storage_stale": bool(storage.get("stale")) if storage else None,
        "lowest_score": lowest_score(reputation),
        "success_rates": success_rates(counts),
        "open_alerts": len(alerts),
        "worst_alert_severity": worst,
        "earnings_net_usd": earnings_net_usd,
    }


def earnings_by_node(data: Any) -> dict[str, float]:
    """``{node: total.net_usd}`` from an ``earnings_data`` payload's ``data`` (branch earn);
    anything unexpected is skipped."""
    out: dict[str, float] = {}
    if not isinstance(data, list):
        return out
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("node_name"), str):
            continue
        total = item.get("total")
        net = total.get("net_usd") if isinstance(total, dict) else None
        if isinstance(net, int | float) and not isinstance(net, bool):
            out[item["node_name"]] = float(net)
    return out
