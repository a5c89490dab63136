"""Alert rules for a node that stopped talking: missing log, silent log, restarts (pure).

- ``log_missing``: the followed log file does not exist or cannot be read (a mistyped path,
  a permission problem, a file deleted and not recreated). Critical at once: without the log
  the monitor sees nothing of the node; the message names the path.
- ``node_silent``: no line for longer than the node's own recent rate explains
  (``analytics.node_health.silence``: at least SILENCE_EXPECTED_LINES were due, and at least
  SILENCE_ALERT_FLOOR_SECONDS passed). A node with no learned rate is never flagged.
- ``crash_loop``: the node started CRASH_LOOP_STARTS times within CRASH_LOOP_WINDOW_S
  (start-up lines of the log, the API's ``startedAt``).

Time comes in as ``now`` (UTC unix seconds).
"""

from __future__ import annotations

from collections.abc import Iterable

from storj_monitor.analytics.node_health import Silence
from storj_monitor.model import AlertCondition

HEALTH_KINDS = frozenset({"log_missing", "node_silent"})
RESTART_KINDS = frozenset({"crash_loop"})
CRASH_LOOP_STARTS = 3
CRASH_LOOP_WINDOW_S = 3600.0
#: Start-up lines closer than this (seconds) belong to one start of the node.
START_CLUSTER_S = 120.0


def span_words(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: how long, for messages."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def log_missing_condition(
    node_name: str, state: str | None, path: str, error: str | None, since: float | None
) -> AlertCondition | None:
    """The log at ``path`` is ``missing`` or ``unreadable`` (``error``: why); None when ok."""
    if state not in ("missing", "unreadable"):
        return None
    why = "does not exist" if state == "missing" else f"cannot be read ({error or 'unknown'})"
    return AlertCondition(
        node_name=node_name,
        kind="log_missing",
        key="log_missing",
        severity="critical",
        title=f"Log File Missing: {node_name}",
        message=(
            f"The log file {path} {why}. Nothing of this node is monitored from its log "
            "until it can be read; check the path in --node and the file's permissions."
        ),
        details={"path": path, "state": state, "error": error, "since": since},
    )


def node_silent_condition(node_name: str, s: Silence, last_line_at: float) -> AlertCondition | None:
    """The node's log is silent (``s.silent``); None otherwise."""
    if not s.silent:
        return None
    return AlertCondition(
        node_name=node_name,
        kind="node_silent",
        key="node_silent",
        severity="warning",
        title=f"Node Log Silent: {node_name}",
        message=(
            f"No log line from {node_name} for {span_words(s.silent_for_s)}; at its recent "
            f"rate of {s.lines_per_minute:.1f} lines/min a line was due long ago. The node "
            "may have stopped or hung."
        ),
        details={
            "last_line_at": last_line_at,
            "silent_for_s": round(s.silent_for_s, 1),
            "lines_per_minute": round(s.lines_per_minute, 3),
            "due_after_s": s.due_after_s,
        },
    )


def starts_of(times: Iterable[float]) -> list[float]:
    """Distinct starts of the node from its start-up times (UTC unix s): lines closer than
    START_CLUSTER_S to the previous one belong to the same start. Sorted, oldest first."""
    starts: list[float] = []
    last: float | None = None
    for t in sorted(times):
        if last is None or t - last > START_CLUSTER_S:
            starts.append(t)
        last = t
    return starts


def crash_loop_condition(
    node_name: str,
    starts: list[float],
    now: float,
    *,
    min_starts: int = CRASH_LOOP_STARTS,
    window_s: float = CRASH_LOOP_WINDOW_S,
) -> AlertCondition | None:
    """At least ``min_starts`` of ``starts`` (distinct, see :func:`starts_of`) within the
    last ``window_s`` before ``now``; None otherwise."""
    recent = [t for t in starts if now - window_s <= t <= now + 60]
    if len(recent) < min_starts:
        return None
    return AlertCondition(
        node_name=node_name,
        kind="crash_loop",
        key="crash_loop",
        severity="warning",
        title=f"Node Restarting Repeatedly: {node_name}",
        message=(
            f"{node_name} started {len(recent)} times in the last {span_words(window_s)}; "
            "it may be crashing. Check its log for the error before each start."
        ),
        details={"starts": recent},
    )
