"""One coordinator per node API: it fetches, keeps the last good replies, and calls listeners.

Shaped like Home Assistant's ``DataUpdateCoordinator``: the coordinator only *fetches*
(``/api/sno/``, ``/api/sno/satellites``, each ``/api/sno/satellite/{id}``,
``/api/sno/estimated-payout``) every NODE_API_POLL_INTERVAL seconds (± 10 % jitter per node,
the next poll scheduled when the current one ends). It owns

- ``data``: the last good replies (:class:`NodeApiData`), kept while the API fails;
- ``state`` (:class:`ApiState`), ``last_update_success``, ``last_exception``, ``failure``
  (what the API answered, in words), ``failing_since``, ``last_success`` (UTC unix s);
- ``endpoint_failures``: API path -> failure of each endpoint that failed in the last poll
  (an optional part failing leaves it out of ``data`` and says why here);

and after every poll, good or bad, awaits its listeners in the order they were added
(``add_listener(cb) -> unsubscribe``). Writing snapshots, alerts, metrics and the web
broadcast are listeners (:mod:`storj_monitor.services.node_api_recorder` and the web layer).

Every failure — of the API or of a listener — becomes state in one place and is logged on
transitions only (unreachable once, recovered once); per-poll chatter is DEBUG. Nothing here
can stop the process or another node's coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storj_monitor.nodeapi import (
    NodeApiBadStatus,
    NodeApiClient,
    NodeApiError,
    NodeApiMalformed,
    NodeApiNotJson,
    NodeApiTimeout,
    NodeSummary,
    SatelliteDetail,
)
from storj_monitor.settings import Settings

log = logging.getLogger("storj_monitor.pollers")

__all__ = ["ApiState", "NodeApiData", "NodeCoordinator", "api_state", "describe_failure"]


class ApiState(StrEnum):
    """Whether a node's API covers it. The values are the strings the page and logs use."""

    NONE = "none"  # no API URL for this node (remote log source without one)
    UNKNOWN = "unknown"  # the first poll has not finished
    LIVE = "live"  # the last poll succeeded
    DOWN = "down"  # the last poll failed (``failure`` says how)


@dataclass(frozen=True, slots=True)
class NodeApiData:
    """The replies of one good poll; ``fetched_at`` in UTC unix seconds."""

    fetched_at: float
    summary: NodeSummary
    overview: SatelliteDetail | None = None
    details: dict[str, SatelliteDetail] = field(default_factory=dict)
    payout: dict[str, Any] | None = None


def describe_failure(exc: BaseException) -> tuple[str, bool]:
    """(what the API did, in words; whether it answered at all) — the one mapping of errors.

    ``("answered HTTP 500: ...", True)``, ``("answered HTML, not JSON ...", True)``,
    ``("did not answer (no answer within 10 s)", False)``.
    """
    if isinstance(exc, NodeApiBadStatus):
        return f"answered {exc.reason}", True
    if isinstance(exc, NodeApiNotJson):
        return exc.reason, True
    if isinstance(exc, NodeApiMalformed):
        return f"answered something unusable ({exc.reason})", True
    if isinstance(exc, NodeApiTimeout):
        return f"did not answer ({exc.reason})", False
    if isinstance(exc, NodeApiError):
        return f"did not answer ({exc.reason})", False
    return f"failed unexpectedly ({exc.__class__.__name__}: {exc})", False


Listener = Callable[["NodeCoordinator"], Awaitable[None]]


def api_state(coordinators: Mapping[str, NodeCoordinator], node_name: str) -> ApiState:
    """Whether the node API covers a node now — the one place that says so (``none`` for a
    node without an API, else its coordinator's state)."""
    c = coordinators.get(node_name)
    return ApiState.NONE if c is None else c.state


