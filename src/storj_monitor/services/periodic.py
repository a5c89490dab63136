"""One background loop that runs a coroutine every ``interval`` seconds.

Shared by the services that do periodic work (retention, alert housekeeping, latency
evaluation) so each gets the same lifecycle: ``start()`` twice is harmless, ``stop()``
cancels and waits, a failing pass is logged once when it starts failing and once when it
recovers (transitions, not ticks), and ``CancelledError`` is never swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    """Runs ``fn()`` every ``interval`` seconds (first run at once unless ``delay_first``)."""

    def __init__(
        self,
        name: str,
        interval: float,
        fn: Callable[[], Awaitable[object]],
        *,
        delay_first: bool = False,
    ) -> None:
        self.name = name
        self.interval = interval
        self.fn = fn
        self.delay_first = delay_first
        self.runs = 0
        self.failing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> None:
        """One pass; a failure is logged (on transition) and swallowed so the loop goes on."""
        try:
            await self.fn()
        except asyncio.CancelledError:
            raise
        except Exception:
            if not self.failing:
                log.exception("%s failed; retrying every %.0f s", self.name, self.interval)
            self.failing = True
        else:
            if self.failing:
                log.info("%s recovered", self.name)
            self.failing = False
        self.runs += 1

    async def _loop(self) -> None:
        if self.delay_first:
            await asyncio.sleep(self.interval)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval)
