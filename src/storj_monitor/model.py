"""Plain data shared by every layer: no I/O, no clock, nothing of ours imported.

Units everywhere in this package: time as UTC unix seconds (float), sizes in bytes,
durations in milliseconds, scores in percent (0..100) once they leave the API client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["success", "failed", "canceled"]
Severity = Literal["info", "warning", "critical"]

#: How a duration was measured. ``precise``: docker's nanosecond receive stamps;
#: ``arrival``: the monitor's own clock when it read each line live (ms precision);
#: ``log_millis``: log timestamps with milliseconds or finer (±1 ms);
#: ``log_seconds``: whole-second log timestamps (±1 s); ``field``: a Go ``duration`` field.
DurationSource = Literal["precise", "arrival", "log_millis", "log_seconds", "field"]

#: Severities from least to most severe (sorting, "worse than acknowledged", notify floor).
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
#: How the analytics categories read in titles and labels.
CATEGORY_LABELS: dict[str, str] = {"get": "GET", "put": "PUT", "audit": "Audit", "repair": "Repair"}


def iso_utc(ts: float | None) -> str | None:
    """UTC unix seconds -> ``2025-01-04T10:30:15Z`` (whole seconds); None stays None.

    The one time format of JSON payloads and messages.
    """
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: Actions as the storagenode writes them, mapped to the analytics categories of the seed.
ACTION_CATEGORY: dict[str, str] = {
    "GET": "get",
    "PUT": "put",
    "GET_AUDIT": "audit",
    "GET_REPAIR": "repair",
    "PUT_REPAIR": "repair",
}
CATEGORIES: tuple[str, ...] = ("get", "put", "audit", "repair")
#: Actions whose bytes leave the node (egress) versus arrive (ingress).
EGRESS_ACTIONS = frozenset({"GET", "GET_AUDIT", "GET_REPAIR"})
INGRESS_ACTIONS = frozenset({"PUT", "PUT_REPAIR", "PUT_GRACEFUL_EXIT"})


def action_category(action: str) -> str:
    """The seed's latency category of an action (``get``/``put``/``audit``/``repair``/``other``)."""
    return ACTION_CATEGORY.get(action, "other")


@dataclass(slots=True)
class Event:
    """One finished piece operation: one row of the ``events`` table.

    ``timestamp`` is the finish line's log time (UTC unix seconds). ``duration_ms`` is None
    when no matching ``... started`` line was seen (INFO log level, or a restart in between).
    """

    timestamp: float
    node_name: str
    action: str
    status: Status
    size: int | None
    satellite_id: str | None
    piece_id: str | None
    remote_ip: str | None
    error: str | None = None
    error_category: str | None = None
    duration_ms: float | None = None
    duration_source: DurationSource | None = None


@dataclass(slots=True)
class LogRecord:
    """A non-piece line worth keeping (compaction, filewalker, retain, ping failure, ...).

    ``kind`` is a short stable name (see ``logs.parser.RECORD_KINDS``); ``fields`` holds the
    line's JSON fields with keys normalised to snake_case.
    """

    timestamp: float
    node_name: str
    kind: str
    level: str
    message: str
    satellite_id: str | None = None
    duration_ms: float | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One ``--node NAME:LOG_SOURCE[:API_URL]`` argument, already split.

    ``log_source`` is a file path, or ``host:port`` of a log forwarder (``is_remote``).
    ``api_url`` is None when the user gave none; discovery decides later.
    ``data_dir`` (``[[node]] data_dir`` or ``--node-data-dir``) is the node's storage directory
    on this host, for the filesystem's view of the disk (``statvfs``); ``allocation`` (bytes,
    ``[[node]] allocation``) the space given to the node, so a node without an API still has
    a used/total. Both None when not configured.
    """

    name: str
    log_source: str
    api_url: str | None = None
    is_remote: bool = False
    data_dir: str | None = None
    allocation: int | None = None


@dataclass(frozen=True, slots=True)
class StorageSnapshot:
    """Disk usage of one node at one time (the seed's ``storage_snapshots`` row).

    ``available_bytes`` always means **free** space, whatever the node version reported.
    ``source`` is ``api`` or ``log`` (sampled from ``upload started`` lines).
    """

    timestamp: float
    node_name: str
    total_bytes: int | None
    used_bytes: int | None
    available_bytes: int
    trash_bytes: int | None
    used_percent: float | None
    trash_percent: float | None
    available_percent: float | None
    source: str = "api"


@dataclass(frozen=True, slots=True)
class SatelliteScore:
    """Reputation of a node on one satellite at one time; scores in percent (0..100)."""

    timestamp: float
    node_name: str
    satellite_id: str
    satellite_name: str | None
    audit_score: float | None
    suspension_score: float | None
    online_score: float | None
    disqualified: bool = False
    suspended: bool = False
    vetted: bool | None = None
    total_audits: int | None = None
    successful_audits: int | None = None
    source: str = "api"


@dataclass(slots=True)
class Alert:
    """A condition that an operator should see.

    ``key`` identifies the condition (e.g. ``disk_usage``, ``audit_score:12Eay...``) so the
    same condition is one alert that stays open, not a new one every poll.
    Times are UTC unix seconds; ``resolved_at``/``acknowledged_at`` are None while open/unseen.
    """

    node_name: str
    kind: str
    key: str
    severity: Severity
    title: str
    message: str
    first_seen: float
    last_seen: float
    resolved_at: float | None = None
    acknowledged_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_name": self.node_name,
            "kind": self.kind,
            "key": self.key,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "resolved_at": self.resolved_at,
            "acknowledged_at": self.acknowledged_at,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class AlertCondition:
    """What an alert rule (pure) says is true now; the alert engine turns it into an Alert."""

    node_name: str
    kind: str
    key: str
    severity: Severity
    title: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    #: True when the value is back inside the threshold but within its hysteresis band: it
    #: keeps an open (or pending) alert of the same key alive and never opens one.
    hold: bool = False

    @classmethod
    def holding(cls, node_name: str, kind: str, key: str) -> AlertCondition:
        """The condition of a value inside the hysteresis band (see ``hold``)."""
        return cls(node_name, kind, key, "warning", "", "", hold=True)
