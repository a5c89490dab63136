"""Fan-out of messages to WebSocket clients, where a slow client can never delay the others.

Every client has a bounded queue and its own writer task. Producers (live stats, alert
broadcasts, request handlers) only ``put_nowait``; a client whose queue is full has stopped
reading (or reads too slowly) and is dropped: its writer is cancelled and its socket closed in
the background with a bounded wait. Messages are encoded once per broadcast (orjson), not once
per client.

The hub knows nothing of aiohttp: a client is two callables, ``send(text)`` and ``close()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

log = logging.getLogger(__name__)

SendFn = Callable[[str], Awaitable[None]]
CloseFn = Callable[[], Awaitable[None]]
CLOSE_TIMEOUT = 2.0


def _default(obj: Any) -> Any:
    """JSON for what orjson does not know: numpy scalars, sets, tuples as keys' values."""
    item = getattr(obj, "item", None)
    if callable(item):
        return item()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def dumps(message: Any) -> bytes:
    """JSON bytes of a payload (numpy arrays and scalars included)."""
    return orjson.dumps(
        message,
        default=_default,
        option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY,
    )


def encode(message: dict[str, Any] | str) -> str:
    """JSON text of a message (strings pass through: already encoded)."""
    if isinstance(message, str):
        return message
    return dumps(message).decode()


class Client:
    """One connected WebSocket client: its view, its queue and its writer task.

    ``view`` is the list of node names its live push covers; ``view_label`` what the client
    asked for (e.g. ``["Aggregate"]``), echoed in ``stats_update``.
    """

    def __init__(self, cid: int, send: SendFn, close: CloseFn, queue_size: int) -> None:
        self.id = cid
        self.view: list[str] = []
        self.view_label: list[str] = []
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=queue_size)
        self.sent = 0
        self.dropped = False
        self.closed = False
        self._send = send
        self._close = close
        self.writer: asyncio.Task[None] | None = None

    @property
    def view_key(self) -> tuple[str, ...]:
        return (*self.view_label, "|", *self.view)

    async def _write_loop(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                return
            try:
                await self._send(text)
            except (ConnectionError, RuntimeError, OSError) as exc:
                self.closed = True  # the socket went away; the reader side cleans up
                log.debug("WebSocket client %d went away while sending: %r", self.id, exc)
                return
            self.sent += 1


class Hub:
    """Registered clients and the fan-out to them. ``queue_size`` messages per client at most."""

    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self.clients: dict[int, Client] = {}
        self.dropped_clients = 0
        self.messages_sent = 0  # messages queued, all clients together
        self._ids = itertools.count(1)
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, send: SendFn, close: CloseFn) -> Client:
        """Register a client and start its writer task."""
        client = Client(next(self._ids), send, close, self.queue_size)
        client.writer = asyncio.get_running_loop().create_task(
            client._write_loop(), name=f"ws-writer-{client.id}"
        )
        self.clients[client.id] = client
        return client

    async def remove(self, client: Client) -> None:
        """Unregister a client whose connection ended; its writer sends what is queued first."""
        self.clients.pop(client.id, None)
        writer = client.writer
        if writer is None or writer.done():
            return
        try:
            client.queue.put_nowait(None)
        except asyncio.QueueFull:
            writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_TIMEOUT)
        if not writer.done():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def send(self, client: Client, message: dict[str, Any] | str) -> bool:
        """Queue one message for one client; False (and the client dropped) if its queue is full."""
        if client.dropped or client.closed:
            return False
        try:
            client.queue.put_nowait(encode(message))
        except asyncio.QueueFull:
            self._drop(client)
            return False
        self.messages_sent += 1
        return True

    def broadcast(
        self, message: dict[str, Any] | str, clients: Iterable[Client] | None = None
    ) -> int:
        """Queue one message (encoded once) for ``clients`` (default all); returns how many got it."""
        text = encode(message)
        targets = list(self.clients.values() if clients is None else clients)
        return sum(self.send(c, text) for c in targets)

    def by_view(self) -> dict[tuple[str, ...], list[Client]]:
        """Clients grouped by what their live push covers (one stats computation per group)."""
        groups: dict[tuple[str, ...], list[Client]] = {}
        for c in self.clients.values():
            if c.view and not (c.dropped or c.closed):
                groups.setdefault(c.view_key, []).append(c)
        return groups

    def _drop(self, client: Client) -> None:
        log.warning(
            "WebSocket client %d is too slow (%d messages queued): disconnecting it",
            client.id,
            client.queue.qsize(),
        )
        client.dropped = True
        self.dropped_clients += 1
        self.clients.pop(client.id, None)
        if client.writer is not None:
            client.writer.cancel()
        task = asyncio.get_running_loop().create_task(self._close_client(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close_client(self, client: Client) -> None:
        """Close a dropped client's socket; it is gone either way, so a failure is DEBUG."""
        try:
            await asyncio.wait_for(client._close(), CLOSE_TIMEOUT)
        except TimeoutError:
            log.debug("closing WebSocket client %d timed out", client.id)
        except Exception as exc:
            log.debug("closing WebSocket client %d failed: %r", client.id, exc)

    async def stop(self) -> None:
        """Close every client (bounded) and wait for the writers and closers to finish."""
        clients = list(self.clients.values())
        self.clients.clear()
        for c in clients:
            if c.writer is not None:
                c.writer.cancel()
        await asyncio.gather(*(self._close_client(c) for c in clients), return_exceptions=True)
        writers = [c.writer for c in clients if c.writer is not None]
        if writers:
            await asyncio.gather(*writers, return_exceptions=True)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
