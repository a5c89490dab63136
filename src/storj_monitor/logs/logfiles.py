"""The files an ``--ingest-log`` names: paths and glob patterns (``node.log*``), expanded and put
in rotation order, oldest first, so a transfer that spans two files keeps its duration.

Rotation order within one log (same directory and base name ``NAME``) is the live follower's
(``logs/rotation.py``: :func:`~storj_monitor.logs.rotation.rank` and
:func:`~storj_monitor.logs.rotation.oldest_first`): ``NAME.N`` (higher N is older),
``NAME-YYYYMMDD`` / ``NAME.YYYY-MM-DD`` (older date is older), by modification time when one
directory mixes both schemes, and the live ``NAME`` last; here each may also be ``.bz2`` or
``.xz`` (the follower reads ``.gz`` only).
"""

from __future__ import annotations

import glob
import os
import re

from storj_monitor.logs.compressed import suffix_of
from storj_monitor.logs.rotation import oldest_first, rank

_MAGIC = re.compile(r"[*?[]")


class NoMatchError(ValueError):
    """A glob pattern names no file; ``str()`` is one line for the user."""


def rotation_key(name: str) -> tuple[str, str, tuple[int, ...]]:
    """(base name, scheme, order) of a file name: scheme ``n`` for ``NAME.N`` (order ``(-N,)``),
    ``d`` for dated names (order: the date's digits, then any time), ``c`` for the live file
    (see ``rotation.rank``). The base is the shortest prefix (cut before a ``.``, ``-`` or
    ``_``) of which the name, without its compression suffix, is a rotated file."""
    suffix = suffix_of(name)
    plain = name[: -len(suffix)] if suffix else name
    for i, char in enumerate(plain):
        if i and char in ".-_" and (r := rank(plain[:i], plain)) is not None:
            return plain[:i], r[0], r[1]
    return plain, "c", ()


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0  # missing: the import reports it


def rotation_order(paths: list[str]) -> list[str]:
    """``paths`` (no duplicates) oldest first: grouped by directory and base name, each group
    in rotation order with its live file last."""
    groups: dict[tuple[str, str], list[tuple[str, tuple[int, ...], str]]] = {}
    for path in paths:
        folder, name = os.path.split(path)
        base, scheme, order = rotation_key(name)
        groups.setdefault((folder, base), []).append((scheme, order, path))
    ordered: list[str] = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda m: m[2])  # ties: by name
        ordered += oldest_first([((s, o), _mtime(p), p) for s, o, p in members if s != "c"])
        ordered += [p for s, _, p in members if s == "c"]
    return ordered


def expand(patterns: list[str]) -> list[str]:
    """The regular files named by ``patterns`` (paths, or glob patterns when they do not name
    an existing file), without duplicates, in :func:`rotation_order`. A path that does not
    exist is kept (the import reports it); a pattern that matches nothing raises
    :class:`NoMatchError`."""
    found: dict[str, str] = {}  # real path → path as named
    for pattern in patterns:
        path = os.path.expanduser(pattern)
        if os.path.exists(path) or not _MAGIC.search(path):
            found.setdefault(os.path.realpath(path), path)
            continue
        matches = [p for p in sorted(glob.glob(path)) if os.path.isfile(p)]
        if not matches:
            raise NoMatchError(f"no file matches {pattern}")
        for p in matches:
            found.setdefault(os.path.realpath(p), p)
    return rotation_order(list(found.values()))
