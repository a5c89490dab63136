"""A simulated storage node for the demo: a log written live, plus the fake API's disk growth.

:class:`LogSimulator` appends storagenode log lines (from :class:`~.loggen.LogGenerator`) to a
file as time passes: first a backfill of ``backfill_hours`` of history written at once (so the
charts are filled as soon as the monitor has read it), then every ``tick`` seconds the lines
whose log time fell into the last tick (``ops_per_second`` on average). Now and then it adds
a failed audit (``audit_failure_every`` seconds), so the alerts card has something to show.

:func:`storage_history` builds the ~7 days of API storage snapshots a real node would already
have, ending at the fake API's current state, so the forecast works from the first minute.

Time is UTC unix seconds; sizes are bytes. The clock is injectable (tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from pathlib import Path

from storj_monitor.demo.loggen import SATELLITES, LogGenerator
from storj_monitor.model import StorageSnapshot

log = logging.getLogger(__name__)

DAY = 86400.0


class LogSimulator:
    """Writes a realistic, growing storagenode log at ``path``.

    ``docker=True`` writes docker's json-file format (``docker logs`` of the storagenode
    container), whose sub-second receive times give precise transfer durations.

    ``on_tick(seconds)`` is called after every live tick with the seconds that passed (the
    demo uses it to let the fake API's disk fill at the same pace).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        seed: int | None = None,
        ops_per_second: float = 30.0,
        backfill_hours: float = 3.0,
        backfill_ops_per_second: float | None = None,
        audit_failure_every: float = 600.0,
        available_bytes: int | None = None,
        docker: bool = False,
        tick: float = 0.5,
        clock: Callable[[], float] = time.time,
        on_tick: Callable[[float], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.seed = random.randrange(1 << 30) if seed is None else seed
        self.ops_per_second = ops_per_second
        self.backfill_hours = backfill_hours
        self.backfill_ops_per_second = backfill_ops_per_second or ops_per_second
        self.audit_failure_every = audit_failure_every
        self.available_bytes = available_bytes
        self.docker = docker
        self.tick = tick
        self.clock = clock
        self.on_tick = on_tick
        self._rng = random.Random(self.seed)
        self.lines_written = 0
        self.audit_failures = 0
        self._gen: LogGenerator | None = None
        self._last: float | None = None
        self._next_failure: float | None = None
        self._task: asyncio.Task[None] | None = None

    # --- writing -------------------------------------------------------------------------
    def _generator(self, start: float, ops: float) -> LogGenerator:
        gen = LogGenerator(
            seed=self._rng.randrange(1 << 30), start=start, ops_per_second=ops, docker=self.docker
        )
        if self.available_bytes is not None:
            # The "Available Space" of upload lines should agree with the fake API's disk.
            gen.available_space = int(self.available_bytes)
        return gen

    def _append(self, lines: list[str]) -> None:
        if not lines:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        self.lines_written += len(lines)

    def _failures_between(self, gen: LogGenerator, t0: float, t1: float) -> list[tuple[float, str]]:
        """Failed audits (a missing piece) due in [t0, t1)."""
        out: list[tuple[float, str]] = []
        if self.audit_failure_every <= 0:
            return out
        if self._next_failure is None:
            self._next_failure = t0 + self._rng.uniform(0.2, 1.0) * self.audit_failure_every
        while self._next_failure < t1:
            at = self._next_failure
            sat = self._rng.choices([s for s, _ in SATELLITES], [w for _, w in SATELLITES])[0]
            out.append(
                (at, gen.failure_line("GET_AUDIT", "file does not exist", at=at, satellite_id=sat))
            )
            self.audit_failures += 1
            self._next_failure = at + self._rng.expovariate(1.0 / self.audit_failure_every)
        return out

    def _window(self, gen: LogGenerator, t0: float, t1: float) -> list[str]:
        """The lines of [t0, t1), failed audits included, in time order."""
        lines: list[str] = []
        t = t0
        for at, failure in self._failures_between(gen, t0, t1):
            lines.extend(gen.lines_between(t, at))
            lines.append(failure)
            t = at
        lines.extend(gen.lines_between(t, t1))
        return lines

    def backfill(self) -> int:
        """Write ``backfill_hours`` of history ending now; returns the lines written."""
        now = self.clock()
        start = now - self.backfill_hours * 3600.0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        before = self.lines_written
        if self.backfill_hours > 0:
            gen = self._generator(start, self.backfill_ops_per_second)
            step = 600.0
            t = start
            while t < now:
                t1 = min(t + step, now)
                self._append(self._window(gen, t, t1))
                t = t1
            available: int | None = gen.available_space
        else:
            available = self.available_bytes
        self._gen = self._generator(now, self.ops_per_second)
        if available is not None:
            self._gen.available_space = int(available)
        self._last = now
        return self.lines_written - before

    def step(self) -> int:
        """Write the lines of the time since the last step; returns how many."""
        if self._gen is None:
            self.backfill()
        assert self._gen is not None and self._last is not None
        now = self.clock()
        if now <= self._last:
            return 0
        lines = self._window(self._gen, self._last, now)
        elapsed = now - self._last
        self._last = now
        self._append(lines)
        if self.on_tick is not None:
            self.on_tick(elapsed)
        return len(lines)

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is not None:
            return
        if self._gen is None:
            await asyncio.get_running_loop().run_in_executor(None, self.backfill)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="log-simulator")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                self.step()
            except OSError as exc:  # the temp dir went away under us: stop writing
                log.warning("demo log simulator stopped: %s", exc)
                return

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def storage_history(
    node_name: str,
    *,
    now: float,
    total_bytes: int,
    used_bytes: int,
    trash_bytes: int,
    growth_bytes_per_day: float,
    days: float = 7.0,
    every_seconds: float = 1800.0,
    seed: int = 0,
) -> list[StorageSnapshot]:
    """Snapshots of the past ``days`` (oldest first, ending before ``now``) of a disk that grew
    ``growth_bytes_per_day`` on average (with a daily rhythm and noise) to ``used_bytes``.

    ``used_bytes`` counts pieces and trash (the API's ``used`` since v1.143); free space is
    ``total - used``, as the poller stores it.
    """
    rng = random.Random(seed)
    out: list[StorageSnapshot] = []
    n = int(days * DAY // every_seconds)
    for i in range(n, 0, -1):
        ts = now - i * every_seconds
        age_days = (now - ts) / DAY
        # Daily rhythm: more ingress in the (UTC) afternoon; small noise.
        rhythm = 0.15 * growth_bytes_per_day / (2 * math.pi) * math.sin(2 * math.pi * ts / DAY)
        noise = rng.gauss(0, growth_bytes_per_day * 0.004)
        used = int(used_bytes - growth_bytes_per_day * age_days + rhythm + noise)
        trash = int(trash_bytes * (0.8 + 0.4 * rng.random()))
        used = max(min(used, total_bytes), 0)
        free = max(total_bytes - used, 0)
        out.append(
            StorageSnapshot(
                timestamp=ts,
                node_name=node_name,
                total_bytes=total_bytes,
                used_bytes=used,
                available_bytes=free,
                trash_bytes=trash,
                used_percent=round(used * 100.0 / total_bytes, 3),
                trash_percent=round(trash * 100.0 / total_bytes, 3),
                available_percent=round(free * 100.0 / total_bytes, 3),
                source="api",
            )
        )
    return out
