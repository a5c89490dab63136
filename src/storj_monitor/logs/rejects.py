"""Why a well-formed log line is rejected as a *bad line* (pure).

A line can parse and still carry a value that cannot be true: a time outside the sane window
(``logs.timestamps.sane_window``), a negative size. The parser raises
:class:`RejectedLineError` for those, counts the line as ``rejected`` and keeps it, with the
reason, for the store's ``bad_lines`` table (docs/log-pipeline.md "Bad lines").
"""

from __future__ import annotations

__all__ = ["BAD_SIZE", "BAD_TIME", "MAX_REJECTED_CHARS", "MAX_SIZE", "RejectedLineError"]

#: Reasons of rejected lines (the ``reason`` column of ``bad_lines``).
BAD_TIME = "timestamp outside the sane window"
BAD_SIZE = "negative or absurd size"
#: Largest piece size believed (bytes, 1 TiB; real pieces are a few MiB): larger ones would
#: overflow the rollups' byte sums.
MAX_SIZE = 1 << 40
#: Characters of a rejected line kept.
MAX_REJECTED_CHARS = 4096


class RejectedLineError(Exception):
    """A well-formed line with a value that cannot be true; ``args[0]`` is a ``BAD_*``."""
