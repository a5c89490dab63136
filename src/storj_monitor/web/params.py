"""Request parameters shared by the WebSocket API and the REST API: one schema, one validator.

A handler declares its parameters as a tuple of :class:`Param`; :func:`validate` checks a
WebSocket message (already JSON-typed values) and :func:`from_query` first converts REST query
strings into the same shapes, so both interfaces accept and reject exactly the same things and
say so with the same message.

Parameter kinds:

- ``view``: a non-empty list of node names, or ``["Aggregate"]`` for every node; resolved to
  the node names it covers (the label the client sent is kept in ``view_label``).
- ``node``: one known node name.
- ``number`` / ``int``: JSON numbers (never booleans) within ``minimum..maximum``.
- ``date``: an ISO date ``YYYY-MM-DD`` (UTC), returned as the unix seconds of that day's start.
- ``month``: a UTC month ``YYYY-MM``, returned as that string.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

AGGREGATE = "Aggregate"
#: Longest window a request may ask for, in hours (30 days), as the seed's API allows.
MAX_HOURS = 720

ParamKind = Literal["view", "node", "number", "int", "str", "date", "month"]


class ParamError(ValueError):
    """A request parameter is missing, of the wrong type or out of range; the message says which."""


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: ParamKind
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""


def view_param(required: bool = False) -> Param:
    return Param("view", "view", required, [AGGREGATE], help='node names, or ["Aggregate"]')


def hours_param(default: float = 1) -> Param:
    return Param("hours", "number", False, default, 1, MAX_HOURS, "window in hours (1..720)")


VIEW = view_param()
HOURS = hours_param()
NODE_NAME = Param("node_name", "node", True, help="one node name")
DAYS = Param("days", "number", False, 7, 1, 365, "history in days (1..365)")
BUCKET_SIZE_MS = Param(
    "bucket_size_ms", "number", False, None, 1, 3_600_000, "histogram bucket width in ms"
)
#: Range of SQLite's INTEGER (64-bit signed): an "int" parameter outside it is refused (400),
#: not passed on to a query that would fail with OverflowError (500).
SQLITE_INT_MIN, SQLITE_INT_MAX = -(2**63), 2**63 - 1
ALERT_ID = Param("alert_id", "int", True, minimum=1, help="id of an alert")
LIMIT = Param("limit", "int", False, 50, 1, 1000, "how many rows at most")
#: Optional day range (UTC, both days included) on the traffic requests; overrides ``hours``.
FROM_DATE = Param("from", "date", help="first day, YYYY-MM-DD (UTC)")
TO_DATE = Param("to", "date", help="last day, YYYY-MM-DD (UTC), included")
_MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def resolve_view(raw: Any, node_names: Sequence[str]) -> list[str]:
    """The node names a view covers; raise ParamError for anything but known names or Aggregate."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ParamError("'view' must be a non-empty list of node names or [\"Aggregate\"]")
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise ParamError("'view' must contain node names (strings)")
        if item == AGGREGATE:
            return list(node_names)
        if item not in node_names:
            raise ParamError(f"unknown node {item!r} in 'view'")
        if item not in names:
            names.append(item)
    return names


