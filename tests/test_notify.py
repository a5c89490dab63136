"""Notifications: severity filter, escalation, resolution, re-notification, and a real
apprise delivery to a webhook on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from storj_monitor.model import AlertCondition
from storj_monitor.notify import Notifier
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.settings import defaults
from storj_monitor.store.database import Store


class Env:
    def __init__(self, tmp_path: Path, **overrides: object) -> None:
        self.settings = defaults().replace(db_path=str(tmp_path / "n.db"), **overrides)
        self.store = Store(self.settings.db_path).open()
        self.bus = Bus()
        self.now = 1000.0
        self.engine = AlertEngine(self.settings, self.store, self.bus, clock=lambda: self.now)
        self.sent: list[tuple[str, str, str]] = []
        self.deliver = True

        async def sender(title: str, body: str, severity: str) -> bool:
            self.sent.append((title, body, severity))
            return self.deliver

        self.notifier = Notifier(
            self.settings, self.store, self.bus, clock=lambda: self.now,
            open_alerts=self.engine.open_alerts, sender=sender,
        )  # fmt: skip


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    e = Env(tmp_path, alert_renotify_seconds=3600)
    await e.engine.start()
    await e.notifier.start()
    yield e
    await e.notifier.stop()
    await e.engine.stop()
    e.store.close()


def cond(severity: str, key: str = "disk_usage") -> AlertCondition:
    return AlertCondition("My-Node", "disk_usage", key, severity, f"{severity} title", "msg")  # type: ignore[arg-type]


async def test_filter_escalate_resolve(env: Env) -> None:
    await env.engine.evaluate("My-Node", "disk_usage", [cond("info")], 1.0)
    await env.notifier.drain()
    assert env.sent == []  # below NOTIFY_MIN_SEVERITY (warning)
    await env.engine.evaluate("My-Node", "disk_usage", [cond("warning")], 2.0)
    await env.engine.evaluate("My-Node", "disk_usage", [cond("warning")], 3.0)
    await env.engine.evaluate("My-Node", "disk_usage", [cond("critical")], 4.0)
    await env.engine.evaluate("My-Node", "disk_usage", [], 5.0)
    await env.notifier.drain()
    assert env.sent == [
        ("WARNING: warning title", "[My-Node] msg", "warning"),
        ("CRITICAL: critical title", "[My-Node] msg", "critical"),
        ("Resolved: critical title",
         "[My-Node] Disk usage is back under its warning threshold. "
         "(cleared 1970-01-01T00:00:05Z; it had said: msg)", "resolved"),
    ]  # fmt: skip


async def test_one_event_one_notification(env: Env) -> None:
    """Two failed audits in a row (the second arrives while the first is still being sent)
    are one alert and one notification; only an escalation is news."""
    gate = asyncio.Event()
    sent: list[str] = []

    async def slow_sender(title: str, body: str, severity: str) -> bool:
        await gate.wait()  # a slow notification service
        sent.append(title)
        return True

    await env.notifier.stop()
    notifier = Notifier(env.settings, env.store, env.bus, clock=lambda: env.now,
                        open_alerts=env.engine.open_alerts, sender=slow_sender)  # fmt: skip
    await notifier.start()
    try:
        c = AlertCondition("My-Node", "audit_failed", "audit_failed:sat", "warning", "Failed Audit", "m")
        await env.engine.fire(c, 1.0, auto_resolve_after=3600)
        await env.engine.fire(c, 1.5, auto_resolve_after=3600)
        worse = AlertCondition("My-Node", "audit_failed", "audit_failed:sat", "critical", "Failed Audit", "m")
        await env.engine.fire(worse, 2.0, auto_resolve_after=3600)
        await env.engine.fire(worse, 2.5, auto_resolve_after=3600)
        gate.set()
        await notifier.drain()
        assert sent == ["WARNING: Failed Audit", "CRITICAL: Failed Audit"]
    finally:
        await notifier.stop()


async def test_a_restart_sends_nothing_again(tmp_path: Path) -> None:
    """An open alert notified before a restart is not news after it: a new occurrence or the
    same condition again sends nothing, no reminder before the interval, and its resolution
    still goes out (in words that say what is true now). Acknowledged alerts get no reminder."""
    first = Env(tmp_path, alert_renotify_seconds=3600)
    await first.engine.start()
    await first.notifier.start()
    await first.engine.evaluate("My-Node", "disk_usage", [cond("critical")], 1.0)
    await first.notifier.drain()
    assert len(first.sent) == 1
    await first.notifier.stop()
    await first.engine.stop()
    first.store.close()

    again = Env(tmp_path, alert_renotify_seconds=3600)
    again.now = 100.0
    await again.engine.start()
    await again.notifier.start()
    try:
        await again.engine.evaluate("My-Node", "disk_usage", [cond("critical")], 100.0)
        await again.notifier.drain()
        assert again.sent == []
        assert await again.notifier.check_renotify(1000.0) == 0  # notified at 1.0, interval 3600
        alert = again.engine.open_alerts()[0]
        assert alert.id is not None
        await again.engine.acknowledge(alert.id, 1100.0)
        assert await again.notifier.check_renotify(10_000.0) == 0  # acknowledged: no reminder
        await again.engine.evaluate("My-Node", "disk_usage", [], 10_001.0)
        await again.notifier.drain()
        assert [(t, sev) for t, _b, sev in again.sent] == [("Resolved: critical title", "resolved")]
        assert again.sent[0][1].startswith("[My-Node] Disk usage is back under")
    finally:
        await again.notifier.stop()
        await again.engine.stop()
        again.store.close()


async def test_renotify_after_interval(env: Env) -> None:
    await env.engine.evaluate("My-Node", "disk_usage", [cond("critical")], 1.0)
    await env.notifier.drain()
    assert len(env.sent) == 1
    env.now += 1800
    assert await env.notifier.check_renotify(env.now) == 0
    env.now += 1800
    assert await env.notifier.check_renotify(env.now) == 1
    await env.notifier.drain()
    assert len(env.sent) == 2


async def test_failed_delivery_is_not_raised(env: Env) -> None:
    env.deliver = False
    await env.engine.evaluate("My-Node", "disk_usage", [cond("critical")], 1.0)
    await env.notifier.drain()
    assert len(env.sent) == 1 and env.notifier.sent == 0


async def test_disabled_without_urls(tmp_path: Path) -> None:
    settings = defaults().replace(db_path=str(tmp_path / "x.db"))
    store = Store(settings.db_path).open()
    try:
        n = Notifier(settings, store, Bus(), clock=lambda: 0.0)
        await n.start()
        assert not n.enabled and n._tasks == []
        await n.stop()
    finally:
        store.close()


async def test_apprise_delivers_to_a_local_webhook(tmp_path: Path) -> None:
    received: list[dict] = []
    got = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        got.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = defaults().replace(
        db_path=str(tmp_path / "h.db"), notify_urls=f"json://127.0.0.1:{port}/hook"
    )
    store = Store(settings.db_path).open()
    bus = Bus()
    engine = AlertEngine(settings, store, bus, clock=lambda: 1.0)
    notifier = Notifier(settings, store, bus, clock=lambda: 1.0, open_alerts=engine.open_alerts)
    try:
        await engine.start()
        await notifier.start()
        await engine.evaluate("My-Node", "disk_usage", [cond("critical")], 1.0)
        await asyncio.wait_for(got.wait(), 20)
        await notifier.drain()
        assert received[0]["title"] == "CRITICAL: critical title"
        assert received[0]["message"] == "[My-Node] msg"
        assert notifier.sent == 1
    finally:
        await notifier.stop()
        await engine.stop()
        store.close()
        await runner.cleanup()
