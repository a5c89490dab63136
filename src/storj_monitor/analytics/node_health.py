"""Is a quiet log a silent node, and do the disk figures add up? (pure)

**Silence.** A node that stops writing its log has usually stopped serving. How long a gap is
suspicious depends on the node: a busy one writes many lines a minute, a young or idle one a
few an hour. ``silence`` learns the node's own rate (lines per minute over a recent window)
and calls a gap silent once at least ``expected_lines`` lines were due in it (for a steady
Poisson stream the chance of such a gap by luck is e^-expected_lines, 4.5e-5 at 10) and the gap
is at least ``floor_s`` long. A node with no rate yet is never called silent by this rule.

**Disk.** Three views of one disk rarely agree: the node API (used, trash, free inside the
allocation), what the satellites pay for (the sum of the last daily tally's average stored
bytes per satellite) and the filesystem (``statvfs``). ``disk_comparison`` puts them side by
side and names the gaps: trash, garbage not collected yet (node pieces − paid), and free space
the allocation hides (filesystem free − node free). Bytes throughout; None where unknown.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Silence:
    """``silent_for_s`` since the last line; ``due_after_s`` when a gap becomes silent."""

    silent: bool
    silent_for_s: float
    lines_per_minute: float
    due_after_s: float | None


def silence(
    *,
    last_line_at: float | None,
    lines_per_minute: float,
    now: float,
    floor_s: float = 300.0,
    expected_lines: float = 10.0,
) -> Silence:
    """Whether the gap since ``last_line_at`` is longer than the node's own rate explains."""
    if last_line_at is None:
        return Silence(False, 0.0, lines_per_minute, None)
    gap = max(now - last_line_at, 0.0)
    if lines_per_minute <= 0:
        return Silence(False, gap, 0.0, None)
    due_after = max(floor_s, expected_lines / lines_per_minute * 60.0)
    return Silence(gap >= due_after, gap, lines_per_minute, due_after)


def learned_rate(lines: int, window_s: float) -> float:
    """Lines per minute over a window of ``window_s`` seconds (0 for an empty window)."""
    return lines / (window_s / 60.0) if window_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class DiskView:
    """One view of the disk in bytes (None: this view does not say)."""

    used: int | None = None
    trash: int | None = None
    free: int | None = None
    total: int | None = None


def disk_comparison(
    node: DiskView | None, paid_bytes: float | None, fs: DiskView | None
) -> dict[str, object]:
    """The three views and the named gaps between them (bytes; None where not computable).

    ``node.used`` is everything the node occupies including trash (``DiskSpace.used_bytes``),
    ``node.total`` its allocation. Gaps: ``trash``; ``uncollected_garbage`` = pieces the node
    keeps (used − trash) that no satellite pays for; ``hidden_by_allocation`` = free space the
    filesystem has beyond what the node may still use.
    """
    gaps: dict[str, float | None] = {"trash": None, "uncollected_garbage": None,
                                     "hidden_by_allocation": None}  # fmt: skip
    if node is not None:
        gaps["trash"] = node.trash
        if node.used is not None and paid_bytes is not None:
            pieces = node.used - (node.trash or 0)
            gaps["uncollected_garbage"] = max(pieces - paid_bytes, 0.0)
        if fs is not None and fs.free is not None and node.free is not None:
            gaps["hidden_by_allocation"] = max(fs.free - node.free, 0)
    return {
        "node": None if node is None else _view(node),
        "paid_bytes": paid_bytes,
        "filesystem": None if fs is None else _view(fs),
        "gaps": gaps,
    }


def _view(v: DiskView) -> dict[str, int | None]:
    return {"used": v.used, "trash": v.trash, "free": v.free, "total": v.total}
