"""Alert notifications through apprise (email, Telegram, Discord, ntfy, webhooks, ...).

Listens to bus ``alert``: a new alert, or one whose severity went up, is sent when its
severity is at least NOTIFY_MIN_SEVERITY; an alert still open ALERT_RENOTIFY_SECONDS after its
last notification is sent again (checked by a small loop against the engine's open alerts);
a resolution of a notified alert is sent as "resolved". ``last_notified_at`` is stored with
the alert, so a restart does not re-send everything. Sending never blocks the bus and a
failing target is logged (once per failure streak), never raised. No URL anywhere: no-op.

Routes: NOTIFY_URLS with NOTIFY_MIN_SEVERITY is one route; each ``[[notify]]`` table of the
config file (``config_tables.NotifyRoute``) is another, with its own minimum severity and
quiet hours. In a route's quiet hours only critical notifications go out; the rest wait and
go out when the quiet hours end, if their alert is still open (a resolution of something the
route never heard of is not sent). ``storj_monitor notify-test`` (``send_test``) sends one
message to every URL and says per URL whether it was delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from storj_monitor.config_tables import NotifyRoute, in_quiet_hours
from storj_monitor.model import SEVERITY_RANK, Alert, iso_utc
from storj_monitor.services.bus import Bus
from storj_monitor.settings import Settings
from storj_monitor.store import alerts as q
from storj_monitor.store.database import Store

log = logging.getLogger("storj_monitor.notify")

RANK = SEVERITY_RANK
Sender = Callable[[str, str, str], Awaitable[bool]]  # (title, body, severity) -> delivered


@contextlib.contextmanager
def _apprise_loading() -> Iterator[Any]:
    """The apprise module, with its plugin loader's DeprecationWarnings (imghdr, on 3.11)
    silenced: they come at import and again when URLs are added."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        yield apprise


def local_minute(now: float) -> int:
    """Minute of the day (0..1439) in the monitor host's local time."""
    t = time.localtime(now)
    return t.tm_hour * 60 + t.tm_min


async def send_test(urls: Sequence[str]) -> list[tuple[str, bool, str]]:
    """One test message to each URL on its own: (url with secrets cut, delivered, why not)."""
    out = []
    for url in urls:
        shown = url.split("://")[0] + "://..." if "://" in url else url
        with _apprise_loading() as apprise:
            apobj = apprise.Apprise()
            understood = apobj.add(url)
        if not understood:
            out.append((shown, False, "URL not understood by apprise"))
            continue
        ok = await apobj.async_notify(
            title="storj_monitor: test notification",
            body="This is a test from storj_monitor notify-test. Alerts will arrive like this.",
            notify_type=apprise.NotifyType.INFO,
        )
        out.append((shown, bool(ok), "" if ok else "the service did not accept it"))
    return out


def apprise_sender(urls: Sequence[str]) -> Sender:
    """A sender that delivers through apprise to every URL."""
    with _apprise_loading() as apprise:
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


#: What is true once an alert of a kind resolves (the firing text would say the opposite).
RESOLVED_TEXT = {
    "disk_usage": "Disk usage is back under its warning threshold.",
    "disk_forecast": "The disk is no longer forecast to fill within the warning window.",
    "audit_score": "The audit score is back above its warning threshold.",
    "suspension_score": "The suspension score is back above its warning threshold.",
    "online_score": "The online score is back above its warning threshold.",
    "disqualified": "The satellite no longer reports the node as disqualified.",
    "suspended": "The satellite no longer reports the node as suspended.",
    "node_offline": "The node API answers again.",
    "latency": "The p99 latency is back under its warning threshold.",
    "latency_spike": "Latency is back to its usual level.",
    "audit_failed": "No further failed audit since the last one.",
    "ping_failed": "No further failed satellite ping since the last one.",
}


