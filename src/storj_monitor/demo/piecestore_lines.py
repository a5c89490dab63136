"""The text of a generated transfer's piecestore lines: start, result and race-lost cancel.

Each function returns ``(level, message, fields)``: the JSON fields column in the key
spelling of one dialect (``OLD_KEYS``: Title Case, before v1.146; ``NEW_KEYS``:
snake_case), with the node's real error texts and cancel reasons. The time, the logger
column and docker's wrapper are the caller's (:class:`~storj_monitor.demo.loggen.LogGenerator`).
Draws from the ``rng`` passed in, always in the same order, so a seed gives the same lines.
"""

from __future__ import annotations

import random

import orjson

__all__ = ["NEW_KEYS", "OLD_KEYS", "PiecestoreLine", "race_lost_lines", "result_line", "start_line"]

#: (level, message, JSON fields column) of one piecestore line.
PiecestoreLine = tuple[str, str, str]

OLD_KEYS = ("Piece ID", "Satellite ID", "Action", "Remote Address", "Size", "Offset", "Available Space")  # fmt: skip
NEW_KEYS = ("piece_id", "satellite_id", "action", "remote_address", "size", "offset", "available_space")  # fmt: skip

_DOWNLOAD_ERRORS = (
    "write tcp 172.17.0.3:28967->{peer}: write: broken pipe",
    "manager closed: read tcp 172.17.0.3:28967->{peer}: read: connection reset by peer",
    "context deadline exceeded",
    "use of closed network connection",
    "file does not exist",
    "pieces error: filestore error: database is locked",
)
#: Upload errors: (text, DEBUG-level cancel-like error).
_UPLOAD_ERRORS = (
    ("unexpected EOF", True),
    ("unexpected EOF", True),
    ("context canceled", True),
    ("speed too low, current:12345 < limit:65536", True),
    ("manager closed: read tcp 172.17.0.3:28967->{peer}: read: connection reset by peer", False),
    ("write tcp 172.17.0.3:28967->{peer}: write: broken pipe", False),
    ("context deadline exceeded", False),
    (
        "pieces error: filestore error: write /app/storage/temp/blob-123.partial: no space left on device",
        False,
    ),
)
_CANCEL_REASONS = (
    "context canceled",
    "context canceled",
    "stream closed by peer",
    "downloaded size (327680 bytes) does not match received message size (579840 bytes)",
)


def _head(keys: tuple[str, ...], piece: str, sat: str, action: str) -> str:
    """The opening of a piecestore line's JSON column, up to and including the action."""
    process = "Process" if keys is OLD_KEYS else "process"
    return f'{{"{process}": "storagenode", "{keys[0]}": "{piece}", "{keys[1]}": "{sat}", "{keys[2]}": "{action}", '  # fmt: skip


def _json_str(value: str) -> str:
    return orjson.dumps(value).decode()


def start_line(
    action: str, keys: tuple[str, ...], sat: str, piece: str, peer: str, size: int, available: int
) -> PiecestoreLine:
    """The DEBUG ``upload started`` (reporting ``available`` free bytes) or ``download
    started`` line of a transfer of ``size`` bytes."""
    _, _, _, k_addr, k_size, k_offset, k_space = keys
    head = _head(keys, piece, sat, action)
    if action.startswith("PUT"):
        return "DEBUG", "upload started", head + f'"{k_addr}": "{peer}", "{k_space}": {available}}}'
    body = f'"{k_offset}": 0, "{k_size}": {size}, "{k_addr}": "{peer}"}}'
    return "DEBUG", "download started", head + body


def result_line(
    rng: random.Random,
    debug: bool,
    action: str,
    status: str,
    keys: tuple[str, ...],
    sat: str,
    piece: str,
    peer: str,
    size: int,
    error: str | None,
) -> PiecestoreLine:
    """The result line of a transfer: success, canceled or failed. ``error`` is the failure
    text or cancel reason (None: one of the node's, drawn from ``rng``); ``debug``: the log
    has DEBUG lines, so an upload may fail with a DEBUG-level cancel-like error."""
    _, _, _, k_addr, k_size, k_offset, _ = keys
    head = _head(keys, piece, sat, action)
    level = "INFO"
    if action.startswith("PUT"):
        if status == "success":
            message = "uploaded"
        elif status == "canceled":
            message = "upload canceled"
            size = rng.randrange(0, size + 1, 256)
        else:
            message = "upload failed"
            if error is None:
                text, cancel_like = rng.choice(_UPLOAD_ERRORS)
                if cancel_like and not debug:
                    text, cancel_like = _UPLOAD_ERRORS[6]
                error = text.format(peer=peer)
            else:
                cancel_like = False
            level = "DEBUG" if cancel_like else "WARN" if keys is NEW_KEYS and ("pipe" in error or "reset" in error) else "ERROR"  # fmt: skip
            size = rng.randrange(0, size + 1, 256)
        body = f'"{k_addr}": "{peer}", "{k_size}": {size}'
    else:
        offset = rng.randrange(0, 2319104, 256) if action == "GET_AUDIT" else 0
        body = f'"{k_offset}": {offset}, "{k_size}": {size}, "{k_addr}": "{peer}"'
        if status == "success":
            message = "downloaded"
        elif status == "canceled":
            message = "download canceled"
            reason = error or rng.choice(_CANCEL_REASONS)
            body += f', "reason": {_json_str(reason)}'
            error = None
        else:
            message = "download failed"
            level = "ERROR"
            if error is None:
                error = rng.choice(_DOWNLOAD_ERRORS).format(peer=peer)
    if error is not None:
        escaped = _json_str(error)
        body += f', "error": {escaped}, "errorVerbose": {escaped[:-1]}\\n\\tstorj.io/common/rpc/rpcstatus.NamedWrap:93"'  # fmt: skip
    return level, message, head + body + "}"


def race_lost_lines(
    debug: bool, keys: tuple[str, ...], sat: str, piece: str, peer: str, size: int
) -> list[PiecestoreLine]:
    """The rare race-lost cancel of a GET: an INFO line, then (``debug``) its twin with the
    error."""
    _, _, _, k_addr, k_size, k_offset, _ = keys
    fields = _head(keys, piece, sat, "GET") + f'"{k_offset}": 0, "{k_size}": {size}, "{k_addr}": "{peer}"'  # fmt: skip
    lines = [("INFO", "download canceled (race lost or node shutdown)", fields + "}")]
    if debug:
        lines.append(("DEBUG", "download canceled", fields + ', "error": "context canceled"}'))
    return lines