class NodeCoordinator:
    """Fetches one node's API; listeners read ``data`` and the state after every poll.

    ``clock`` returns UTC unix seconds; ``explicit`` is False for an auto-discovered
    ``localhost:14002`` (one that never answered is "no API", not "offline").
    """

    def __init__(
        self,
        settings: Settings,
        node_name: str,
        api_url: str,
        *,
        clock: Callable[[], float],
        explicit: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        self.node_name = node_name
        self.api_url = api_url
        self.clock = clock
        self.explicit = explicit
        self.interval = float(settings.node_api_poll_interval)
        self.rng = rng or random.Random()
        self.client = NodeApiClient(
            api_url,
            timeout=float(settings.node_api_timeout),
            retries=int(settings.node_api_retries),
            backoff=min(0.5, self.interval / 10),
            rng=self.rng,
            max_reply_bytes=int(settings.node_api_max_reply_bytes),
        )
        self.data: NodeApiData | None = None
        self.state = ApiState.UNKNOWN
        self.last_update_success: bool | None = None
        self.last_exception: BaseException | None = None
        self.failure: str | None = None  # what the API answered, while it fails
        self.answered = False  # the failing API answered something (not a dead socket)
        self.failing_since: float | None = None
        self.last_success: float | None = None
        self.ever_connected = False
        self.polls = 0
        #: API path -> what it answered, for every endpoint that failed in the last poll (a
        #: down ``/api/sno/`` means the others were not asked). ``data`` only holds the parts
        #: that answered; this says which parts are missing and why (for /metrics).
        self.endpoint_failures: dict[str, str] = {}
        #: Listener name -> what it failed with, while it fails (for /metrics).
        self.listener_failures: dict[str, str] = {}
        self._listeners: list[tuple[str, Listener]] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def live(self) -> bool:
        return self.state is ApiState.LIVE

    # --- listeners -----------------------------------------------------------------------
    def add_listener(self, callback: Listener, name: str | None = None) -> Callable[[], None]:
        """Await ``callback(self)`` after every poll; returns the unsubscribe function."""
        label = name or str(getattr(callback, "__qualname__", None) or repr(callback))
        entry = (label, callback)
        self._listeners.append(entry)

        def remove() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return remove

    async def _notify(self) -> None:
        for name, callback in list(self._listeners):
            try:
                await callback(self)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if name not in self.listener_failures:
                    log.exception("[%s] node API listener %s failed", self.node_name, name)
                else:
                    log.debug("[%s] listener %s still failing: %r", self.node_name, name, exc)
                self.listener_failures[name] = f"{exc.__class__.__name__}: {exc}"
            else:
                if self.listener_failures.pop(name, None) is not None:
                    log.info("[%s] node API listener %s recovered", self.node_name, name)

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"poller-{self.node_name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.close()

    async def _run(self) -> None:
        while True:
            await self.refresh()  # never raises but CancelledError
            await asyncio.sleep(self.interval * (0.9 + 0.2 * self.rng.random()))

    # --- one poll ------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Fetch once, record success or failure, then call every listener."""
        now = self.clock()
        self.polls += 1
        try:
            data = await self._fetch(now)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NodeApiError, or a bug in parsing: state either way
            self._failed(exc, now)
            self.endpoint_failures = {"/api/sno/": self.failure or ""}
        else:
            self._succeeded(data, now)
        await self._notify()

    async def _fetch(self, now: float) -> NodeApiData:
        summary = await self.client.dashboard()
        ids = [s.id for s in summary.satellites]
        results = await asyncio.gather(
            self.client.satellites(),
            self.client.estimated_payout(),
            *(self.client.satellite(sid) for sid in ids),
            return_exceptions=True,
        )
        paths = [
            "/api/sno/satellites",
            "/api/sno/estimated-payout",
            *(f"/api/sno/satellite/{sid}" for sid in ids),
        ]
        failures: dict[str, str] = {}
        for path, r in zip(paths, results, strict=True):  # optional parts fail on their own
            if isinstance(r, BaseException) and not isinstance(r, Exception):
                raise r  # cancellation and friends
            if isinstance(r, NodeApiError):
                log.debug("[%s] optional API call failed: %s", self.node_name, r)
            elif isinstance(r, Exception):
                log.debug("[%s] optional API call failed unexpectedly: %r", self.node_name, r)
            if isinstance(r, Exception):
                failures[path] = describe_failure(r)[0]
        self.endpoint_failures = failures
        return NodeApiData(
            fetched_at=now,
            summary=summary,
            overview=results[0] if isinstance(results[0], SatelliteDetail) else None,
            payout=results[1] if isinstance(results[1], dict) else None,
            details={
                sid: r
                for sid, r in zip(ids, results[2:], strict=True)
                if isinstance(r, SatelliteDetail)
            },
        )

    def _succeeded(self, data: NodeApiData, now: float) -> None:
        summary = data.summary
        if not self.ever_connected:
            log.info(
                "[%s] API client connected to %s (Node ID: %s, Wallet: %s, Version: %s)",
                self.node_name,
                self.api_url,
                summary.node_id,
                summary.wallet,
                summary.version,
            )
        elif self.state is ApiState.DOWN:
            log.info("[%s] node API at %s recovered", self.node_name, self.api_url)
        self.data = data
        self.state = ApiState.LIVE
        self.last_update_success = True
        self.last_exception = None
        self.failure = None
        self.answered = False
        self.failing_since = None
        self.last_success = now
        self.ever_connected = True

    def _failed(self, exc: BaseException, now: float) -> None:
        """Every failure becomes state here; logged when the API starts failing only."""
        failure, answered = describe_failure(exc)
        first = self.state is not ApiState.DOWN
        self.state = ApiState.DOWN
        self.last_update_success = False
        self.last_exception = exc
        self.failure = failure
        self.answered = answered
        if self.failing_since is None:
            self.failing_since = now
        if not first:
            log.debug("[%s] node API still failing: %s", self.node_name, failure)
        elif not isinstance(exc, NodeApiError):
            log.error(
                "[%s] node API poll %s", self.node_name, failure, exc_info=exc
            )  # a bug: the traceback once
        elif not self.ever_connected:
            log.warning(
                "[%s] node API not reachable at %s (%s): enhanced features (storage capacity, "
                "reputation, payout) are off for this node until it answers; monitoring "
                "continues from its logs",
                self.node_name,
                self.api_url,
                exc.reason,
            )
        else:
            log.warning("[%s] node API unreachable: %s", self.node_name, exc)
