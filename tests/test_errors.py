"""Error texts -> short categories."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.logs.errors import ERROR_CATEGORIES, categorize_error


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("file does not exist", "file does not exist"),
        ("hashstore: file does not exist", "file does not exist"),
        ("context canceled", "context canceled"),
        ("context cancelled", "context canceled"),
        (
            "manager closed: read tcp 172.17.0.3:28967->88.194.52.147:53283: read: connection reset by peer",
            "connection reset",
        ),
        ("write tcp 172.17.0.3:28967->203.0.113.9:51234: write: broken pipe", "broken pipe"),
        ("context deadline exceeded", "timeout"),
        (
            "manager closed: read tcp 10.0.17.120:28967->79.127.219.44:36566: read: operation timed out",
            "timeout",
        ),
        ("unexpected EOF", "unexpected EOF"),
        ("stream closed by peer", "stream closed"),
        ("speed too low, current:12345 < limit:65536", "speed too low"),
        ("use of closed network connection", "use of closed connection"),
        (
            "downloaded size (327680 bytes) does not match received message size (579840 bytes)",
            "size mismatch",
        ),
        ("pieces error: filestore error: write x: no space left on device", "disk full"),
        ("out of space", "disk full"),
        ("pieces error: filestore error: database is locked", "database locked"),
        ("database disk image is malformed", "database corrupt"),
        ("hashes don't match", "hash mismatch"),
        ("rpc: dial tcp 203.0.113.45:28967: connect: connection refused", "connection refused"),
        ("something nobody has seen", "other"),
        ("<img src=x onerror=alert(1)>", "other"),
    ],
)
def test_categories(message: str, category: str) -> None:
    assert categorize_error(message) == category
    assert categorize_error(message) == category  # second time from the cache


@pytest.mark.parametrize("message", [None, ""])
def test_no_error_no_category(message: str | None) -> None:
    assert categorize_error(message) is None


def test_a_missing_piece_wins_over_how_the_connection_ended() -> None:
    assert categorize_error("file does not exist; context canceled") == "file does not exist"


def test_case_insensitive() -> None:
    assert categorize_error("Unexpected EOF") == "unexpected EOF"
    assert categorize_error("CONNECTION RESET BY PEER") == "connection reset"


@given(st.text(max_size=300))
def test_never_raises_and_returns_a_known_category(message: str) -> None:
    category = categorize_error(message)
    assert category is None if not message else category in ERROR_CATEGORIES


def test_non_string_is_tolerated() -> None:
    assert categorize_error(42) == "other"  # type: ignore[arg-type]
