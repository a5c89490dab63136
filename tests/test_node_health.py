"""analytics/node_health: silence from the node's own rate, disk views side by side."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.analytics.node_health import (
    DiskView,
    Silence,
    disk_comparison,
    learned_rate,
    silence,
)

T = 1_796_000_000.0


def test_busy_node_silent_after_the_floor() -> None:
    # 120 lines/min: 10 lines are due in 5 s, so the 300 s floor decides.
    assert not silence(last_line_at=T, lines_per_minute=120, now=T + 299.9).silent
    s = silence(last_line_at=T, lines_per_minute=120, now=T + 300)
    assert s.silent and s.due_after_s == 300 and s.silent_for_s == 300


def test_quiet_node_is_not_flagged_at_the_floor() -> None:
    # 0.5 lines/min: 10 lines are due after 20 min.
    assert not silence(last_line_at=T, lines_per_minute=0.5, now=T + 1199).silent
    assert silence(last_line_at=T, lines_per_minute=0.5, now=T + 1200).silent
    assert silence(last_line_at=T, lines_per_minute=0.5, now=T + 1200).due_after_s == 1200


def test_no_rate_or_no_line_is_never_silent() -> None:
    assert not silence(last_line_at=T, lines_per_minute=0.0, now=T + 10**6).silent
    assert not silence(last_line_at=None, lines_per_minute=100, now=T).silent
    assert learned_rate(600, 3600) == 10.0 and learned_rate(5, 0) == 0.0


@given(st.floats(0.001, 10_000), st.floats(0, 10**6), st.floats(1, 3600))
def test_silence_is_monotonic_in_the_gap(rate: float, gap: float, floor: float) -> None:
    a = silence(last_line_at=T, lines_per_minute=rate, now=T + gap, floor_s=floor)
    b = silence(last_line_at=T, lines_per_minute=rate, now=T + gap + 60, floor_s=floor)
    assert (not a.silent) or b.silent
    assert a.due_after_s is not None and a.due_after_s >= floor


def test_disk_views_and_gaps() -> None:
    node = DiskView(used=4_318_244_091_904, trash=38_210_351_104, free=3_681_755_908_096,
                    total=8_000_000_000_000)  # fmt: skip
    fs = DiskView(used=4_500_000_000_000, free=5_500_000_000_000, total=10_000_000_000_000)
    out = disk_comparison(node, 4_200_000_000_000.0, fs)
    gaps = out["gaps"]
    assert gaps == {
        "trash": 38_210_351_104,
        "uncollected_garbage": pytest.approx(4_318_244_091_904 - 38_210_351_104 - 4.2e12),
        "hidden_by_allocation": 5_500_000_000_000 - 3_681_755_908_096,
    }
    assert out["node"]["total"] == 8_000_000_000_000 and out["filesystem"]["free"] == 5.5e12


def test_disk_views_partly_unknown() -> None:
    out = disk_comparison(DiskView(used=100, trash=10, free=50, total=200), None, None)
    assert out["gaps"] == {"trash": 10, "uncollected_garbage": None, "hidden_by_allocation": None}
    assert out["filesystem"] is None and out["paid_bytes"] is None
    # More paid than held (a tally ahead of a deletion): no negative garbage.
    assert disk_comparison(DiskView(used=100, trash=0), 150.0, None)["gaps"]["uncollected_garbage"] == 0.0
    assert disk_comparison(None, None, DiskView(free=5))["gaps"]["trash"] is None


def test_silence_fields_when_not_judged() -> None:
    # No line yet: nothing is silent, the rate is passed through, no due time.
    assert silence(last_line_at=None, lines_per_minute=7.5, now=T) == Silence(False, 0.0, 7.5, None)
    # No rate (or a nonsense negative one): the gap is still reported, the rate reads 0.
    for rate in (0.0, -3.0):
        got = silence(last_line_at=T, lines_per_minute=rate, now=T + 42)
        assert got == Silence(False, 42.0, 0.0, None)


def test_silence_fields_when_judged() -> None:
    def at(now: float, last: float = T) -> Silence:
        return silence(last_line_at=last, lines_per_minute=2.0, now=now)

    # 2 lines/min: 10 lines are due after 300 s (equal to the floor).
    assert at(T + 299) == Silence(False, 299.0, 2.0, 300.0)
    assert at(T + 300) == Silence(True, 300.0, 2.0, 300.0)
    # A line stamped at `now` (or a clock behind it) is a gap of 0, not negative.
    assert at(T) == Silence(False, 0.0, 2.0, 300.0)
    assert at(T, last=T + 5) == Silence(False, 0.0, 2.0, 300.0)


def test_learned_rate_over_short_windows() -> None:
    assert learned_rate(1, 0.5) == 120.0  # half a second is still a window
    assert learned_rate(3, 1.0) == 180.0
    assert learned_rate(3, -1.0) == 0.0


def test_disk_view_dicts_and_clamped_gaps() -> None:
    node = DiskView(used=100, trash=None, free=70, total=200)
    fs = DiskView(used=1, trash=2, free=60, total=4)
    out = disk_comparison(node, 50.0, fs)
    assert out == {
        "node": {"used": 100, "trash": None, "free": 70, "total": 200},
        "paid_bytes": 50.0,
        "filesystem": {"used": 1, "trash": 2, "free": 60, "total": 4},
        # Unknown trash counts as none; less filesystem free than node free hides nothing.
        "gaps": {"trash": None, "uncollected_garbage": 50.0, "hidden_by_allocation": 0},
    }
