"""Log timestamps (RFC 3339 / ISO 8601 in every form the storagenode wrote) to UTC unix seconds.

Forms: ``2026-11-28T10:30:15Z``, ``2026-11-28T11:30:15+01:00``, ``2025-10-06T00:20:52-07:00``,
pre-v1.83 ``2023-06-01T10:30:15.123+0100`` and ``…Z``, docker's RFC3339Nano
``2025-10-06T07:00:02.482913377Z`` (all nine digits kept), ``+01`` hour-only offsets, a space
instead of ``T``, and no zone at all (taken as UTC). Anything else gives None.

Speed: whole-second stamps repeat for every line of the same second, so the parser keeps a
per-string cache of them in front of this; below that, the ``YYYY-MM-DDTHH:MM:SS`` head is
cached on its own, so millisecond to nanosecond stamps (nearly always unique) cost a dict
lookup, a few slices and one ``float()`` of the fraction, whether or not they repeat.
:func:`has_subsecond` tells whether a stamp is precise enough for millisecond durations.
Pure, never raises.

The sane window (:func:`sane_window`): a log time before 2018 or more than a day after ``now``
is not believed (a node clock reset to 0001-01-01, a corrupted year 9999); the parser rejects
such lines as bad lines instead of letting one of them stretch a batch over centuries.
"""

from __future__ import annotations

import calendar
import re

__all__ = [
    "HEAD_CACHE_MAX",
    "HEAD_SECONDS",
    "MILLIS_Z",
    "SANE_AHEAD_SECONDS",
    "SANE_SINCE",
    "has_subsecond",
    "parse_timestamp",
    "sane_window",
    "split_wrapper_prefix",
    "wrapper_prefix_time",
]

#: Log times before this are not believed: 2018-01-01T00:00:00Z (UTC unix seconds), before
#: the first v3 storagenode release.
SANE_SINCE = 1_514_764_800.0
#: How far ahead of ``now`` a log time may be (seconds): one day covers any clock skew.
SANE_AHEAD_SECONDS = 86_400.0


def sane_window(now: float | None) -> tuple[float, float]:
    """The log times believed at ``now`` (UTC unix seconds), inclusive: from
    :data:`SANE_SINCE` to ``now + SANE_AHEAD_SECONDS``; no upper bound when ``now`` is None."""
    return SANE_SINCE, (now + SANE_AHEAD_SECONDS if now is not None else float("inf"))


_HEAD = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)\Z")
_ZONE = re.compile(r"([+-])(\d\d)(?::?(\d\d))?\Z")

_head_cache: dict[str, float] = {}
#: Heads kept before the cache starts afresh. Lines come in time order, so a cleared cache
#: costs one regex per second of log; one new head a second of live tailing used to fill
#: 65,536 (7.6 MiB) over 18 hours, the monitor's RSS creeping meanwhile (4,096: 0.5 MiB).
HEAD_CACHE_MAX = 4096
#: ``YYYY-MM-DDTHH:MM:SS`` heads already read -> UTC unix seconds (valid heads only). The
#: pipeline's fast path reads it (never writes) to decode ``….123Z`` stamps inline exactly
#: as :func:`parse_timestamp` does.
HEAD_SECONDS = _head_cache
#: The 1,000 millisecond suffixes ``.000Z`` … ``.999Z`` -> their fraction, the very value
#: :func:`parse_timestamp` adds to the head's seconds (a fixed table, not a cache).
MILLIS_Z: dict[str, float] = {f".{i:03d}Z": float(f".{i:03d}") for i in range(1000)}


def _head_seconds(head: str) -> float | None:
    """``YYYY-MM-DDTHH:MM:SS`` read as UTC -> unix seconds (cached)."""
    secs = _head_cache.get(head)
    if secs is not None:
        return secs
    match = _HEAD.match(head)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if year < 1 or not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return None
    if hour > 23 or minute > 59 or second > 60:  # 60: a leap second, as RFC 3339 allows
        return None
    secs = float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    if len(_head_cache) >= HEAD_CACHE_MAX:
        _head_cache.clear()
    _head_cache[head] = secs
    return secs


def parse_timestamp(text: object) -> float | None:
    """An RFC 3339 / ISO 8601 timestamp to UTC unix seconds, or None if it is not one."""
    if type(text) is not str or not 19 <= len(text) <= 40:
        return None
    head = text[:19]
    secs = _head_cache.get(head)
    if secs is None:
        secs = _head_seconds(head)
        if secs is None:
            return None
    rest = text[19:]
    if not rest or rest == "Z" or rest == "z":
        return secs
    if rest[0] == "." and rest[-1] == "Z":  # docker's RFC3339Nano: ".482913377Z"
        fraction_text = rest[:-1]
        if fraction_text[1:].isdecimal():
            return secs + float(fraction_text)
    fraction = 0.0
    if rest[0] in ".,":
        digits_end = 1
        while digits_end < len(rest) and rest[digits_end].isdigit():
            digits_end += 1
        digits = rest[1:digits_end]
        if not digits or not digits.isascii():
            return None
        fraction = int(digits) / 10.0 ** len(digits)
        rest = rest[digits_end:]
        if not rest or rest == "Z" or rest == "z":
            return secs + fraction
    zone = _ZONE.match(rest)
    if zone is None:
        return None
    sign, hours, minutes = zone.groups()
    offset = int(hours) * 3600 + int(minutes or 0) * 60
    if int(hours) > 23 or int(minutes or 0) > 59:
        return None
    return secs + fraction - offset if sign == "+" else secs + fraction + offset


#: What separates the seconds from their fraction (``,``: Go's and log4j's ISO 8601 variant).
FRACTION_MARKS = (".", ",")


def has_subsecond(text: str) -> bool:
    """True when a time text that :func:`parse_timestamp` reads carries at least three
    fraction digits (milliseconds or finer), so durations between two such stamps are good to
    the millisecond. Whole seconds and 1–2 fraction digits give False."""
    return text[19:20] in FRACTION_MARKS and len(text) > 22 and text[20:23].isdigit()


def split_wrapper_prefix(text: str) -> tuple[str, float | None]:
    """Split a wrapper prefix off the time column.

    ``docker logs -t``: ``"<RFC3339Nano> <log time>"``; journald/syslog: ``"Nov 28 10:30:15
    host storagenode[1]: <log time>"``. Returns (log time text, prefix time) where the prefix
    time is kept only when it is an RFC 3339 stamp finer than a second (docker's, or
    ``journalctl -o short-iso-precise``).
    """
    prefix, sep, ts_text = text.rpartition(" ")
    if not sep:
        return text, None
    return ts_text, wrapper_prefix_time(prefix)


def wrapper_prefix_time(prefix: str) -> float | None:
    """The time at the start of a wrapper prefix, if it is sub-second RFC 3339."""
    first = prefix.lstrip().split(" ", 1)[0]
    if first[19:20] in (".", ","):
        return parse_timestamp(first.rstrip(":"))
    return None
