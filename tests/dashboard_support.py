"""Support for the browser tests: a real Monitor (with fake node APIs) running on its own
event loop in a background thread, so the synchronous Playwright API can drive Chromium
against it, plus the Chromium launch and small waiting helpers.

Nothing here reaches beyond 127.0.0.1; every file lives in the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.demo.simulator import storage_history
from storj_monitor.model import NodeSpec
from storj_monitor.settings import defaults

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[1]
#: Outside the working tree; STORJ_MONITOR_SCREENSHOTS overrides. The run's summary names it.
SCREENSHOTS = Path(
    os.environ.get("STORJ_MONITOR_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "storj_monitor-screenshots"
)
WAIT = 20.0

NODE_A = "Alpha"
#: A node name with markup in it: it must show as these characters, never as HTML.
NODE_B = "Beta<i>2</i>"
XSS_ERROR = "<img src=x onerror=alert(1)>"
XSS_SATELLITE = "1XSSxTestSatelliteIdxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(fn: Callable[[], Any], timeout: float = WAIT, step: float = 0.1) -> Any:
    """Poll ``fn()`` until it returns something truthy (readiness, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
        except (OSError, ValueError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def write_logs(tmp_path: Path, now: float) -> dict[str, Path]:
    """Half an hour of traffic for both nodes, ending a minute ago. Node A logs at DEBUG level
    and has one failed audit whose error text is markup; node B logs at INFO level with no
    background lines (no durations, no free space, no scores: only its transfers)."""
    a = LogGenerator(seed=11, start=now - 1800, ops_per_second=4.0)
    b = LogGenerator(
        seed=12, start=now - 1800, ops_per_second=1.5, debug=False, background_per_hour=0
    )
    lines_a = list(a.lines_between(now - 1800, now - 90))
    lines_a.append(a.failure_line("GET_AUDIT", XSS_ERROR, at=now - 60, satellite_id=XSS_SATELLITE))
    lines_b = list(b.lines_between(now - 1800, now - 90))
    paths = {NODE_A: tmp_path / "alpha.log", NODE_B: tmp_path / "beta.log"}
    paths[NODE_A].write_text("\n".join(lines_a) + "\n", encoding="utf-8")
    paths[NODE_B].write_text("\n".join(lines_b) + "\n", encoding="utf-8")
    return paths


class BackgroundMonitor:
    """A Monitor on a fixed 127.0.0.1 port, on its own loop thread; ``start``/``stop`` may be
    called again (a restart keeps the same port and database)."""

    def __init__(self, tmp_path: Path, *, token: str = "", **overrides: Any) -> None:
        self.tmp_path = tmp_path
        self.token = token
        self.overrides = overrides  # further settings (e.g. thresholds)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        # Named after the loop thread, so the suite's leftover check knows whose they are.
        self.loop.set_default_executor(
            ThreadPoolExecutor(thread_name_prefix="dashboard-loop-executor")
        )
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="dashboard-loop", daemon=True
        )
        self.thread.start()
        self.api: FakeNodeApi | None = None
        self.monitor: Any = None
        self.now = time.time()
        self.logs = write_logs(tmp_path, self.now)
        self.dead_api_port = free_port()  # nothing listens there: node B has no API

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def settings(self) -> Any:
        return defaults().replace(
            db_path=str(self.tmp_path / "monitor.db"),
            host="127.0.0.1",
            port=self.port,
            auth_token=self.token,
            stats_push_interval=0.5,
            node_api_poll_interval=0.5,
            node_api_timeout=1.0,
            node_api_retries=0,
            **self.overrides,
        )

    async def _start(self) -> None:
        from storj_monitor.services.monitor import Monitor
        from storj_monitor.store.database import Store
        from storj_monitor.store.snapshots import insert_storage_snapshot

        if self.api is None:
            state = scenario("disk_filling_fast")
            next(iter(state.satellites.values())).audit = 0.9985
            self.api = await FakeNodeApi(state).start()
            disk = state.disk_space()
            snaps = storage_history(
                NODE_A,
                now=self.now,
                total_bytes=int(disk["allocated"]),
                used_bytes=int(disk["used"]),
                trash_bytes=int(disk["trash"]),
                growth_bytes_per_day=state.growth_bytes_per_second * 86400,
            )

            def seed(conn: Any) -> None:
                for s in snaps:
                    insert_storage_snapshot(conn, s)

            with Store(self.settings().db_path) as store:
                store.write_sync(seed)
        nodes = [
            NodeSpec(NODE_A, str(self.logs[NODE_A]), self.api.url),
            NodeSpec(NODE_B, str(self.logs[NODE_B]), f"http://127.0.0.1:{self.dead_api_port}"),
        ]
        self.monitor = Monitor(self.settings(), nodes)
        await self.monitor.start()

    def start(self) -> BackgroundMonitor:
        self.call(self._start())
        wait_until(lambda: self.get("/api/nodes") is not None)
        return self

    def stop(self, keep_api: bool = True) -> None:
        if self.monitor is not None:
            self.call(self.monitor.stop())
            self.monitor = None
        if not keep_api and self.api is not None:
            self.call(self.api.stop())
            self.api = None

    def close(self) -> None:
        try:
            self.stop(keep_api=False)
            self.call(self.loop.shutdown_default_executor())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def transfers(self, node: str, n: int, action: str = "GET") -> None:
        """Append ``n`` successful transfers that finished just now to a node's log."""
        gen = LogGenerator(seed=99)
        now = time.time()
        lines: list[str] = []
        for _ in range(n):
            lines += gen.transfer(action, "success", at=now - 0.3, latency=0.1)
        with self.logs[node].open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))

    def audit_failure(self, node: str, satellite_id: str) -> None:
        """Append a failed audit (missing piece) that happened just now."""
        line = LogGenerator(seed=98).failure_line(
            "GET_AUDIT", "file does not exist", at=time.time() - 0.3, satellite_id=satellite_id
        )
        with self.logs[node].open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def get(self, path: str, **params: Any) -> Any:
        """GET a REST endpoint -> parsed JSON (None when the server does not answer)."""
        if self.token:
            params = {**params, "token": self.token}
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"{self.base}{path}{'?' + query if query else ''}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def wait_ingested(self) -> None:
        """Until both logs are read (traffic totals stop moving) and the API was polled."""
        seen: list[Any] = []

        def settled() -> bool:
            totals = tuple(
                (self.get("/api/traffic", view=n, hours=1) or {})
                .get("data", {})
                .get("total_operations")
                for n in (NODE_A, NODE_B)
            )
            seen.append(totals)
            storage = (self.get("/api/storage", view=NODE_A) or {}).get("data")
            alerts = (self.get("/api/alerts") or {}).get("data", {}).get("active")
            return bool(len(seen) > 2 and all(totals) and seen[-2] == totals and storage and alerts)

        wait_until(settled, step=0.3)
