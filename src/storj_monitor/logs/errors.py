"""Short, stable categories for the storagenode's error texts.

An ``error`` string such as ``"manager closed: read tcp 172.17.0.3:28967->88.194.52.147:53283:
read: connection reset by peer"`` is unique per connection; the dashboard, the rollups and the
alert rules need the kind (``connection reset``). ``categorize_error`` walks one ordered table
of (substring, category): the first hit wins, so the more specific and more important causes
come first (a missing piece matters more than how the connection ended). Everything else is
``other``. Pure and fast: one ``lower()`` and a few substring tests.
"""

from __future__ import annotations

__all__ = ["ERROR_CATEGORIES", "categorize_error"]

#: Ordered (lower-case substring, category). First match wins.
_PATTERNS: tuple[tuple[str, str], ...] = (
    # The piece is gone: on GET_AUDIT this is a failed audit.
    ("file does not exist", "file does not exist"),
    ("no such file or directory", "file does not exist"),
    # Disk and database trouble on the node itself.
    ("no space left", "disk full"),
    ("out of space", "disk full"),
    ("not enough disk space", "disk full"),
    ("disk space requirement not met", "disk full"),
    ("database is locked", "database locked"),
    ("database disk image is malformed", "database corrupt"),
    ("file is not a database", "database corrupt"),
    ("input/output error", "i/o error"),
    ("permission denied", "permission denied"),
    ("hashes don't match", "hash mismatch"),
    ("hash mismatch", "hash mismatch"),
    # How the peer's connection ended.
    ("connection reset", "connection reset"),
    ("broken pipe", "broken pipe"),
    ("use of closed network connection", "use of closed connection"),
    ("connection refused", "connection refused"),
    ("no route to host", "network unreachable"),
    ("network is unreachable", "network unreachable"),
    ("speed too low", "speed too low"),
    ("does not match received message size", "size mismatch"),
    ("size mismatch", "size mismatch"),
    ("stream closed", "stream closed"),
    ("closed by peer", "stream closed"),
    ("unexpected eof", "unexpected EOF"),
    ("context deadline exceeded", "timeout"),
    ("timed out", "timeout"),
    ("timeout", "timeout"),
    ("context canceled", "context canceled"),
    ("context cancelled", "context canceled"),
    ("untrusted", "untrusted satellite"),
    ("order limit", "order limit"),
    ("expired", "expired"),
)

#: Every category ``categorize_error`` can return, in table order, then ``other``.
ERROR_CATEGORIES: tuple[str, ...] = (*dict.fromkeys(c for _, c in _PATTERNS), "other")

#: Error texts repeat a lot (``unexpected EOF``, ``context canceled``); cache them, bounded.
_CACHE: dict[str, str] = {}
_CACHE_MAX = 4096


def categorize_error(message: str | None) -> str | None:
    """Return the short category of an error text; None for no error, ``other`` if unknown."""
    if not message:
        return None
    if not isinstance(message, str):
        message = str(message)
    cached = _CACHE.get(message)
    if cached is not None:
        return cached
    text = message.lower()
    category = "other"
    for needle, name in _PATTERNS:
        if needle in text:
            category = name
            break
    if len(message) <= 200:  # short texts repeat; long ones embed addresses
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[message] = category
    return category
