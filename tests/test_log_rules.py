"""Log and availability alert rules: every field of every condition, and the edges."""

from __future__ import annotations

import pytest

from storj_monitor.alerts.log_rules import (
    failed_audit_condition,
    node_offline_condition,
    node_problem_condition,
    ping_failed_condition,
)
from storj_monitor.model import Event, LogRecord

SAT = "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"


def event(**kw: object) -> Event:
    base: dict[str, object] = {
        "timestamp": 100.0,
        "node_name": "My-Node",
        "action": "GET_AUDIT",
        "status": "failed",
        "size": 0,
        "satellite_id": SAT,
        "piece_id": "PIECE",
        "remote_ip": "1.2.3.4",
        "error": "file does not exist",
        "error_category": "file does not exist",
    }
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def test_failed_audit_every_field_with_a_known_score() -> None:
    c = failed_audit_condition(event(error="  piece: file does not exist  "), audit_score=99.0)
    assert c is not None
    assert (c.node_name, c.kind, c.key, c.severity, c.title) == (
        "My-Node",
        "audit_failed",
        f"audit_failed:{SAT}",
        "critical",
        "Failed Audit on My-Node",
    )
    assert c.message == (
        f"A GET_AUDIT for piece PIECE from satellite {SAT[:12]} failed: file does not exist. "
        "Each failed audit lowers the audit score; below 96% the node is disqualified. "
        "Last audit score on this satellite: 99.00%; about 30 more failed audit(s) would "
        "disqualify the node."
    )
    assert c.details == {
        "satellite_id": SAT,
        "piece_id": "PIECE",
        "error": "piece: file does not exist",
        "timestamp": 100.0,
        "audit_score": 99.0,
        "failed_audits_until_disqualification": 30,
    }


def test_failed_audit_without_score_ids_or_error() -> None:
    c = failed_audit_condition(
        event(satellite_id=None, piece_id=None, error=None, error_category=None)
    )
    assert c is not None and c.severity == "warning"
    assert c.key == "audit_failed:"
    assert c.message == (
        "A GET_AUDIT for piece ? from satellite unknown sate failed: unknown error. "
        "Each failed audit lowers the audit score; below 96% the node is disqualified."
    )
    assert c.details["error"] == ""
    assert c.details["audit_score"] is None
    assert c.details["failed_audits_until_disqualification"] is None


def test_failed_audit_reason_prefers_the_category_then_the_error() -> None:
    c = failed_audit_condition(event(error="context deadline exceeded", error_category=None))
    assert c is not None and "failed: context deadline exceeded." in c.message
    assert c.severity == "warning"
    c = failed_audit_condition(event(error="x", error_category="timeout"))
    assert c is not None and "failed: timeout." in c.message


@pytest.mark.parametrize(
    ("error", "category", "severity"),
    [
        ("open x: no such file or directory", None, "critical"),
        ("piece not found", None, "critical"),
        ("", "corrupt piece", "critical"),
        ("hash mismatch", "other", "critical"),
        ("context canceled", "canceled", "warning"),
        ("use of closed network connection", None, "warning"),
    ],
)
def test_failed_audit_missing_or_corrupt_is_critical(
    error: str, category: str | None, severity: str
) -> None:
    c = failed_audit_condition(event(error=error, error_category=category))
    assert c is not None and c.severity == severity


def test_failed_audit_hints_are_looked_for_in_error_and_category_together() -> None:
    c = failed_audit_condition(event(error="open piece: no such", error_category="file"))
    assert c is not None and c.severity == "critical"


def test_failed_audit_with_an_unknown_score_has_no_outlook() -> None:
    c = failed_audit_condition(event(), audit_score=float("nan"))
    assert c is not None
    assert c.message.endswith("below 96% the node is disqualified.")
    assert c.details["failed_audits_until_disqualification"] is None


def test_failed_audit_error_is_cut_at_500_characters() -> None:
    c = failed_audit_condition(event(error="e" * 600))
    assert c is not None and c.details["error"] == "e" * 500


def test_failed_audit_at_the_disqualification_limit_says_zero() -> None:
    c = failed_audit_condition(event(), audit_score=96.0)
    assert c is not None
    assert c.message.endswith(
        "Last audit score on this satellite: 96.00%; about 0 more failed audit(s) would "
        "disqualify the node."
    )


