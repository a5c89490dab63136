"""CSV twins of REST answers (``?format=csv``): a file a spreadsheet opens.

A request type registers a function that turns its response object into a header row and data
rows; :func:`csv_response` writes them (RFC 4180, ``\\r\\n`` line ends, UTF-8) as an attachment
named after the request. Column names carry their unit (``earned_usd``, ``egress_usage_bytes``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

Table = tuple[Sequence[str], list[Sequence[Any]]]
Exporter = Callable[[dict[str, Any]], Table]

#: request type -> function of its response object giving (header, rows)
CSV_EXPORTS: dict[str, Exporter] = {}


def csv_export(type_: str) -> Callable[[Exporter], Exporter]:
    """Register ``fn`` as the CSV form of request ``type_``'s answer."""

    def register(fn: Exporter) -> Exporter:
        CSV_EXPORTS[type_] = fn
        return fn

    return register


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    text = str(value) if not isinstance(value, int | float) else value
    # a leading =, +, - or @ makes spreadsheets run the cell as a formula
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: list[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def csv_response(type_: str, body: dict[str, Any]) -> web.Response:
    """``body`` (a successful response object) as a CSV attachment."""
    header, rows = CSV_EXPORTS[type_](body)
    name = str(body.get("type") or type_)
    return web.Response(
        text=csv_text(header, rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
