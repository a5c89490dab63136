"""Huge node API replies: refused at the size cap while the event loop keeps running."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from storj_monitor import nodeapi
from storj_monitor.nodeapi import NodeApiClient, NodeApiTooLarge

BIG = 50 << 20  # bytes
CHUNK = 1 << 20


def huge_app() -> web.Application:
    """``/sized``: 50 MB with Content-Length; ``/chunked``: 50 MB without; ``/json``: 1 MB JSON."""

    async def body(request: web.Request, *, sized: bool) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        if sized:
            resp.content_length = BIG
        else:
            resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            await resp.write(b'{"nodeID": "x", "pad": "')
            for _ in range(BIG // CHUNK):
                await resp.write(b"a" * CHUNK)
        except (ConnectionError, RuntimeError):  # the client hung up at its limit
            pass
        return resp

    async def sized(request: web.Request) -> web.StreamResponse:
        return await body(request, sized=True)

    async def chunked(request: web.Request) -> web.StreamResponse:
        return await body(request, sized=False)

    async def one_mb(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=orjson.dumps({"nodeID": "x", "pad": "b" * (1 << 20)}),
            content_type="application/json",
        )

    app = web.Application()
    app.router.add_get("/sized", sized)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/json", one_mb)
    return app


@pytest.fixture
async def huge_url() -> AsyncIterator[str]:
    runner = web.AppRunner(huge_app(), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def client(url: str, **kw: object) -> NodeApiClient:
    return NodeApiClient(url, timeout=30.0, retries=2, backoff=0.01, rng=random.Random(1), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "text"), [("/sized", "52428800 bytes"), ("/chunked", "at least")])
async def test_huge_reply_is_a_clear_error_and_the_loop_keeps_ticking(
    huge_url: str, path: str, text: str
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        async with client(huge_url) as c:
            with pytest.raises(NodeApiTooLarge) as info:
                await c.get_json(path)
    finally:
        task.cancel()
    err = info.value
    assert err.limit == nodeapi.DEFAULT_MAX_REPLY_BYTES == 8 << 20
    assert "reply too large (" in str(err) and text in str(err)
    assert f"> {8 << 20})" in str(err)
    assert not err.transient  # one request, no retries of a 50 MB download
    if path == "/sized":  # refused from its Content-Length, before reading the body
        assert err.size == BIG and ticks > 0
    else:  # read until just past the cap, not the 50 MB, while the loop ran other tasks
        assert 8 << 20 < err.size <= (8 << 20) + (64 << 10)
        assert ticks > 10


async def test_cap_is_a_setting_of_the_client(huge_url: str) -> None:
    async with client(huge_url, max_reply_bytes=512 << 10) as c:
        with pytest.raises(NodeApiTooLarge, match=r"> 524288\)"):
            await c.get_json("/json")
    async with client(huge_url, max_reply_bytes=2 << 20) as c:
        data = await c.get_json("/json")
    assert data["nodeID"] == "x" and len(data["pad"]) == 1 << 20


async def test_large_replies_are_decoded_off_the_event_loop(
    huge_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    real = orjson.loads

    def spy(body: bytes) -> object:
        threads.append(threading.get_ident())
        return real(body)

    monkeypatch.setattr(nodeapi.orjson, "loads", spy)
    async with client(huge_url) as c:
        data = await c.get_json("/json")
    assert data["pad"] == "b" * (1 << 20)
    assert threads and threads[0] != threading.get_ident()
