"""PeriodicTask: idempotent lifecycle, failures logged on transitions only, loop survives."""

from __future__ import annotations

import asyncio
import logging

import pytest

from storj_monitor.services.periodic import PeriodicTask


async def test_runs_repeatedly_survives_failures_and_logs_transitions_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes = iter([None, "fail", "fail", "fail", None, None])
    done = asyncio.Event()
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        outcome = next(outcomes, None)
        if calls >= 6:
            done.set()
        if outcome == "fail":
            raise RuntimeError("boom")

    task = PeriodicTask("demo pass", 0.001, work)
    caplog.set_level(logging.INFO, logger="storj_monitor.services.periodic")
    task.start()
    task.start()  # idempotent: still one loop
    await asyncio.wait_for(done.wait(), 5)
    await task.stop()
    await task.stop()
    assert calls >= 6 and task.runs == calls
    assert not task.failing
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert len(failed) == 1 and len(recovered) == 1


async def test_delay_first_waits_one_interval_and_stop_cancels() -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1

    task = PeriodicTask("slow", 3600, work, delay_first=True)
    task.start()
    await asyncio.sleep(0.01)
    await task.stop()
    assert calls == 0 and not task.running


async def test_cancellation_is_not_swallowed() -> None:
    started = asyncio.Event()

    async def work() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = PeriodicTask("long", 1, work)
    task.start()
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.wait_for(task.stop(), 5)
    assert not task.running and task.runs == 0
