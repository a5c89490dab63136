"""The files an ``--ingest-log`` names: paths and glob patterns (``node.log*``), expanded and put
in rotation order, oldest first, so a transfer that spans two files keeps its duration.

Rotation order within one log (same directory and base name ``NAME``): ``NAME.N`` (higher N is
older), ``NAME-YYYYMMDD`` / ``NAME.YYYY-MM-DD`` (older date is older), each compressed or not,
by modification time when one directory mixes both schemes, and the live ``NAME`` last. These
are the rules of the live follower's rotation set (``logs/rotation.py`` on branch ``rot``),
plus ``.bz2`` and ``.xz``; once that module is on main its ``rank`` should serve both.
"""

from __future__ import annotations

import glob
import os
import re

from storj_monitor.logs.compressed import suffix_of

_NUMBERED = re.compile(r"\.(\d{1,6})")
_DATED = re.compile(r"[-._](\d{8}|\d{4}-\d{2}-\d{2})((?:[-_.T:]?\d+)*)")
_MAGIC = re.compile(r"[*?[]")


class NoMatchError(ValueError):
    """A glob pattern names no file; ``str()`` is one line for the user."""


def _rank(base: str, name: str) -> tuple[str, tuple[int, ...]] | None:
    """("n", (-N,)) for ``NAME.N``, ("d", (YYYYMMDD, ...)) for dated names, None for a name
    outside ``base``'s rotation set (``name`` without its compression suffix). The contract
    of ``logs.rotation.rank`` (branch ``rot``): replace this copy with it once merged."""
    if name == base or not name.startswith(base):
        return None
    rest = name[len(base) :]
    if m := _NUMBERED.fullmatch(rest):
        return "n", (-int(m[1]),)
    if m := _DATED.fullmatch(rest):
        return "d", (int(m[1].replace("-", "")), *map(int, re.findall(r"\d+", m[2])))
    return None


def rotation_key(name: str) -> tuple[str, str, tuple[int, ...]]:
    """(base name, scheme, order) of a file name: scheme ``n`` for ``NAME.N`` (order ``(-N,)``),
    ``d`` for dated names (order: the date's digits, then any time), ``c`` for the live file.
    A smaller order is older within one scheme. The base is the shortest prefix (cut before a
    ``.``, ``-`` or ``_``) of which the name is a rotated file."""
    suffix = suffix_of(name)
    plain = name[: -len(suffix)] if suffix else name
    for i, char in enumerate(plain):
        if i and char in ".-_" and (r := _rank(plain[:i], plain)) is not None:
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
        members = groups[key]
        rotated = [m for m in members if m[0] != "c"]
        if len({m[0] for m in rotated}) > 1:  # numbered and dated names: go by time
            rotated.sort(key=lambda m: (_mtime(m[2]), m[1], m[2]))
        else:
            rotated.sort(key=lambda m: (m[1], _mtime(m[2]), m[2]))
        ordered += [m[2] for m in rotated]
        ordered += sorted(m[2] for m in members if m[0] == "c")
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
