"""Pairer: durations from start/result pairs, clock choice, bounds, unmatched results."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.logs.pairing import Pairer
from storj_monitor.logs.parser import PieceLine
from storj_monitor.model import Event

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


def piece(
    started: bool,
    ts: float,
    piece_id: str = "P1",
    action: str = "GET",
    status: str | None = "success",
    precise: float | None = None,
    addr: str | None = "1.2.3.4:5",
    satellite: str | None = SAT,
    error: str | None = None,
    fine: bool = False,
) -> PieceLine:
    return PieceLine(
        started=started,
        timestamp=ts,
        precise_ts=precise,
        level="DEBUG" if started else "INFO",
        action=action,
        status=None if started else status,
        size=2048,
        satellite_id=satellite,
        piece_id=piece_id,
        remote_ip=addr.rsplit(":", 1)[0] if addr else None,
        remote_addr=addr,
        error=error,
        error_category="timeout" if error else None,
        available_space=None,
        fine_ts=fine,
    )


def test_start_then_finish_gives_a_log_seconds_duration() -> None:
    pairer = Pairer("node1")
    assert pairer.feed(piece(True, 100.0)) is None
    assert pairer.pending == 1
    event = pairer.feed(piece(False, 103.0))
    assert event == Event(
        timestamp=103.0,
        node_name="node1",
        action="GET",
        status="success",
        size=2048,
        satellite_id=SAT,
        piece_id="P1",
        remote_ip="1.2.3.4",
        error=None,
        error_category=None,
        duration_ms=3000.0,
        duration_source="log_seconds",
    )
    assert (pairer.pending, pairer.paired, pairer.unmatched) == (0, 1, 0)


def test_same_second_gives_zero() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 100.0))
    event = pairer.feed(piece(False, 100.0))
    assert event is not None and event.duration_ms == 0.0 and event.duration_source == "log_seconds"


def test_precise_clock_wins() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 100.0, precise=100.250), arrival=500.0)
    event = pairer.feed(piece(False, 101.0, precise=100.7505), arrival=509.0)
    assert event is not None
    assert event.duration_source == "precise"
    assert event.duration_ms == pytest.approx(500.5)


def test_arrival_clock_when_no_precise_stamps() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 100.0), arrival=1000.125)
    event = pairer.feed(piece(False, 101.0), arrival=1000.5)
    assert event is not None
    assert event.duration_source == "arrival"
    assert event.duration_ms == pytest.approx(375.0)


@pytest.mark.parametrize(
    ("start_precise", "end_precise", "start_arrival", "end_arrival", "source", "ms"),
    [
        (1.0, None, 10.0, 10.2, "arrival", 200.0),  # precise on one side only
        (None, 2.0, 10.0, 10.2, "arrival", 200.0),
        (None, None, 10.0, None, "log_seconds", 2000.0),  # arrival on one side only
        (None, None, None, 10.0, "log_seconds", 2000.0),
        (1.0, 1.5, None, None, "precise", 500.0),
    ],
)
def test_clock_choice_needs_both_sides(
    start_precise: float | None,
    end_precise: float | None,
    start_arrival: float | None,
    end_arrival: float | None,
    source: str,
    ms: float,
) -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 50.0, precise=start_precise), arrival=start_arrival)
    event = pairer.feed(piece(False, 52.0, precise=end_precise), arrival=end_arrival)
    assert event is not None
    assert event.duration_source == source
    assert event.duration_ms == pytest.approx(ms)


@pytest.mark.parametrize(
    ("start_fine", "end_fine", "start_precise", "arrival", "source", "ms"),
    [
        (True, True, None, None, "log_millis", 1250.0),
        (True, True, None, 10.0, "log_millis", 1250.0),  # the node's stamps beat arrival
        (True, True, 1.0, 10.0, "precise", 500.0),  # docker's beat both
        (True, False, None, 10.0, "arrival", 0.0),  # millis on one side only
        (False, True, None, None, "log_seconds", 1250.0),
    ],
)
def test_millisecond_log_stamps_give_log_millis(
    start_fine: bool,
    end_fine: bool,
    start_precise: float | None,
    arrival: float | None,
    source: str,
    ms: float,
) -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 50.25, precise=start_precise, fine=start_fine), arrival=arrival)
    end = piece(False, 51.5, precise=1.5 if start_precise else None, fine=end_fine)
    event = pairer.feed(end, arrival=arrival)
    assert event is not None
    assert event.duration_source == source
    assert event.duration_ms == pytest.approx(ms)


def test_negative_durations_are_clamped() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 100.0, precise=10.0))
    event = pairer.feed(piece(False, 99.0, precise=9.0))
    assert event is not None and event.duration_ms == 0.0 and event.duration_source == "precise"


def test_unmatched_finish_has_no_duration() -> None:
    pairer = Pairer("n")
    event = pairer.feed(piece(False, 5.0, status="failed", error="context deadline exceeded"))
    assert event is not None
    assert event.status == "failed"
    assert event.error == "context deadline exceeded" and event.error_category == "timeout"
    assert event.duration_ms is None and event.duration_source is None
    assert (pairer.unmatched, pairer.paired) == (1, 0)


@pytest.mark.parametrize(
    "other",
    [
        {"piece_id": "P2"},
        {"action": "GET_AUDIT"},
        {"addr": "1.2.3.4:6"},
        {"satellite": "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"},
    ],
)
def test_key_is_piece_satellite_action_and_address(other: dict[str, str]) -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 1.0))
    event = pairer.feed(piece(False, 2.0, **other))  # type: ignore[arg-type]
    assert event is not None and event.duration_ms is None
    assert pairer.pending == 1


def test_a_start_pairs_only_once() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 1.0))
    first = pairer.feed(piece(False, 2.0))
    second = pairer.feed(piece(False, 3.0))
    assert first is not None and first.duration_ms == 1000.0
    assert second is not None and second.duration_ms is None


def test_repeated_start_uses_the_latest() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 1.0))
    pairer.feed(piece(True, 4.0))
    assert pairer.pending == 1
    event = pairer.feed(piece(False, 5.0))
    assert event is not None and event.duration_ms == 1000.0


def test_interleaved_transfers() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 10.0, "A"))
    pairer.feed(piece(True, 11.0, "B"))
    pairer.feed(piece(True, 11.0, "C", action="PUT"))
    b = pairer.feed(piece(False, 12.0, "B", status="canceled"))
    c = pairer.feed(piece(False, 15.0, "C", action="PUT"))
    a = pairer.feed(piece(False, 16.0, "A", status="failed"))
    assert b is not None and (b.status, b.duration_ms) == ("canceled", 1000.0)
    assert c is not None and (c.action, c.duration_ms) == ("PUT", 4000.0)
    assert a is not None and (a.status, a.duration_ms) == ("failed", 6000.0)
    assert pairer.pending == 0 and pairer.paired == 3


def test_starts_expire_by_log_time() -> None:
    pairer = Pairer("n", ttl_seconds=60.0)
    pairer.feed(piece(True, 1000.0, "OLD"))
    pairer.feed(piece(True, 1050.0, "NEWER"))
    # A line 70 s later: the first start is past the ttl, the second is not.
    pairer.feed(piece(True, 1070.0, "NOW"))
    assert pairer.expired == 1
    assert pairer.pending == 2
    old = pairer.feed(piece(False, 1071.0, "OLD"))
    newer = pairer.feed(piece(False, 1071.0, "NEWER"))
    assert old is not None and old.duration_ms is None
    assert newer is not None and newer.duration_ms == 21000.0


def test_expiry_ignores_arrival_time() -> None:
    """A historical import (no arrival) and a live tail expire the same way: by log time."""
    pairer = Pairer("n", ttl_seconds=60.0)
    pairer.feed(piece(True, 1000.0), arrival=5_000_000.0)
    event = pairer.feed(piece(False, 1030.0), arrival=9_000_000.0)
    assert event is not None and event.duration_source == "arrival"
    assert pairer.expired == 0


def test_max_pending_drops_the_oldest() -> None:
    pairer = Pairer("n", max_pending=100)
    for i in range(1000):
        pairer.feed(piece(True, 1.0, f"P{i}"))
        assert pairer.pending <= 100
    assert pairer.expired == 1000 - pairer.pending
    newest = pairer.feed(piece(False, 2.0, "P999"))
    oldest = pairer.feed(piece(False, 2.0, "P0"))
    assert newest is not None and newest.duration_ms == 1000.0
    assert oldest is not None and oldest.duration_ms is None


def test_missing_fields_still_pair() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 1.0, addr=None, satellite=None))
    event = pairer.feed(piece(False, 2.0, addr=None, satellite=None))
    assert event is not None and event.duration_ms == 1000.0 and event.remote_ip is None


@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.integers(0, 5),  # piece id
            st.floats(0, 10_000, allow_nan=False),
            st.one_of(st.none(), st.floats(0, 10_000, allow_nan=False)),
        ),
        max_size=60,
    ),
    st.integers(1, 8),
)
def test_invariants(lines: list[tuple[bool, int, float, float | None]], max_pending: int) -> None:
    pairer = Pairer("n", max_pending=max_pending, ttl_seconds=100.0)
    results = 0
    for started, pid, ts, arrival in lines:
        event = pairer.feed(piece(started, ts, f"P{pid}"), arrival=arrival)
        assert pairer.pending <= max_pending
        if started:
            assert event is None
        else:
            results += 1
            assert event is not None
            assert event.duration_ms is None or event.duration_ms >= 0.0
            assert (event.duration_ms is None) == (event.duration_source is None)
    assert pairer.paired + pairer.unmatched == results


# -- the size bound and the ttl, exactly ----------------------------------------------------------


def test_defaults() -> None:
    pairer = Pairer("n")
    assert (pairer.max_pending, pairer.ttl_seconds) == (200_000, 3600.0)
    assert Pairer("n", max_pending=0).max_pending == 1


@pytest.mark.parametrize(
    ("max_pending", "starts", "left"),
    [
        # one over the bound drops the excess plus a tenth of the bound, oldest first
        (20, 21, 18),
        (100, 101, 90),
        # below ten the tenth is 0: exactly the excess goes
        (5, 6, 5),
        (1, 2, 1),
        # at the bound nothing is dropped
        (20, 20, 20),
    ],
)
def test_bound_drops_exactly_the_excess_and_a_tenth(
    max_pending: int, starts: int, left: int
) -> None:
    pairer = Pairer("n", max_pending=max_pending)
    for i in range(starts):
        pairer.feed(piece(True, 1.0, f"P{i}"))
    assert pairer.pending == left
    assert pairer.expired == starts - left
    assert [k[0] for k in pairer.waiting] == [f"P{i}" for i in range(starts - left, starts)]


def test_bound_called_at_the_limit_keeps_everything() -> None:
    pairer = Pairer("n", max_pending=10)
    for i in range(10):
        pairer.waiting[(f"P{i}", SAT, "GET", None)] = (1.0, None, None)
    pairer.bound()
    assert pairer.pending == 10 and pairer.expired == 0
    pairer.waiting[("P10", SAT, "GET", None)] = (1.0, None, None)
    pairer.bound()
    assert pairer.pending == 9 and pairer.expired == 2


def test_a_repeated_start_moves_to_the_back() -> None:
    pairer = Pairer("n", max_pending=2)
    pairer.feed(piece(True, 1.0, "A"))
    pairer.feed(piece(True, 2.0, "B"))
    pairer.feed(piece(True, 3.0, "A"))
    assert [k[0] for k in pairer.waiting] == ["B", "A"]
    pairer.feed(piece(True, 4.0, "C"))  # over the bound: B, now the oldest, goes
    assert [k[0] for k in pairer.waiting] == ["A", "C"]


def test_a_start_exactly_ttl_old_still_pairs() -> None:
    pairer = Pairer("n", ttl_seconds=100.0)
    pairer.feed(piece(True, 0.0, "EDGE"))
    event = pairer.feed(piece(False, 100.0, "EDGE"))
    assert event is not None and event.duration_ms == 100_000.0
    assert pairer.expired == 0


def test_sweeps_run_every_tenth_of_the_ttl_on_log_time() -> None:
    pairer = Pairer("n", ttl_seconds=3600.0)
    assert pairer.next_sweep == float("-inf")
    pairer.feed(piece(True, 1000.0, "A"))
    assert pairer.next_sweep == 1360.0
    assert pairer.sweep(2000.0) == 2360.0
    short = Pairer("n", ttl_seconds=5.0)  # a tenth would be 0.5 s: at least 1 s
    short.feed(piece(True, 10.0, "A"))
    assert short.next_sweep == 11.0


@pytest.mark.parametrize("started", [True, False])
def test_a_line_at_exactly_next_sweep_sweeps(started: bool) -> None:
    pairer = Pairer("n", ttl_seconds=10.0)  # sweeps every 1 s
    pairer.feed(piece(True, 0.0, "OLD"))
    pairer.feed(piece(False, 9.5, "X"))  # sweep at 9.5: nothing is 10 s old yet
    assert pairer.next_sweep == 10.5 and pairer.pending == 1
    pairer.feed(piece(started, 10.5, "Y"))  # exactly next_sweep: OLD (10.5 s) expires
    assert pairer.expired == 1
    assert ("OLD", SAT, "GET", "1.2.3.4:5") not in pairer.waiting


def test_expired_counts_accumulate_over_sweeps() -> None:
    pairer = Pairer("n", ttl_seconds=10.0)
    pairer.feed(piece(True, 0.0, "A"))
    pairer.feed(piece(True, 0.5, "B"))
    pairer.feed(piece(True, 20.0, "C"))  # A and B expire
    pairer.feed(piece(True, 40.0, "D"))  # C expires
    assert pairer.expired == 3 and pairer.pending == 1


def test_sub_millisecond_durations_are_kept() -> None:
    pairer = Pairer("n")
    pairer.feed(piece(True, 1.0, precise=1.0))
    event = pairer.feed(piece(False, 1.0, precise=1.0005))
    assert event is not None and event.duration_source == "precise"
    assert event.duration_ms == pytest.approx(0.5)


def test_a_result_without_status_is_failed() -> None:
    pairer = Pairer("n")
    event = pairer.feed(piece(False, 1.0, status=None))
    assert event is not None and event.status == "failed"


def test_direct_start_and_finish_default_to_whole_second_log_times() -> None:
    # the fast path calls start()/finish() itself: without fine= the log time is not trusted
    # to the millisecond, so the source is "log_seconds", never "log_millis"
    pairer = Pairer("n")
    key = ("P", SAT, "GET", "1.2.3.4:5")
    pairer.start(key, 10.0, None, None)
    assert pairer.finish(key, 12.5, None, None) == (2500.0, "log_seconds")
    pairer.start(key, 10.0, None, None, True)
    assert pairer.finish(key, 12.5, None, None) == (2500.0, "log_seconds")
    pairer.start(key, 10.0, None, None)
    assert pairer.finish(key, 12.5, None, None, True) == (2500.0, "log_seconds")
    pairer.start(key, 10.0, None, None, True)
    assert pairer.finish(key, 12.5, None, None, True) == (2500.0, "log_millis")
