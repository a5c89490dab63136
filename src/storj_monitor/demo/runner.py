"""``storj_monitor --demo``: the whole monitor on a simulated node, in a temporary directory.

What runs, all in this process:

* the fake storagenode API (:mod:`.fake_node_api`) on a free 127.0.0.1 port, in the
  ``disk_filling_fast`` scenario (its disk grows in real time), one satellite's audit score a
  little below perfect;
* about 7 days of storage snapshots written into the demo database first (what a node that
  had been monitored for a week would have), so the forecast is there at once;
* :class:`.simulator.LogSimulator` writing ``node.log``: a few hours of history at once, then
  ~30 operations/s live, with the occasional failed audit;
* the :class:`~storj_monitor.services.monitor.Monitor` on the node
  ``Demo-Node:<log>:<fake API url>``, serving the dashboard on ``--host``/``--port``.

Ctrl-C stops everything and removes the temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storj_monitor.demo.fake_node_api import FakeNodeApi, scenario
from storj_monitor.demo.simulator import LogSimulator, storage_history
from storj_monitor.model import NodeSpec
from storj_monitor.settings import Settings

if TYPE_CHECKING:
    from storj_monitor.services.coordinator import NodeCoordinator
    from storj_monitor.services.monitor import Monitor

log = logging.getLogger(__name__)

NODE_NAME = "Demo-Node"
SCENARIO = "disk_filling_fast"
#: Settings the demo changes unless the user set them: poll the fake API often, so the cards
#: move; take at most one log-derived storage sample (the API is the source of truth here).
DEMO_DEFAULTS: dict[str, Any] = {
    "node_api_poll_interval": 20.0,
    "storage_log_sample_interval": 1e9,
}


def demo_settings(settings: Settings, tmp: Path) -> Settings:
    """The user's settings with the demo database in ``tmp`` and the demo defaults applied
    where the user kept the program default."""
    overrides: dict[str, Any] = {"db_path": str(tmp / "demo.db")}
    for key, value in DEMO_DEFAULTS.items():
        if settings.origin(key) == "default":
            overrides[key] = value
    return settings.replace(**overrides)


def seed_storage_history(db_path: str, api: FakeNodeApi, now: float) -> int:
    """Write ~7 days of snapshots that end at the fake API's current disk state."""
    from storj_monitor.store.database import Store
    from storj_monitor.store.snapshots import insert_storage_snapshot

    disk = api.state.disk_space()
    snaps = storage_history(
        NODE_NAME,
        now=now,
        total_bytes=int(disk["allocated"]),
        used_bytes=int(disk["used"]),
        trash_bytes=int(disk["trash"]),
        growth_bytes_per_day=api.state.growth_bytes_per_second * 86400.0,
    )
    with Store(db_path) as store:

        def write(conn: Any) -> None:
            for s in snaps:
                insert_storage_snapshot(conn, s)

        store.write_sync(write)
    return len(snaps)


class Demo:
    """The running demo: fake API, log simulator and monitor. ``url`` once started."""

    def __init__(self, settings: Settings, tmp: Path, *, ops_per_second: float = 20.0,
                 backfill_hours: float = 2.0) -> None:  # fmt: skip
        self.tmp = tmp
        self.settings = demo_settings(settings, tmp)
        self.ops_per_second = ops_per_second
        self.backfill_hours = backfill_hours
        self.api: FakeNodeApi | None = None
        self.simulator: LogSimulator | None = None
        self.monitor: Monitor | None = None

    @property
    def url(self) -> str:
        host = self.settings.host
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        if ":" in shown:
            shown = f"[{shown}]"
        web = self.monitor.web if self.monitor is not None else None
        port = (web.port if web is not None else None) or self.settings.port
        token = f"/?token={self.settings.auth_token}" if self.settings.auth_token else "/"
        return f"http://{shown}:{port}{token}"

    async def start(self) -> None:
        from storj_monitor.services.monitor import Monitor

        state = scenario(SCENARIO)
        sat = next(iter(state.satellites.values()))
        sat.audit = 0.9985  # one satellite a little below perfect: "N failed audits left"
        self.api = await FakeNodeApi(state).start()
        now = time.time()
        await asyncio.get_running_loop().run_in_executor(
            None, seed_storage_history, self.settings.db_path, self.api, now
        )
        disk = state.disk_space()
        self.simulator = LogSimulator(
            self.tmp / "node.log",
            ops_per_second=self.ops_per_second,
            backfill_hours=self.backfill_hours,
            available_bytes=int(disk["available"]),
            docker=True,  # sub-second stamps: precise latencies, as a docker node gives
            on_tick=state.advance,
        )
        self.simulator.path.touch()
        # The temp dir stands in for the node's data directory: the disk comparison shows
        # what the filesystem under it says next to the (fake) node API.
        node = NodeSpec(NODE_NAME, str(self.simulator.path), self.api.url, data_dir=str(self.tmp))
        self.monitor = Monitor(self.settings, [node])
        await self.monitor.start()
        # Write the history only once the API has answered: the node API, not the log's
        # "Available Space", is then the source of the storage data from the first line on.
        await self._wait_for_api(10.0)
        await self.simulator.start()

    async def _wait_for_api(self, timeout: float) -> None:
        runtime = self.monitor.runtime if self.monitor is not None else None
        coordinator = runtime.coordinators.get(NODE_NAME) if runtime is not None else None
        if coordinator is None or coordinator.live:
            return
        answered = asyncio.Event()

        async def on_update(c: NodeCoordinator) -> None:
            if c.live:
                answered.set()

        remove = coordinator.add_listener(on_update, name="demo")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), timeout)
        finally:
            remove()

    async def stop(self) -> None:
        if self.simulator is not None:
            await self.simulator.stop()
        if self.monitor is not None:
            await self.monitor.stop()
        if self.api is not None:
            await self.api.stop()


async def _run(settings: Settings, tmp: Path) -> int:
    # The fake API's request log would drown the monitor's own messages.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    demo = Demo(settings, tmp)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(
        "storj_monitor demo: preparing a simulated node (a week of storage history, "
        f"{demo.backfill_hours:g} hours of log)...",
        flush=True,
    )
    try:
        await demo.start()
        print(
            f"\nstorj_monitor demo: a simulated node in {tmp}\n"
            f"  log      {demo.simulator.path if demo.simulator else '?'}\n"
            f"  node API {demo.api.url if demo.api else '?'}  (scenario: disk filling fast)\n\n"
            f"  Dashboard: {demo.url}\n\n"
            "Press Ctrl-C to stop (the temporary directory is removed).\n",
            flush=True,
        )
        await stop.wait()
    except OSError as exc:
        print(f"storj_monitor: error: demo could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        await demo.stop()
    return 0


def run_demo(settings: Settings) -> int:
    """Run the demo until Ctrl-C; returns the process exit status."""
    tmp = Path(tempfile.mkdtemp(prefix="storj_monitor_demo_"))
    try:
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(_run(settings, tmp))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        print("storj_monitor demo stopped; temporary files removed.")
