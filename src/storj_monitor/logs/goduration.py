"""Go ``time.Duration`` strings (``"1m37.535505102s"``, ``"850ms"``, ``"12.5µs"``) to milliseconds.

The storagenode logs ``zap.Duration`` fields with Go's ``Duration.String()``; hashstore
compaction, retain, filewalkers and disk checks carry them. The grammar accepted here is Go's
``time.ParseDuration``: an optional sign, then one or more ``<number><unit>`` parts, units
``h m s ms us µs μs ns``; the bare ``"0"`` is zero.

The sum is computed in integer nanoseconds (like Go) and divided once, so
``"1m37.535505102s"`` gives exactly ``97535.505102``. Pure, never raises.
"""

from __future__ import annotations

import re

__all__ = ["parse_go_duration"]

#: One ``<number><unit>`` part. ``ms`` must be tried before ``m`` and ``s``.
_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)")

_UNIT_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 MICRO SIGN, what Go writes
    "μs": 1_000,  # U+03BC GREEK SMALL LETTER MU, which Go also accepts
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

#: Longer input is not a duration any Go program prints; refusing it also keeps ``int()``
#: away from Python's digit limit for huge numbers.
_MAX_LEN = 64


def parse_go_duration(text: object) -> float | None:
    """Return the duration in milliseconds, or None when ``text`` is not a Go duration.

    >>> parse_go_duration("1m37.535505102s")
    97535.505102
    >>> parse_go_duration("850ms"), parse_go_duration("0s"), parse_go_duration("soon")
    (850.0, 0.0, None)
    """
    if not isinstance(text, str):
        return None
    s = text.strip()
    if not s or len(s) > _MAX_LEN:
        return None
    negative = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        return None
    total_ns = 0
    pos = 0
    end = len(s)
    while pos < end:
        match = _PART.match(s, pos)
        if match is None:
            return None
        whole, frac, unit = match.groups()
        if not whole and not frac:
            return None  # ".s", "s", "ms" alone
        scale = _UNIT_NS[unit]
        total_ns += int(whole or "0") * scale
        if frac:
            # Go truncates digits beyond nanosecond precision.
            total_ns += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    ms = total_ns / 1_000_000
    return -ms if negative else ms
