"""Go duration strings -> milliseconds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.logs.goduration import parse_go_duration


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1m37.535505102s", 97535.505102),
        ("850ms", 850.0),
        ("2h3m0.5s", 7380500.0),
        ("12.5µs", 0.0125),
        ("12.5μs", 0.0125),  # Greek mu, also accepted by Go
        ("999.5us", 0.9995),
        ("0s", 0.0),
        ("0", 0.0),
        ("57.920949ms", 57.920949),
        ("8.703424129s", 8703.424129),
        ("27m7.168320336s", 1627168.320336),
        ("24m17.305833601s", 1457305.833601),
        ("162.857µs", 0.162857),
        ("1ns", 0.000001),
        ("1.5h", 5400000.0),
        ("1h", 3600000.0),
        ("-1.5s", -1500.0),
        ("+2s", 2000.0),
        (" 3s ", 3000.0),
    ],
)
def test_known_durations(text: str, ms: float) -> None:
    assert parse_go_duration(text) == pytest.approx(ms, rel=1e-12, abs=1e-12)


def test_the_seed_example_rounds_to_97536_ms() -> None:
    assert round(parse_go_duration("1m37.535505102s") or 0) == 97536


@pytest.mark.parametrize(
    "text",
    ["", " ", "s", "ms", "1", "1x", "1e3s", "1.2.3s", "soon", "1m 2s", ".s", "--1s", "1s2", "NaN"],
)
def test_garbage_is_none(text: str) -> None:
    assert parse_go_duration(text) is None


@pytest.mark.parametrize("value", [None, 5, 1.5, b"1s", ["1s"], {"d": "1s"}])
def test_non_strings_are_none(value: object) -> None:
    assert parse_go_duration(value) is None


def test_huge_input_is_refused_not_raised() -> None:
    assert parse_go_duration("9" * 5000 + "h") is None


@given(
    hours=st.integers(0, 10_000),
    minutes=st.integers(0, 59),
    nanos=st.integers(0, 59_999_999_999),
)
def test_go_string_form_round_trips(hours: int, minutes: int, nanos: int) -> None:
    """Build the string the way Go's Duration.String does for >= 1 s, parse it back exactly."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    if hours == minutes == seconds == frac == 0:
        text = "0s"
    else:
        sec = f"{seconds}.{frac:09d}".rstrip("0").rstrip(".") + "s"
        text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + sec
    expected_ns = ((hours * 60 + minutes) * 60) * 1_000_000_000 + nanos
    assert parse_go_duration(text) == expected_ns / 1_000_000


@given(value=st.integers(0, 999_999), unit=st.sampled_from(["ns", "us", "µs", "ms"]))
def test_sub_second_units(value: int, unit: str) -> None:
    scale = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0}[unit]
    assert parse_go_duration(f"{value}{unit}") == pytest.approx(value * scale)


@given(st.text(max_size=80))
def test_never_raises(text: str) -> None:
    result = parse_go_duration(text)
    assert result is None or isinstance(result, float)
