"""Day and month parameters (web/params), month arithmetic and the CSV writer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.web.csv_export import csv_text
from storj_monitor.web.handlers_earnings import add_months
from storj_monitor.web.params import FROM_DATE, TO_DATE, Param, ParamError, day_range, validate

DAY = 86_400.0
NOW = datetime(2026, 12, 10, 15, 30, tzinfo=UTC).timestamp()
MONTH = Param("period", "month")


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-13-01", "is not a date"),
        ("2026-02-30", "is not a date"),
        ("2026-1-01", "YYYY-MM-DD"),
        ("２０２６-01-01", "YYYY-MM-DD"),  # other scripts' digits are not digits here
        (20261201, "YYYY-MM-DD"),
        ("2026-12-01T00:00:00Z", "YYYY-MM-DD"),
    ],
)
def test_bad_dates_are_refused(value: object, message: str) -> None:
    with pytest.raises(ParamError, match=message):
        validate((FROM_DATE,), {"from": value}, [])


@pytest.mark.parametrize("value", ["2026-00", "2026-13", "2026-1", "26-01", 202601, "2026-01-01"])
def test_bad_months_are_refused(value: object) -> None:
    with pytest.raises(ParamError, match="YYYY-MM"):
        validate((MONTH,), {"period": value}, [])


def test_day_range_includes_both_days_and_stops_at_now() -> None:
    p = validate((FROM_DATE, TO_DATE), {"from": "2026-12-01", "to": "2026-12-02"}, [])
    assert day_range(p, NOW) == (ts("2026-12-01"), ts("2026-12-03"))
    p = validate((FROM_DATE, TO_DATE), {"from": "2026-12-09", "to": "2026-12-31"}, [])
    assert day_range(p, NOW) == (ts("2026-12-09"), NOW)
    assert day_range(validate((FROM_DATE,), {"from": "2026-12-01"}, []), NOW) == (
        ts("2026-12-01"), NOW,
    )  # fmt: skip
    assert day_range(validate((TO_DATE,), {"to": "2026-11-05"}, []), NOW) == (
        ts("2026-11-05"), ts("2026-11-06"),
    )  # fmt: skip
    assert day_range(validate((FROM_DATE, TO_DATE), {}, []), NOW) is None
    with pytest.raises(ParamError, match="'from' must not be after"):
        day_range(
            validate((FROM_DATE, TO_DATE), {"from": "2026-12-05", "to": "2026-12-01"}, []), NOW
        )
    with pytest.raises(ParamError, match="at most 366 days"):
        day_range(validate((FROM_DATE,), {"from": "2024-01-01"}, []), NOW)


@given(st.integers(1900, 2500), st.integers(1, 12), st.integers(-600, 600))
def test_add_months_matches_calendar_arithmetic(year: int, month: int, n: int) -> None:
    got = add_months(f"{year:04d}-{month:02d}", n)
    index = year * 12 + month - 1 + n
    assert got == f"{index // 12:04d}-{index % 12 + 1:02d}"
    assert add_months(got, -n) == f"{year:04d}-{month:02d}"


def test_csv_round_trips_and_defuses_formulas() -> None:
    text = csv_text(
        ["period", "receipt", "paid_usd"],
        [["2026-11", '=HYPERLINK("x")', 1.25], ["2026-10", None, -0.5], ["2026-09", 'a,"b"\nc', 0]],
    )
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["period", "receipt", "paid_usd"],
        ["2026-11", '\'=HYPERLINK("x")', "1.25"],
        ["2026-10", "", "-0.5"],
        ["2026-09", 'a,"b"\nc', "0"],
    ]
