"""Alert rules over log lines and API availability, pure.

- A failed ``GET_AUDIT`` in the log is an alert of its own, before any score moves: each
  failure costs about 0.1 audit-score point and 40 in a row disqualify a perfect node.
  Missing or corrupt pieces (the cause of disqualification) are critical; other failures
  (timeouts, canceled contexts) a warning.
- ``ping satellite failed`` means a satellite could not reach the node (online score at risk);
  one is often a blip, so the log watch raises it for a burst (PING_FAILED_ALERT_COUNT for one
  satellite within PING_FAILED_WINDOW_S).
- The node's own warnings that it is about to stop or lose data: disk smaller than the
  allocation or more used than allocated (``disk_space``), a failed readability/writability
  check of the storage directory (``storage_check``), an unrecoverable error (``fatal``).
- An API unreachable for longer than NODE_API_OFFLINE_ALERT_SECONDS: node possibly offline.

These are one-shot conditions (``AlertEngine.fire``) except the offline one, which the
poller reconciles every poll.
"""

from __future__ import annotations

from storj_monitor.analytics.reputation import audits_until_disqualification
from storj_monitor.model import AlertCondition, Event, LogRecord

LOG_KINDS = frozenset({"audit_failed", "ping_failed", "disk_space", "storage_check", "fatal"})
API_KINDS = frozenset({"node_offline"})
#: Seconds a one-shot log alert stays open after its last occurrence.
AUDIT_FAILED_RESOLVE_AFTER = 24 * 3600.0
PING_FAILED_RESOLVE_AFTER = 3600.0
PING_FAILED_WINDOW_S = 900.0

_MISSING_PIECE_HINTS = ("file does not exist", "not found", "no such file", "corrupt", "hash")


def _short(sat: str | None) -> str:
    return (sat or "unknown satellite")[:12]


def failed_audit_condition(event: Event, audit_score: float | None = None) -> AlertCondition | None:
    """A failed ``GET_AUDIT`` event as a condition; None for any other event.

    ``audit_score`` (percent), the satellite's last known score, adds how many more failures
    the node can survive (λ = 0.999 per audit) to the message.
    """
    if event.action != "GET_AUDIT" or event.status != "failed":
        return None
    error = (event.error or "").strip()
    lowered = (error + " " + (event.error_category or "")).lower()
    missing = any(h in lowered for h in _MISSING_PIECE_HINTS)
    reason = event.error_category or error or "unknown error"
    left = audits_until_disqualification(audit_score)
    outlook = (
        f" Last audit score on this satellite: {audit_score:.2f}%; about {left} more failed "
        "audit(s) would disqualify the node."
        if audit_score is not None and left is not None
        else ""
    )
    return AlertCondition(
        node_name=event.node_name,
        kind="audit_failed",
        key=f"audit_failed:{event.satellite_id or ''}",
        severity="critical" if missing else "warning",
        title=f"Failed Audit on {event.node_name}",
        message=(
            f"A GET_AUDIT for piece {event.piece_id or '?'} from satellite {_short(event.satellite_id)} "
            f"failed: {reason}. Each failed audit lowers the audit score; below 96% the node is "
            f"disqualified.{outlook}"
        ),
        details={
            "satellite_id": event.satellite_id,
            "piece_id": event.piece_id,
            "error": error[:500],
            "timestamp": event.timestamp,
            "audit_score": audit_score,
            "failed_audits_until_disqualification": left,
        },
    )


def ping_failed_condition(
    record: LogRecord, failures: int = 1, window_s: float = PING_FAILED_WINDOW_S
) -> AlertCondition | None:
    """``ping satellite failed`` (the latest of ``failures`` within ``window_s`` seconds for
    this satellite) as a condition; None for any other record."""
    if record.kind != "ping_failed":
        return None
    error = str(record.fields.get("error") or "")
    burst = f" {failures} times in {window_s / 60:.0f} minutes" if failures > 1 else ""
    return AlertCondition(
        node_name=record.node_name,
        kind="ping_failed",
        key=f"ping_failed:{record.satellite_id or ''}",
        severity="warning",
        title=f"Satellite Cannot Reach {record.node_name}",
        message=(
            f"Satellite {_short(record.satellite_id)} failed to ping the node{burst}"
            f"{' (last error: ' + error[:300] + ')' if error else ''}. Check port forwarding "
            "and the firewall; "
            "the online score drops while the node is unreachable."
        ),
        details={"satellite_id": record.satellite_id, "timestamp": record.timestamp,
                 "failures": failures, "error": error[:500]},
    )  # fmt: skip


def node_offline_condition(
    node_name: str,
    api_url: str,
    failing_since: float | None,
    now: float,
    threshold_seconds: float,
    reason: str = "",
    *,
    answered: bool = False,
) -> AlertCondition | None:
    """The node API has failed continuously for longer than ``threshold_seconds``.

    ``reason`` says what it did (``answered HTTP 500``, ``did not answer (...)``); when it
    ``answered`` (an error page, HTML, garbage) the message says so instead of "not answered".
    """
    if failing_since is None or now - failing_since < threshold_seconds:
        return None
    minutes = (now - failing_since) / 60.0
    span = f"{minutes:.0f} minutes" if minutes >= 1 else "less than a minute"
    if answered:
        message = (
            f"The node API at {api_url} has failed for {span}: it {reason}. "
            "The node may be down or its dashboard API misconfigured."
        )
    else:
        message = (
            f"The node API at {api_url} has not answered for {span}"
            f"{' (' + reason + ')' if reason else ''}. The node may be down."
        )
    return AlertCondition(
        node_name=node_name,
        kind="node_offline",
        key="node_offline",
        severity="critical",
        title=f"Node Possibly Offline: {node_name}",
        message=message,
        details={"api_url": api_url, "failing_since": failing_since, "reason": reason},
    )


#: record kind -> (title, what it means, seconds until it resolves without a new occurrence)
_NODE_PROBLEMS: dict[str, tuple[str, str, float]] = {
    "disk_space": (
        "Disk Space Problem on {node}",
        "The node reports a disk space problem",
        24 * 3600.0,
    ),
    "storage_check": (
        "Storage Directory Check Failed on {node}",
        "The node could not verify its storage directory; it shuts down after this",
        6 * 3600.0,
    ),
    "fatal": (
        "Node Stopped With an Error: {node}",
        "The storagenode reported an unrecoverable error and stops",
        6 * 3600.0,
    ),
}


def node_problem_condition(record: LogRecord) -> tuple[AlertCondition, float] | None:
    """A node-reported problem as (condition, auto-resolve seconds); None when not one.

    ``disk_space`` is a warning except "less than required minimum" (the node will not start);
    ``storage_check`` counts only at WARN/ERROR level (the "check done" lines are fine).
    """
    spec = _NODE_PROBLEMS.get(record.kind)
    if spec is None:
        return None
    level = record.level.upper()
    if record.kind == "storage_check" and level not in ("WARN", "WARNING", "ERROR", "FATAL"):
        return None
    title, meaning, resolve_after = spec
    critical = record.kind != "disk_space" or "required minimum" in record.message
    error = str(record.fields.get("error") or "")
    text = record.message.strip() + (f": {error[:300]}" if error else "")
    return (
        AlertCondition(
            node_name=record.node_name,
            kind=record.kind,
            key=record.kind,
            severity="critical" if critical else "warning",
            title=title.format(node=record.node_name),
            message=f"{meaning}: {text}",
            details={"timestamp": record.timestamp, "level": record.level},
        ),
        resolve_after,
    )
