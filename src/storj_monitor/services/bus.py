"""In-process publish/subscribe between services, on the event loop thread.

Topics and their payloads (all positional arguments to the callback):

- ``events``  (node_name: str, events: list[Event]) — piece operations just parsed
- ``records`` (node_name: str, records: list[LogRecord]) — typed non-piece lines
- ``alert``   (alert: Alert, change: str) — change is new | updated | resolved | acknowledged
- ``poll``    (node_name: str, result: PollResult) — a node API poll finished and was recorded
  (published by services.pollers.NodeApiRecorder, a listener of the node's coordinator)
- ``storage_sample`` (node_name: str, timestamp: float, available_bytes: int) — free space
  from the newest ``upload started`` line of a parsed chunk (services.log_watch samples it)

Callbacks must be cheap and must not block; a callback that raises is logged and skipped,
never allowed to break the publisher.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Callback = Callable[..., Any]


class Bus:
    def __init__(self) -> None:
        self._subs: dict[str, list[Callback]] = defaultdict(list)

    def subscribe(self, topic: str, callback: Callback) -> Callable[[], None]:
        """Register ``callback`` for ``topic``; returns a function that unsubscribes it."""
        self._subs[topic].append(callback)

        def unsubscribe() -> None:
            if callback in self._subs[topic]:
                self._subs[topic].remove(callback)

        return unsubscribe

    def publish(self, topic: str, *args: Any) -> None:
        for callback in list(self._subs.get(topic, ())):
            try:
                callback(*args)
            except Exception:
                log.exception("subscriber of %r failed", topic)
