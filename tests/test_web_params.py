"""Shared parameter validation of the WebSocket and REST APIs (pure)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict

from storj_monitor.web.params import (
    ALERT_ID,
    DAYS,
    HOURS,
    NODE_NAME,
    VIEW,
    ParamError,
    from_query,
    query_message,
    resolve_view,
    validate,
)
from storj_monitor.web.ws import HANDLERS

NODES = ["A", "B", "My,Node"]


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (["Aggregate"], NODES),
        (["A"], ["A"]),
        (["B", "A", "B"], ["B", "A"]),
        ("A", ["A"]),
        (["A", "Aggregate"], NODES),
    ],
)
def test_resolve_view(raw: Any, names: list[str]) -> None:
    assert resolve_view(raw, NODES) == names


@pytest.mark.parametrize("raw", [[], None, 5, {"a": 1}, [1], ["Z"], [None]])
def test_resolve_view_rejects(raw: Any) -> None:
    with pytest.raises(ParamError):
        resolve_view(raw, NODES)


def test_validate_fills_defaults_and_keeps_the_label() -> None:
    out = validate((VIEW, HOURS), {}, NODES)
    assert out == {"view": NODES, "view_label": ["Aggregate"], "hours": 1}
    out = validate((VIEW, HOURS), {"view": ["B"], "hours": 720, "extra": 1}, NODES)
    assert out == {"view": ["B"], "view_label": ["B"], "hours": 720}
    assert validate((NODE_NAME, DAYS), {"node_name": "A", "days": 1.5}, NODES)["days"] == 1.5


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"hours": 0}, "'hours' must be between 1 and 720"),
        ({"hours": 720.5}, "between 1 and 720"),
        ({"hours": "2"}, "'hours' must be a number"),
        ({"hours": False}, "'hours' must be a number"),
        ({"hours": [1]}, "'hours' must be a number"),
        ({"hours": float("inf")}, "finite"),
        ({"view": "Z"}, "unknown node 'Z'"),
    ],
)
def test_validate_errors(message: dict[str, Any], error: str) -> None:
    with pytest.raises(ParamError, match=error):
        validate((VIEW, HOURS), message, NODES)


def test_query_strings() -> None:
    q = MultiDict([("view", "A,B"), ("hours", "24")])
    assert from_query((VIEW, HOURS), q, NODES) == {
        "view": ["A", "B"],
        "view_label": ["A", "B"],
        "hours": 24,
    }
    q = MultiDict([("view", "A"), ("view", "My,Node"), ("hours", "1.5")])
    assert from_query((VIEW, HOURS), q, NODES)["view"] == ["A", "My,Node"]
    assert query_message((VIEW, HOURS), MultiDict(), NODES) == {}
    with pytest.raises(ParamError, match="'hours' must be a number"):
        query_message((VIEW, HOURS), MultiDict([("hours", "x")]), NODES)


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda c: st.lists(c) | st.dictionaries(st.text(), c), max_leaves=5))  # fmt: skip
def test_any_json_value_is_accepted_or_a_param_error(value: Any) -> None:
    """Every parameter of every request type: a ParamError or a value, never a crash."""
    for h in HANDLERS.values():
        for p in h.params:
            with contextlib.suppress(ParamError):
                validate(h.params, {"node_name": "A", "alert_id": 1, p.name: value}, NODES)


def test_one_sided_range_message() -> None:
    with pytest.raises(ParamError, match="'alert_id' must be at least 1"):
        validate((ALERT_ID,), {"alert_id": 0}, NODES)
    assert validate((ALERT_ID,), {"alert_id": 7.0}, NODES) == {"alert_id": 7}
