"""Shared set-up of the web tests: a real Monitor on 127.0.0.1:0 following real log files in
tmp_path, with fake node APIs, plus a small WebSocket conversation helper."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.model import NodeSpec
from storj_monitor.services.monitor import Monitor
from storj_monitor.settings import defaults

WAIT = 10.0  # seconds a test waits for something that should happen in well under one


@dataclass
class Running:
    monitor: Monitor
    base: str  # http://127.0.0.1:PORT
    logs: dict[str, Path]
    apis: dict[str, FakeNodeApi]
    gen: LogGenerator
    token: str

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    def append(self, node: str, lines: list[str]) -> None:
        with self.logs[node].open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))

    def transfers(
        self, node: str, n: int, action: str = "GET", status: str = "success", **kw: Any
    ) -> None:
        now = time.time()
        lines: list[str] = []
        for _ in range(n):
            lines += self.gen.transfer(action, status, at=now - 0.2, latency=0.1, **kw)  # type: ignore[arg-type]
        self.append(node, lines)


@contextlib.asynccontextmanager
async def running_monitor(
    tmp_path: Path,
    *,
    token: str = "",
    scenario_a: str = "healthy",
    **overrides: Any,
) -> AsyncIterator[Running]:
    """Monitor with node A (log + healthy fake API) and node B (log + failing API)."""
    logs = {"A": tmp_path / "a.log", "B": tmp_path / "b.log"}
    gen = LogGenerator(seed=7, dialect="mixed")
    for path in logs.values():
        path.write_text("", encoding="utf-8")
    api_a = await FakeNodeApi(scenario(scenario_a)).start()
    api_b = await FakeNodeApi(scenario("http500")).start()
    settings = defaults().replace(
        db_path=str(tmp_path / "monitor.db"),
        host=overrides.pop("host", "127.0.0.1"),
        port=0,
        auth_token=token,
        stats_push_interval=0.1,
        node_api_poll_interval=0.2,
        node_api_timeout=1.0,
        node_api_retries=0,
        **overrides,
    )
    nodes = [
        NodeSpec("A", str(logs["A"]), api_a.url),
        NodeSpec("B", str(logs["B"]), api_b.url),
    ]
    monitor = Monitor(settings, nodes)
    try:
        await monitor.start()
        assert monitor.web is not None and monitor.web.port
        yield Running(
            monitor,
            f"http://127.0.0.1:{monitor.web.port}",
            logs,
            {"A": api_a, "B": api_b},
            gen,
            token,
        )
    finally:
        await monitor.stop()
        await api_a.stop()
        await api_b.stop()


class Conversation:
    """A WebSocket client that matches responses to requests by ``id`` and keeps broadcasts."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def next(self, timeout: float = WAIT) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"socket ended: {msg.type} {msg.data!r}"
        data = msg.json()
        self.seen.append(data)
        return data  # type: ignore[no-any-return]

    async def until(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, "the expected message did not arrive"
            data = await self.next(left)
            if pred(data):
                return data

    async def seen_or_until(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """A message already received that matches, else the next one that does."""
        for m in self.seen:
            if pred(m):
                return m
        return await self.until(pred, timeout)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        rid = f"r{next(self._ids)}"
        await self.ws.send_json({**message, "id": rid})
        return await self.until(lambda m: m.get("id") == rid)

    async def raw(self, data: str | bytes) -> dict[str, Any]:
        """Send a frame that cannot carry an id; the next error message answers it."""
        if isinstance(data, bytes):
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(data)
        return await self.until(lambda m: m.get("type") == "error")


async def poll_until(fn: Callable[[], Any], timeout: float = WAIT, step: float = 0.05) -> Any:
    """Await ``fn()`` until it returns something truthy (readiness, never a fixed sleep)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await fn()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(step)