def _check_number(p: Param, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(f"'{p.name}' must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ParamError(f"'{p.name}' must be a finite number")
    if p.kind == "int" and not (isinstance(value, int) or value.is_integer()):
        raise ParamError(f"'{p.name}' must be an integer")
    number: float = int(value) if p.kind == "int" else value
    if p.kind == "int" and number > SQLITE_INT_MAX:
        raise ParamError(f"'{p.name}' must be at most {SQLITE_INT_MAX}")
    if p.kind == "int" and number < SQLITE_INT_MIN:
        raise ParamError(f"'{p.name}' must be at least {SQLITE_INT_MIN}")
    too_low = p.minimum is not None and number < p.minimum
    too_high = p.maximum is not None and number > p.maximum
    if too_low or too_high:
        if p.minimum is not None and p.maximum is not None:
            raise ParamError(f"'{p.name}' must be between {p.minimum:g} and {p.maximum:g}")
        if p.minimum is not None:
            raise ParamError(f"'{p.name}' must be at least {p.minimum:g}")
        raise ParamError(f"'{p.name}' must be at most {p.maximum:g}")
    return number


def _check_date(p: Param, value: Any) -> float:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise ParamError(f"'{p.name}' must be an ISO date YYYY-MM-DD")
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ParamError(f"'{p.name}' is not a date: {value!r}") from None
    return day.timestamp()


def day_range(
    p: Mapping[str, Any], now: float, *, max_days: int = 366
) -> tuple[float, float] | None:
    """(start, end) in UTC unix seconds for validated ``from``/``to`` dates (``to`` included,
    ending at ``now`` if later), or None when neither was given. ``from`` alone runs to now,
    ``to`` alone covers that one day."""
    first, last = p.get("from"), p.get("to")
    if last is not None:
        end = min(float(last) + 86_400.0, now)
        start = float(first) if first is not None else float(last)
    elif first is not None:
        end, start = now, float(first)
    else:
        return None
    if start >= end:
        raise ParamError("'from' must not be after 'to' (or in the future)")
    if end - start > max_days * 86_400.0:
        raise ParamError(f"a date range covers at most {max_days} days")
    return start, end


def validate(
    schema: Sequence[Param], message: Mapping[str, Any], node_names: Sequence[str]
) -> dict[str, Any]:
    """Checked, typed parameters of one request (defaults filled in).

    Unknown extra keys are ignored (clients may add an ``id`` to match responses). A view is
    returned as the list of node names it covers, plus ``view_label`` as the client wrote it.
    """
    out: dict[str, Any] = {}
    for p in schema:
        present = p.name in message and message[p.name] is not None
        if not present:
            if p.required:
                raise ParamError(f"missing field '{p.name}'")
            value = p.default
            if p.kind == "view":
                out["view_label"] = [AGGREGATE]
                out[p.name] = list(node_names)
                continue
            out[p.name] = value
            continue
        value = message[p.name]
        if p.kind == "view":
            out[p.name] = resolve_view(value, node_names)
            out["view_label"] = [value] if isinstance(value, str) else list(value)
        elif p.kind == "node":
            if not isinstance(value, str):
                raise ParamError(f"'{p.name}' must be a string")
            if value not in node_names:
                raise ParamError(f"unknown node {value!r}")
            out[p.name] = value
        elif p.kind in ("number", "int"):
            out[p.name] = _check_number(p, value)
        elif p.kind == "date":
            out[p.name] = _check_date(p, value)
        elif p.kind == "month":
            if not isinstance(value, str) or not _MONTH_RE.fullmatch(value):
                raise ParamError(f"'{p.name}' must be a month YYYY-MM")
            out[p.name] = value
        else:
            if not isinstance(value, str):
                raise ParamError(f"'{p.name}' must be a string")
            out[p.name] = value
    return out


def from_query(
    schema: Sequence[Param], query: Mapping[str, str] | Any, node_names: Sequence[str]
) -> dict[str, Any]:
    """Convert REST query strings (:func:`query_message`), then :func:`validate` them."""
    return validate(schema, query_message(schema, query, node_names), node_names)


def query_message(
    schema: Sequence[Param], query: Mapping[str, str] | Any, node_names: Sequence[str]
) -> dict[str, Any]:
    """The WebSocket-style message a REST query string stands for (JSON-like values).

    ``query`` is a multidict (``request.query``): a view may be repeated (``?view=A&view=B``)
    or comma separated (``?view=A,B``). Numbers that do not parse raise ParamError.
    """
    message: dict[str, Any] = {}
    for p in schema:
        if p.name not in query:
            continue
        if p.kind == "view":
            values = query.getall(p.name) if hasattr(query, "getall") else [query[p.name]]
            names: list[str] = []
            for v in values:
                if v in node_names or v == AGGREGATE:
                    names.append(v)
                else:
                    names.extend(part.strip() for part in v.split(",") if part.strip())
            message[p.name] = names
            continue
        text = query[p.name]
        if p.kind in ("number", "int"):
            try:
                number = float(text)
            except ValueError:
                raise ParamError(f"'{p.name}' must be a number") from None
            message[p.name] = int(number) if number.is_integer() else number
        else:
            message[p.name] = text
    return message
