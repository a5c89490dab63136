"""Alert notifications through apprise (email, Telegram, Discord, ntfy, webhooks, ...).

Listens to bus ``alert``: a new alert, or one whose severity went up, is sent when its
severity is at least NOTIFY_MIN_SEVERITY; an alert still open ALERT_RENOTIFY_SECONDS after its
last notification is sent again (checked by a small loop against the engine's open alerts);
a resolution of a notified alert is sent as "resolved". ``last_notified_at`` is stored with
the alert, so a restart does not re-send everything. Sending never blocks the bus and a
failing target is logged (once per failure streak), never raised. NOTIFY_URLS empty: no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from storj_monitor.model import Alert
from storj_monitor.services.bus import Bus
from storj_monitor.store import alerts as q
from storj_monitor.store.database import Store

log = logging.getLogger("storj_monitor.notify")

RANK = {"info": 0, "warning": 1, "critical": 2}
Sender = Callable[[str, str, str], Awaitable[bool]]  # (title, body, severity) -> delivered


def apprise_sender(urls: list[str]) -> Sender:
    """A sender that delivers through apprise to every URL."""
    with warnings.catch_warnings():
        # apprise's plugin loader imports stdlib modules deprecated in 3.11 (imghdr).
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apobj = apprise.Apprise()
        for url in urls:
            if not apobj.add(url):
                log.error(
                    "notification URL not understood by apprise: %s",
                    url.split("://")[0] + "://...",
                )
    types = {
        "info": apprise.NotifyType.INFO,
        "warning": apprise.NotifyType.WARNING,
        "critical": apprise.NotifyType.FAILURE,
        "resolved": apprise.NotifyType.SUCCESS,
    }

    async def send(title: str, body: str, severity: str) -> bool:
        return bool(
            await apobj.async_notify(
                body=body, title=title, notify_type=types.get(severity, apprise.NotifyType.INFO)
            )
        )

    return send


def format_alert(alert: Alert, change: str) -> tuple[str, str, str]:
    """(title, body, severity-or-"resolved") of a notification."""
    if change == "resolved":
        return f"Resolved: {alert.title}", f"[{alert.node_name}] {alert.message}", "resolved"
    prefix = alert.severity.upper()
    return f"{prefix}: {alert.title}", f"[{alert.node_name}] {alert.message}", alert.severity


class Notifier:
    """Service. ``open_alerts`` returns the engine's open alerts (for re-notification)."""

    def __init__(
        self,
        settings: Any,
        store: Store,
        bus: Bus,
        *,
        clock: Callable[[], float],
        open_alerts: Callable[[], list[Alert]] | None = None,
        sender: Sender | None = None,
        check_interval: float = 60.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.clock = clock
        self.open_alerts = open_alerts or list
        self.urls: list[str] = list(settings.notify_urls)
        self.min_rank = RANK.get(str(settings.notify_min_severity), 1)
        self.renotify = float(settings.alert_renotify_seconds)
        self.check_interval = check_interval
        self._sender = sender
        self._queue: asyncio.Queue[tuple[Alert, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._notified: dict[int, float] = {}  # alert id -> last notification time
        self._severity_sent: dict[int, str] = {}
        self._failing = False
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self.urls) or self._sender is not None

    async def start(self) -> None:
        if self._tasks or not self.enabled:
            return
        if self._sender is None:
            self._sender = apprise_sender(self.urls)
        self._unsubscribe = self.bus.subscribe("alert", self._on_alert)
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="notify-send"),
            asyncio.create_task(self._renotify_loop(), name="notify-renotify"),
        ]

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t

    async def drain(self) -> None:
        await self._queue.join()

    def _on_alert(self, alert: Alert, change: str) -> None:
        if alert.id is None:
            return
        if change == "new":
            if RANK.get(alert.severity, 0) >= self.min_rank:
                self._queue.put_nowait((alert, change))
        elif change == "updated":
            before = self._severity_sent.get(alert.id)
            if RANK.get(alert.severity, 0) >= self.min_rank and (
                before is None or RANK[alert.severity] > RANK.get(before, 0)
            ):
                self._queue.put_nowait((alert, change))
        elif change == "resolved" and alert.id in self._severity_sent:
            self._queue.put_nowait((alert, change))

    async def _send_loop(self) -> None:
        while True:
            alert, change = await self._queue.get()
            try:
                await self._send(alert, change)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification failed")
            finally:
                self._queue.task_done()

    async def _send(self, alert: Alert, change: str) -> None:
        assert self._sender is not None and alert.id is not None
        title, body, severity = format_alert(alert, change)
        ok = await self._sender(title, body, severity)
        if not ok:
            if not self._failing:
                log.warning("could not deliver a notification to at least one target")
            self._failing = True
            return
        self._failing = False
        self.sent += 1
        now = self.clock()
        alert_id = alert.id
        if change == "resolved":
            self._severity_sent.pop(alert_id, None)
            self._notified.pop(alert_id, None)
            return
        self._severity_sent[alert_id] = alert.severity
        self._notified[alert_id] = now
        await self.store.write(lambda c: q.mark_notified(c, alert_id, now))

    async def check_renotify(self, now: float) -> int:
        """Queue open alerts not notified for ALERT_RENOTIFY_SECONDS; returns how many."""
        if self.renotify <= 0:
            return 0
        count = 0
        for alert in self.open_alerts():
            if alert.id is None or RANK.get(alert.severity, 0) < self.min_rank:
                continue
            last = self._notified.get(alert.id)
            if last is None:
                last = await self.store.read(functools.partial(q.last_notified, alert_id=alert.id))
                if last is None:
                    continue  # never notified (below threshold then): not a re-notification
                self._notified[alert.id] = last
                self._severity_sent.setdefault(alert.id, alert.severity)
            if now - last >= self.renotify:
                self._notified[alert.id] = now  # do not queue twice while sending
                self._queue.put_nowait((alert, "renotify"))
                count += 1
        return count

    async def _renotify_loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            try:
                await self.check_renotify(self.clock())
            except Exception:
                log.exception("re-notification check failed")