def format_alert(alert: Alert, change: str) -> tuple[str, str, str]:
    """(title, body, severity-or-"resolved") of a notification. A resolution says what is
    true now, and what had fired only as context."""
    if change == "resolved":
        now_true = RESOLVED_TEXT.get(alert.kind, "The condition has cleared.")
        when = iso_utc(alert.resolved_at) if alert.resolved_at is not None else "now"
        body = f"[{alert.node_name}] {now_true} (cleared {when}; it had said: {alert.message})"
        return f"Resolved: {alert.title}", body, "resolved"
    prefix = alert.severity.upper()
    return f"{prefix}: {alert.title}", f"[{alert.node_name}] {alert.message}", alert.severity


class Notifier:
    """Service. ``open_alerts`` returns the engine's open alerts (for re-notification).

    ``sender`` replaces the apprise sender of the NOTIFY_URLS route (tests);
    ``route_senders`` replaces every route's, in order (the NOTIFY_URLS route first, if any).
    ``minute_of_day`` gives the local minute for quiet hours (injected in tests).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        *,
        clock: Callable[[], float],
        open_alerts: Callable[[], list[Alert]] | None = None,
        sender: Sender | None = None,
        route_senders: Sequence[Sender] | None = None,
        minute_of_day: Callable[[float], int] = local_minute,
        check_interval: float = 60.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.clock = clock
        self.open_alerts = open_alerts or list
        self.urls: list[str] = list(settings.notify_urls)
        self.routes: list[NotifyRoute] = []
        if self.urls or sender is not None:
            self.routes.append(NotifyRoute(tuple(self.urls), str(settings.notify_min_severity)))
        tables = getattr(settings, "tables", None)
        self.routes += list(tables.routes) if tables is not None else []
        self._senders: list[Sender | None] = [None] * len(self.routes)
        if sender is not None:
            self._senders[0] = sender
        if route_senders is not None:
            if len(route_senders) != len(self.routes):
                raise ValueError("route_senders must give one sender per route")
            self._senders = list(route_senders)
        self.min_rank = min((RANK.get(r.min_severity, 1) for r in self.routes), default=1)
        self.renotify = float(settings.alert_renotify_seconds)
        self.check_interval = check_interval
        self._minute_of_day = minute_of_day
        self._queue: asyncio.Queue[tuple[Alert, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._notified: dict[int, float] = {}  # alert id -> last notification time
        self._severity_sent: dict[int, str] = {}
        self._queued: dict[int, str] = {}  # alert id -> severity queued, not yet sent
        self._routes_sent: dict[int, set[int]] = {}  # alert id -> routes that got it firing
        self._deferred: list[dict[int, tuple[Alert, str]]] = [{} for _ in self.routes]
        self._failing = False
        self.sent = 0

    @property
    def enabled(self) -> bool:
        return bool(self.routes)

    async def start(self) -> None:
        if self._tasks or not self.enabled:
            return
        await self._remember_notified()
        self._senders = [s or apprise_sender(r.urls) for s, r in zip(self._senders, self.routes, strict=True)]
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

    async def _remember_notified(self) -> None:
        """After a restart: open alerts notified before are not news (no second "new", no
        re-notification before ALERT_RENOTIFY_SECONDS, and their resolution is still sent)."""
        for alert_id, severity, at in await self.store.read(q.notified_open_alerts):
            self._severity_sent[alert_id] = severity
            self._notified[alert_id] = at
            self._routes_sent[alert_id] = {
                i for i, r in enumerate(self.routes)
                if RANK.get(severity, 0) >= RANK.get(r.min_severity, 1)
            }  # fmt: skip

    async def drain(self) -> None:
        await self._queue.join()

    def _on_alert(self, alert: Alert, change: str) -> None:
        """Queue what is news. A repeat of an alert already queued or sent at the same or a
        higher severity is not (a second failed audit right after the first used to be
        queued before the first was sent, and went out twice)."""
        if alert.id is None:
            return
        rank = RANK.get(alert.severity, 0)
        if change in ("new", "updated"):
            known = max(RANK.get(self._severity_sent.get(alert.id, ""), -1),
                        RANK.get(self._queued.get(alert.id, ""), -1))  # fmt: skip
            if rank >= self.min_rank and rank > known:
                self._queued[alert.id] = alert.severity
                self._queue.put_nowait((alert, change))
        elif change == "resolved" and (alert.id in self._severity_sent or alert.id in self._queued):
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
                # Delivered or not, this severity is no longer waiting; a later one is.
                waiting = self._queued.get(alert.id) if alert.id is not None else None
                if change != "resolved" and alert.id is not None and waiting == alert.severity:
                    del self._queued[alert.id]
                self._queue.task_done()

    def _wants(self, index: int, alert: Alert, change: str) -> bool:
        """Whether route ``index`` should hear of this change at all."""
        assert alert.id is not None
        if change == "resolved":
            return index in self._routes_sent.get(alert.id, set())
        return RANK.get(alert.severity, 0) >= RANK.get(self.routes[index].min_severity, 1)

    async def _send(self, alert: Alert, change: str) -> None:
        assert alert.id is not None
        now = self.clock()
        minute = self._minute_of_day(now)
        delivered = False
        for index, route in enumerate(self.routes):
            if not self._wants(index, alert, change):
                continue
            if alert.severity != "critical" and in_quiet_hours(minute, route.quiet_hours):
                self._deferred[index][alert.id] = (alert, change)
                continue
            delivered |= await self._deliver(index, alert, change)
        if delivered:
            await self._delivered(alert, change, now)

    async def _deliver(self, index: int, alert: Alert, change: str) -> bool:
        sender = self._senders[index]
        assert sender is not None and alert.id is not None
        title, body, severity = format_alert(alert, change)
        ok = await sender(title, body, severity)
        if not ok:
            if not self._failing:
                log.warning("could not deliver a notification to at least one target")
            self._failing = True
            return False
        self._failing = False
        self.sent += 1
        if change == "resolved":
            self._routes_sent.get(alert.id, set()).discard(index)
        else:
            self._routes_sent.setdefault(alert.id, set()).add(index)
        return True

    async def _delivered(self, alert: Alert, change: str, now: float) -> None:
        alert_id = alert.id
        assert alert_id is not None
        if change == "resolved":
            if not self._routes_sent.get(alert_id):
                self._routes_sent.pop(alert_id, None)
                self._severity_sent.pop(alert_id, None)
                self._notified.pop(alert_id, None)
            return
        self._severity_sent[alert_id] = alert.severity
        self._notified[alert_id] = now
        await self.store.write(lambda c: q.mark_notified(c, alert_id, now))

    async def flush_deferred(self, now: float) -> int:
        """Send what waited for a route's quiet hours to end; returns how many were sent."""
        minute = self._minute_of_day(now)
        open_ids = {a.id for a in self.open_alerts()}
        sent = 0
        for index, route in enumerate(self.routes):
            waiting = self._deferred[index]
            if not waiting or in_quiet_hours(minute, route.quiet_hours):
                continue
            self._deferred[index] = {}
            for alert_id, (alert, change) in waiting.items():
                if change != "resolved" and alert_id not in open_ids:
                    continue  # resolved while the route was quiet: nothing to say any more
                if change == "resolved" and index not in self._routes_sent.get(alert_id, set()):
                    continue  # the route never heard it fire
                if await self._deliver(index, alert, change):
                    sent += 1
                    await self._delivered(alert, change, now)
        return sent

    async def check_renotify(self, now: float) -> int:
        """Queue open alerts not notified for ALERT_RENOTIFY_SECONDS; returns how many."""
        if self.renotify <= 0:
            return 0
        count = 0
        for alert in self.open_alerts():
            if alert.id is None or RANK.get(alert.severity, 0) < self.min_rank:
                continue
            if alert.acknowledged_at is not None:
                continue  # the operator has seen it: no reminders
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
                now = self.clock()
                await self.flush_deferred(now)
                await self.check_renotify(now)
            except Exception:
                log.exception("re-notification check failed")
