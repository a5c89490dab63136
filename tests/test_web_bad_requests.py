"""Requests that used to be answered with a 500 and a traceback each: acknowledge ids beyond
SQLite's 64-bit range, and token headers or cookies whose bytes are not UTF-8. They are the
client's mistakes: 4xx, and nothing in the monitor's log at ERROR."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from storj_monitor.web.params import ALERT_ID, LIMIT, ParamError, validate
from web_harness import Conversation, running_monitor

pytestmark = pytest.mark.timeout(60)
TOKEN = "s3cret"


async def raw_request(port: int, head: bytes) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, bytes as given) and return status and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + b"Connection: close\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info is not None
    ]


@pytest.mark.parametrize(
    "alert_id",
    [str(2**63), str(2**64 + 5), "9" * 30, "-1", "0", "abc", "1_0", "%EF%BC%91", "1.5", "+1"],
)
async def test_acknowledge_with_a_bad_id_is_400(
    tmp_path: Path, alert_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_monitor(tmp_path) as run:
        status, body = await raw_request(
            run.monitor.web.port,
            f"POST /api/alerts/{alert_id}/acknowledge HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\nContent-Length: 0\r\n".encode(),
        )
    assert status == 400, body
    assert b"alert_id" in body
    assert _errors(caplog) == []


async def test_largest_sqlite_id_is_a_clean_404(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        resp = await session.post(f"{run.base}/api/alerts/{2**63 - 1}/acknowledge")
        assert resp.status == 404
        resp.release()


async def test_websocket_acknowledge_with_a_huge_id_is_an_error_message(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(run.ws_url)
        conv = Conversation(ws)
        for bad, says in (
            (2**63, "'alert_id' must be at most 9223372036854775807"),
            (1e300, "'alert_id' must be at most 9223372036854775807"),
            (-1, "'alert_id' must be at least 1"),
        ):
            reply = await conv.request({"type": "acknowledge_alert", "alert_id": bad})
            assert reply["type"] == "error"
            assert says in reply["message"]
        await ws.close()


def test_alert_id_range() -> None:
    assert validate([ALERT_ID], {"alert_id": 2**63 - 1}, [])["alert_id"] == 2**63 - 1
    with pytest.raises(ParamError, match="at most 9223372036854775807"):
        validate([ALERT_ID], {"alert_id": 2**63}, [])
    with pytest.raises(ParamError, match="at most 9223372036854775807"):
        validate([LIMIT], {"limit": 2**70}, [])  # every "int" parameter, whatever its range


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xff\xfe",
        b"Authorization: Bearer caf\xc3\xa9",
        b"X-Auth-Token: \xff",
        b"X-Auth-Token: s3cret\xe9",
        b"Cookie: storj_monitor_token=\xff\xfe",
        b"Cookie: storj_monitor_token=s3cret\x80",
    ],
)
@pytest.mark.parametrize("path", [b"/api/nodes", b"/", b"/metrics"])
async def test_non_utf8_token_bytes_are_401(
    tmp_path: Path, header: bytes, path: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_monitor(tmp_path, token=TOKEN) as run:
        port = run.monitor.web.port
        status, _ = await raw_request(
            port, b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + header + b"\r\n"
        )
        assert status == 401
        # the server is fine afterwards: the right token still works
        ok, _ = await raw_request(
            port,
            b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b"\r\n",
        )
        assert ok == 200
    assert _errors(caplog) == []
