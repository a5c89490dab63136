"""The TOML config's tables: nodes (``[[node]]``) and notification routes (``[[notify]]``).

So that the monitor runs as a service with no long command line::

    [[node]]
    name = "My-Node"
    log = "/var/log/storagenode.log"      # a file, host:port of a forwarder, docker:NAME or -
    api = "http://127.0.0.1:14002"        # optional
    data_dir = "/mnt/storj/storagenode"   # optional: the filesystem's view of the disk
    allocation = "8 TB"                   # optional: bytes or a size; used/total without an API

    [[notify]]
    urls = ["ntfy://ntfy.sh/my-node-alerts"]
    min_severity = "warning"              # info | warning | critical
    quiet_hours = "22:00-07:00"           # optional, the monitor host's local time

A ``[[node]]`` is checked exactly like ``--node NAME:LOG[:API]``; flags add more nodes. During a
route's quiet hours only critical notifications go out; the others wait until the quiet
hours end and are sent then if their alert is still open. Pure: parsing and time arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from storj_monitor.analytics.maintenance import parse_size
from storj_monitor.model import NodeSpec
from storj_monitor.nodespec import NodeSpecError, parse_node_spec

SEVERITIES = ("info", "warning", "critical")
_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


class ConfigTableError(ValueError):
    """A ``[[node]]`` or ``[[notify]]`` table is wrong; the message names it."""


@dataclass(frozen=True, slots=True)
class NotifyRoute:
    """Where notifications of at least ``min_severity`` go; ``quiet_hours`` as minutes of
    the local day (start, end), the end exclusive, wrapping past midnight when end < start."""

    urls: tuple[str, ...]
    min_severity: str = "warning"
    quiet_hours: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ConfigTables:
    nodes: tuple[NodeSpec, ...] = ()
    routes: tuple[NotifyRoute, ...] = field(default_factory=tuple)


def parse_quiet_hours(text: str) -> tuple[int, int]:
    """``"22:00-07:00"`` → (1320, 420) minutes of the day."""
    m = _HHMM.match(text)
    if m is None:
        raise ConfigTableError(f"quiet_hours {text!r}: expected HH:MM-HH:MM, e.g. 22:00-07:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ConfigTableError(f"quiet_hours {text!r}: start and end are the same")
    return start, end


def in_quiet_hours(minute_of_day: int, quiet: tuple[int, int] | None) -> bool:
    """Whether a local minute of the day (0..1439) falls in the quiet hours."""
    if quiet is None:
        return False
    start, end = quiet
    if start < end:
        return start <= minute_of_day < end
    return minute_of_day >= start or minute_of_day < end


def _node(table: Any, where: str) -> NodeSpec:
    if not isinstance(table, Mapping):
        raise ConfigTableError(f"{where}: expected a table with name, log and optional api")
    unknown = set(table) - {"name", "log", "api", "data_dir", "allocation"}
    if unknown:
        raise ConfigTableError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name, log, api = table.get("name"), table.get("log"), table.get("api")
    if not isinstance(name, str) or not isinstance(log, str):
        raise ConfigTableError(f"{where}: name and log are required strings")
    if api is not None and not isinstance(api, str):
        raise ConfigTableError(f"{where}: api must be a string URL")
    if ":" in name:
        raise ConfigTableError(f"{where}: node name {name!r} must not contain ':'")
    data_dir, allocation = table.get("data_dir"), table.get("allocation")
    if data_dir is not None and (not isinstance(data_dir, str) or not data_dir.strip()):
        raise ConfigTableError(f"{where}: data_dir must be a directory path (a string)")
    size = None if allocation is None else parse_size(allocation)
    if allocation is not None and not size:
        raise ConfigTableError(
            f"{where}: allocation {allocation!r} must be bytes or a size like \"8 TB\" or \"7.2 TiB\""
        )
    try:
        spec = parse_node_spec(f"{name}:{log}" + (f":{api}" if api else ""))
    except NodeSpecError as exc:
        raise ConfigTableError(f"{where}: {exc}") from None
    return replace(spec, data_dir=data_dir, allocation=size)


def _route(table: Any, where: str) -> NotifyRoute:
    if not isinstance(table, Mapping):
        raise ConfigTableError(f"{where}: expected a table with urls")
    unknown = set(table) - {"urls", "min_severity", "quiet_hours"}
    if unknown:
        raise ConfigTableError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    urls = table.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, Sequence) or not urls or not all(isinstance(u, str) and u for u in urls):
        raise ConfigTableError(f"{where}: urls must be a non-empty list of apprise URLs")
    severity = table.get("min_severity", "warning")
    if severity not in SEVERITIES:
        raise ConfigTableError(f"{where}: min_severity must be one of {', '.join(SEVERITIES)}")
    quiet = table.get("quiet_hours")
    if quiet is not None and not isinstance(quiet, str):
        raise ConfigTableError(f"{where}: quiet_hours must be a string like 22:00-07:00")
    try:
        hours = parse_quiet_hours(quiet) if quiet else None
    except ConfigTableError as exc:
        raise ConfigTableError(f"{where}: {exc}") from None
    return NotifyRoute(tuple(urls), severity, hours)


def parse_tables(data: Mapping[str, Any], source: str) -> ConfigTables:
    """The ``node`` and ``notify`` arrays of tables of a parsed TOML file."""
    nodes_raw = data.get("node", [])
    routes_raw = data.get("notify", [])
    if not isinstance(nodes_raw, list):
        raise ConfigTableError(f"{source}: [[node]] must be an array of tables")
    if not isinstance(routes_raw, list):
        raise ConfigTableError(f"{source}: [[notify]] must be an array of tables")
    nodes = tuple(_node(t, f"{source}: [[node]] #{i + 1}") for i, t in enumerate(nodes_raw))
    names = [n.name for n in nodes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigTableError(f"{source}: node name(s) used twice: {', '.join(dupes)}")
    routes = tuple(_route(t, f"{source}: [[notify]] #{i + 1}") for i, t in enumerate(routes_raw))
    return ConfigTables(nodes, routes)
