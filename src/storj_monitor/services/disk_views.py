"""Three views of each node's disk side by side (``analytics.node_health.disk_comparison``):
the node API (used, trash, free, allocation), what the satellites pay for (``paid_storage``)
and the filesystem (``statvfs`` of the node's ``data_dir``, :mod:`storj_monitor.diskfs`).

Refreshed after every poll of the node's API (a coordinator listener: no poller of its own)
and, for nodes without an API, every ``interval`` seconds from the newest storage snapshot (the
log's free space; used/total when the node has a configured ``allocation``). The web layer
reads :meth:`DiskViews.comparison` (no I/O). A data directory that cannot be read is logged
once when it starts failing and once when it recovers. Bytes throughout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from storj_monitor.analytics.node_health import DiskView, disk_comparison
from storj_monitor.analytics.paid_storage import paid_bytes
from storj_monitor.diskfs import filesystem_view
from storj_monitor.model import NodeSpec, iso_utc
from storj_monitor.services.coordinator import NodeCoordinator
from storj_monitor.services.periodic import PeriodicTask
from storj_monitor.store import snapshots as snaps
from storj_monitor.store.database import Store

log = logging.getLogger(__name__)


class DiskViews:
    """Service; ``comparison(node)`` is the latest comparison dict (or None)."""

    def __init__(
        self,
        store: Store,
        nodes: Sequence[NodeSpec],
        coordinators: Mapping[str, NodeCoordinator],
        *,
        clock: Callable[[], float] = time.time,
        interval: float = 60.0,
        statvfs: Callable[[str], DiskView] = filesystem_view,
    ) -> None:
        self.store = store
        self.nodes = {n.name: n for n in nodes}
        self.coordinators = coordinators
        self.clock = clock
        self.statvfs = statvfs
        self._latest: dict[str, dict[str, Any]] = {}
        self._fs_failing: set[str] = set()
        self._unsubscribe: list[Callable[[], None]] = []
        self._periodic = PeriodicTask("disk-views", interval, self._refresh_without_api)

    def comparison(self, node_name: str) -> dict[str, Any] | None:
        return self._latest.get(node_name)

    async def start(self) -> None:
        if self._unsubscribe or self._periodic.running:
            return
        for c in self.coordinators.values():
            self._unsubscribe.append(c.add_listener(self._on_poll, name="disk-views"))
        self._periodic.start()

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self._periodic.stop()

    async def _on_poll(self, c: NodeCoordinator) -> None:
        await self.refresh(c.node_name)

    async def _refresh_without_api(self) -> None:
        for name in self.nodes:
            c = self.coordinators.get(name)
            if c is None or c.data is None or name not in self._latest:
                await self.refresh(name)

    async def _filesystem(self, spec: NodeSpec) -> DiskView | None:
        if not spec.data_dir:
            return None
        path = spec.data_dir
        try:
            view = await asyncio.get_running_loop().run_in_executor(None, self.statvfs, path)
        except OSError as exc:
            if spec.name not in self._fs_failing:
                log.warning("[%s] cannot read the data directory %s: %s", spec.name, path, exc)
                self._fs_failing.add(spec.name)
            return None
        if spec.name in self._fs_failing:
            log.info("[%s] data directory %s readable again", spec.name, path)
            self._fs_failing.discard(spec.name)
        return view

    async def refresh(self, node_name: str) -> dict[str, Any] | None:
        """Recompute one node's comparison now; the result (also kept for ``comparison``)."""
        spec = self.nodes.get(node_name)
        if spec is None:
            return None
        c = self.coordinators.get(node_name)
        node: DiskView | None = None
        paid: float | None = None
        source = None
        if c is not None and c.data is not None:
            d = c.data.summary.disk
            node = DiskView(d.used_bytes, d.trash_bytes, d.free_bytes, d.total_bytes)
            paid = paid_bytes(detail.raw for detail in c.data.details.values())
            source = "api"
        else:
            latest = await self.store.read(
                lambda conn: snaps.latest_storage_snapshot(conn, node_name)
            )
            if latest is not None:
                free = latest["available_bytes"]
                total = latest["total_bytes"] or spec.allocation
                used = latest["used_bytes"]
                if used is None and total is not None and free is not None:
                    used = max(total - free, 0)
                node = DiskView(used, latest["trash_bytes"], free, total)
                source = latest["source"]
        fs = await self._filesystem(spec)
        if node is None and fs is None:
            return None
        out = disk_comparison(node, paid, fs)
        out["node_source"] = source
        out["data_dir"] = spec.data_dir
        out["measured_at"] = iso_utc(self.clock())
        self._latest[node_name] = out
        return out