def test_ping_failed_every_field() -> None:
    rec = LogRecord(100.0, "My-Node", "ping_failed", "ERROR", "ping satellite failed", SAT,
                    fields={"error": "x" * 400})  # fmt: skip
    c = ping_failed_condition(rec)
    assert c is not None
    assert (c.node_name, c.kind, c.key, c.severity, c.title) == (
        "My-Node",
        "ping_failed",
        f"ping_failed:{SAT}",
        "warning",
        "Satellite Cannot Reach My-Node",
    )
    assert c.message == (
        f"Satellite {SAT[:12]} failed to ping the node (last error: {'x' * 300}). Check port "
        "forwarding and the firewall; the online score drops while the node is unreachable."
    )
    assert c.details == {"satellite_id": SAT, "timestamp": 100.0, "failures": 1, "error": "x" * 400}
    burst = ping_failed_condition(rec, failures=3, window_s=1800.0)
    assert burst is not None
    assert (
        f"failed to ping the node 3 times in 30 minutes (last error: {'x' * 300})" in burst.message
    )
    bare = ping_failed_condition(LogRecord(1.0, "N", "ping_failed", "ERROR", "ping"))
    assert bare is not None and bare.key == "ping_failed:"
    assert bare.message.startswith("Satellite unknown sate failed to ping the node. Check port")
    assert ping_failed_condition(LogRecord(1.0, "N", "fatal", "ERROR", "x")) is None


def test_node_offline_every_field_and_the_threshold_at_equality() -> None:
    assert node_offline_condition("N", "http://x", 100.0, 999.9, 900.0) is None
    c = node_offline_condition("My-Node", "http://127.0.0.1:14002", 100.0, 1000.0, 900.0)
    assert c is not None
    assert (c.node_name, c.kind, c.key, c.severity, c.title) == (
        "My-Node",
        "node_offline",
        "node_offline",
        "critical",
        "Node Possibly Offline: My-Node",
    )
    assert c.message == (
        "The node API at http://127.0.0.1:14002 has not answered for 15 minutes. "
        "The node may be down."
    )
    assert c.details == {
        "api_url": "http://127.0.0.1:14002",
        "failing_since": 100.0,
        "reason": "",
    }
    fifty = node_offline_condition("N", "http://x", 0.0, 3000.0, 900.0)
    assert fifty is not None and "for 50 minutes." in fifty.message
    soon = node_offline_condition("N", "http://x", 0.0, 59.0, 30.0)
    assert soon is not None and "for less than a minute." in soon.message
    one = node_offline_condition("N", "http://x", 0.0, 60.0, 30.0)
    assert one is not None and "for 1 minutes." in one.message
    almost_two = node_offline_condition("N", "http://x", 0.0, 119.0, 30.0)
    assert almost_two is not None and "for 2 minutes." in almost_two.message
    page = node_offline_condition(
        "N", "http://x", 0.0, 960.0, 900.0, "answered HTTP 500", answered=True
    )
    assert page is not None
    assert page.message == (
        "The node API at http://x has failed for 16 minutes: it answered HTTP 500. "
        "The node may be down or its dashboard API misconfigured."
    )
    assert page.details["reason"] == "answered HTTP 500"
    why = node_offline_condition("N", "http://x", 0.0, 3630.0, 900.0, "connection refused")
    assert why is not None
    assert why.message == (
        "The node API at http://x has not answered for 60 minutes (connection refused). "
        "The node may be down."
    )


@pytest.mark.parametrize(
    ("kind", "level", "title", "meaning", "resolve_after", "severity"),
    [
        ("disk_space", "WARN", "Disk Space Problem on My-Node",
         "The node reports a disk space problem", 24 * 3600.0, "warning"),
        ("storage_check", "warn", "Storage Directory Check Failed on My-Node",
         "The node could not verify its storage directory; it shuts down after this",
         6 * 3600.0, "critical"),
        ("storage_check", "Warning", "Storage Directory Check Failed on My-Node",
         "The node could not verify its storage directory; it shuts down after this",
         6 * 3600.0, "critical"),
        ("storage_check", "fatal", "Storage Directory Check Failed on My-Node",
         "The node could not verify its storage directory; it shuts down after this",
         6 * 3600.0, "critical"),
        ("fatal", "FATAL", "Node Stopped With an Error: My-Node",
         "The storagenode reported an unrecoverable error and stops", 6 * 3600.0, "critical"),
    ],
)  # fmt: skip
def test_node_problem_every_field(
    kind: str, level: str, title: str, meaning: str, resolve_after: float, severity: str
) -> None:
    rec = LogRecord(5.0, "My-Node", kind, level, "  it broke  ", fields={"error": "y" * 400})
    found = node_problem_condition(rec)
    assert found is not None
    c, after = found
    assert after == resolve_after
    assert (c.node_name, c.kind, c.key, c.severity, c.title) == (
        "My-Node",
        kind,
        kind,
        severity,
        title,
    )
    assert c.message == f"{meaning}: it broke: {'y' * 300}"
    assert c.details == {"timestamp": 5.0, "level": level}


def test_node_problem_without_error_field_and_quiet_levels() -> None:
    found = node_problem_condition(LogRecord(1.0, "N", "fatal", "ERROR", "failure during run"))
    assert found is not None
    assert found[0].message == (
        "The storagenode reported an unrecoverable error and stops: failure during run"
    )
    for level in ("INFO", "DEBUG"):
        rec = LogRecord(1.0, "N", "storage_check", level, "check done")
        assert node_problem_condition(rec) is None
