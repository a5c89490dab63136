"""Client of the storagenode dashboard API (``/api/sno/...``, default port 14002).

One ``NodeApiClient`` per node, with its own aiohttp session. Every failure becomes a
:class:`NodeApiError` subclass (unreachable, timeout, bad status, not JSON, malformed), so the
poller translates errors at one boundary. Transient failures (unreachable, timeout, 5xx) are
retried with exponential backoff and full jitter; the others are not (retrying an HTML page
does not make it JSON). Replies are read as a stream and cut at ``max_reply_bytes`` (a huge
reply is a :class:`NodeApiTooLarge`, never held whole in memory); replies above
``PARSE_OFF_LOOP_BYTES`` are decoded in a worker thread so the event loop keeps running.

Parsing is pure (``parse_dashboard``, ``parse_satellites``, ``parse_satellite``) and handles
the API's quirks: both meanings of ``diskSpace.available`` (allocated total before v1.143, free
space since — the presence of ``allocated`` tells which), ``null`` for empty lists, scores as
fractions 0..1 (converted to percent here), RFC 3339 times with nanoseconds (to unix seconds).
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import orjson

log = logging.getLogger("storj_monitor.nodeapi")

DEFAULT_LOCAL_API = "http://localhost:14002"
DEFAULT_MAX_REPLY_BYTES = 8 << 20  # a real /api/sno/ reply is a few KB; a payout reply ~100 KB
PARSE_OFF_LOOP_BYTES = 256 << 10  # decode larger replies in a thread (orjson: ~1 ms per MB)
_READ_CHUNK = 64 << 10


# --- errors --------------------------------------------------------------------------------------
class NodeApiError(Exception):
    """Any failure to get a usable answer from a node API; ``str()`` is one clear line."""

    transient = False

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class NodeApiUnreachable(NodeApiError):  # noqa: N818 (family named by NodeApiError)
    transient = True


class NodeApiTimeout(NodeApiError):  # noqa: N818 (family named by NodeApiError)
    transient = True


class NodeApiBadStatus(NodeApiError):  # noqa: N818 (family named by NodeApiError)
    def __init__(self, url: str, status: int, body: str = "") -> None:
        super().__init__(url, f"HTTP {status}{': ' + body[:200] if body else ''}")
        self.status = status
        self.transient = status >= 500 or status == 429


class NodeApiNotJson(NodeApiError):  # noqa: N818 (family named by NodeApiError)
    """The reply is not JSON (the node answers unknown paths with its HTML dashboard)."""


class NodeApiMalformed(NodeApiError):  # noqa: N818 (family named by NodeApiError)
    """JSON, but not the shape the endpoint returns (truncated, wrong types, missing keys)."""


class NodeApiTooLarge(NodeApiError):  # noqa: N818 (family named by NodeApiError)
    """The reply is larger than ``max_reply_bytes``: not read further, not retried."""

    def __init__(self, url: str, size: int, limit: int, *, known: bool = True) -> None:
        at_least = "" if known else "at least "
        super().__init__(url, f"reply too large ({at_least}{size} bytes > {limit})")
        self.size = size
        self.limit = limit


# --- parsed data ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DiskSpace:
    """Disk usage normalised across node versions (bytes).

    ``used_bytes`` is everything occupied *including trash* (as v1.143+ reports it), so
    ``used + free = total`` unless overused. ``layout`` is ``allocated`` (v1.143+) or ``legacy``.
    """

    total_bytes: int
    used_bytes: int
    free_bytes: int
    trash_bytes: int
    overused_bytes: int
    reclaimable_bytes: int | None
    layout: str


@dataclass(frozen=True, slots=True)
class SatelliteStatus:
    id: str
    url: str | None
    disqualified_at: float | None
    suspended_at: float | None
    vetted_at: float | None


@dataclass(frozen=True, slots=True)
class NodeSummary:
    """``/api/sno/``."""

    node_id: str
    wallet: str | None
    version: str | None
    allowed_version: str | None
    up_to_date: bool | None
    disk: DiskSpace
    satellites: list[SatelliteStatus]
    bandwidth_used_bytes: int | None
    last_pinged: float | None
    started_at: float | None
    quic_status: str | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scores:
    """One satellite's scores in percent (0..100)."""

    satellite_name: str | None
    audit: float | None
    suspension: float | None
    online: float | None


@dataclass(frozen=True, slots=True)
class SatelliteDetail:
    """``/api/sno/satellite/{id}`` (or the all-satellites sum when ``id`` is None)."""

    id: str | None
    scores: list[Scores]
    average_usage_bytes: float | None
    storage_summary_byte_hours: float | None
    egress_bytes: int | None
    ingress_bytes: int | None
    vetted_at: float | None
    joined_at: float | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


# --- parsing (pure) -----------------------------------------------------------------------------
def parse_time(value: Any) -> float | None:
    """RFC 3339 (up to 9 fraction digits) -> unix seconds; null or Go's zero time -> None."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = ""
        while rest and rest[0].isdigit():
            digits, rest = digits + rest[0], rest[1:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _num(d: dict[str, Any], key: str, url: str, *, required: bool = False) -> float | None:
    v = d.get(key)
    if v is None:
        if required:
            raise NodeApiMalformed(url, f"missing {key!r}")
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise NodeApiMalformed(url, f"{key!r} is not a finite number: {v!r}")
    return v


def _obj(value: Any, url: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise NodeApiMalformed(url, f"{what} is not an object")
    return value


def _list(value: Any, url: str, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NodeApiMalformed(url, f"{what} is not a list")
    return value


#: Byte counts outside 0..2**60 (1 EiB) are not a disk: the reply is wrong.
_MAX_BYTES = 2**60


def _bytes(d: dict[str, Any], key: str, url: str, *, required: bool = False) -> int | None:
    v = _num(d, key, url, required=required)
    if v is None:
        return None
    if not 0 <= v <= _MAX_BYTES:
        raise NodeApiMalformed(url, f"{key!r} is not a plausible byte count: {v!r}")
    return int(v)


def parse_disk_space(disk: dict[str, Any], url: str = "") -> DiskSpace:
    """Normalise ``diskSpace``: ``allocated`` present -> available is free; absent -> total."""
    used = _bytes(disk, "used", url, required=True) or 0
    available = _bytes(disk, "available", url, required=True) or 0
    trash = _bytes(disk, "trash", url) or 0
    overused = _bytes(disk, "overused", url) or 0
    if "allocated" in disk:
        total = _bytes(disk, "allocated", url, required=True) or 0
        reclaimable = _bytes(disk, "reclaimable", url)
        return DiskSpace(
            total_bytes=total,
            used_bytes=used,
            free_bytes=max(available, 0),
            trash_bytes=trash,
            overused_bytes=overused,
            reclaimable_bytes=None if reclaimable is None else int(reclaimable),
            layout="allocated",
        )
    # Before v1.143: available is the allocation, used excludes trash.
    occupied = used + trash
    return DiskSpace(
        total_bytes=available,
        used_bytes=occupied,
        free_bytes=max(available - occupied, 0),
        trash_bytes=trash,
        overused_bytes=overused,
        reclaimable_bytes=None,
        layout="legacy",
    )


def parse_dashboard(data: Any, url: str = "/api/sno/") -> NodeSummary:
    d = _obj(data, url, "reply")
    node_id = d.get("nodeID")
    if not isinstance(node_id, str) or not node_id:
        raise NodeApiMalformed(url, "missing nodeID")
    sats = []
    for s in _list(d.get("satellites"), url, "satellites"):
        s = _obj(s, url, "satellite")
        if not isinstance(s.get("id"), str):
            raise NodeApiMalformed(url, "satellite without id")
        sats.append(
            SatelliteStatus(
                id=s["id"],
                url=s.get("url") if isinstance(s.get("url"), str) else None,
                disqualified_at=parse_time(s.get("disqualified")),
                suspended_at=parse_time(s.get("suspended")),
                vetted_at=parse_time(s.get("vettedAt")),
            )
        )
    raw_bw = d.get("bandwidth")
    bandwidth: dict[str, Any] = raw_bw if isinstance(raw_bw, dict) else {}
    bw = _bytes(bandwidth, "used", url)
    return NodeSummary(
        node_id=node_id,
        wallet=d.get("wallet") if isinstance(d.get("wallet"), str) else None,
        version=d.get("version") if isinstance(d.get("version"), str) else None,
        allowed_version=d.get("allowedVersion")
        if isinstance(d.get("allowedVersion"), str)
        else None,
        up_to_date=d.get("upToDate") if isinstance(d.get("upToDate"), bool) else None,
        disk=parse_disk_space(_obj(d.get("diskSpace"), url, "diskSpace"), url),
        satellites=sats,
        bandwidth_used_bytes=None if bw is None else int(bw),
        last_pinged=parse_time(d.get("lastPinged")),
        started_at=parse_time(d.get("startedAt")),
        quic_status=d.get("quicStatus") if isinstance(d.get("quicStatus"), str) else None,
        raw=d,
    )


def _percent(a: dict[str, Any], key: str, url: str) -> float | None:
    v = _num(a, key, url)
    return None if v is None else round(float(v) * 100.0, 6)


def _scores(a: Any, url: str) -> Scores:
    a = _obj(a, url, "audits entry")
    name = a.get("satelliteName")
    return Scores(
        satellite_name=name if isinstance(name, str) else None,
        audit=_percent(a, "auditScore", url),
        suspension=_percent(a, "suspensionScore", url),
        online=_percent(a, "onlineScore", url),
    )


def parse_satellite(data: Any, url: str = "/api/sno/satellite") -> SatelliteDetail:
    """``/api/sno/satellite/{id}`` (audits is an object) or ``/api/sno/satellites`` (a list)."""
    d = _obj(data, url, "reply")
    audits = d.get("audits")
    if isinstance(audits, dict):
        scores = [_scores(audits, url)]
    else:
        scores = [_scores(a, url) for a in _list(audits, url, "audits")]
    egress = _bytes(d, "egressSummary", url)
    ingress = _bytes(d, "ingressSummary", url)
    sat_id = d.get("id")
    return SatelliteDetail(
        id=sat_id if isinstance(sat_id, str) else None,
        scores=scores,
        average_usage_bytes=_num(d, "averageUsageBytes", url),
        storage_summary_byte_hours=_num(d, "storageSummary", url),
        egress_bytes=None if egress is None else int(egress),
        ingress_bytes=None if ingress is None else int(ingress),
        vetted_at=parse_time(d.get("vettedAt")),
        joined_at=parse_time(d.get("nodeJoinedAt") or d.get("earliestJoinedAt")),
        raw=d,
    )


parse_satellites = parse_satellite


# --- the client ----------------------------------------------------------------------------------
class NodeApiClient:
    """HTTP client of one node's API. ``close()`` when done (or use ``async with``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        rng: random.Random | None = None,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_reply_bytes = max_reply_bytes
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> NodeApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"Accept": "application/json"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _get_once(self, path: str) -> Any:
        url = self.base_url + path
        session = self._ensure_session()
        try:
            async with session.get(url, allow_redirects=True) as resp:
                body = await self._read_capped(url, resp)
                if resp.status != 200:
                    raise NodeApiBadStatus(url, resp.status, body[:200].decode("utf-8", "replace"))
                ctype = resp.headers.get("Content-Type", "")
        except TimeoutError:
            raise NodeApiTimeout(url, f"no answer within {self.timeout:g} s") from None
        except aiohttp.ClientPayloadError as exc:
            raise NodeApiMalformed(url, f"incomplete reply ({exc.__class__.__name__})") from None
        except aiohttp.ClientError as exc:
            raise NodeApiUnreachable(url, f"{exc.__class__.__name__}: {exc}") from None
        except (OSError, ValueError) as exc:  # bad URL, socket errors outside aiohttp's types
            raise NodeApiUnreachable(url, f"{exc.__class__.__name__}: {exc}") from None
        stripped = body.lstrip()
        if stripped[:1] == b"<" or "html" in ctype.lower():
            raise NodeApiNotJson(
                url, "answered HTML, not JSON (wrong URL or not a storagenode API?)"
            )
        try:
            if len(body) > PARSE_OFF_LOOP_BYTES:
                return await asyncio.to_thread(orjson.loads, body)
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            kind = "truncated or invalid JSON" if stripped[:1] in (b"{", b"[") else "not JSON"
            raise NodeApiMalformed(url, f"{kind}: {exc}") from None

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        """The body, read in chunks; more than ``max_reply_bytes`` raises NodeApiTooLarge."""
        limit = self.max_reply_bytes
        if resp.content_length is not None and resp.content_length > limit:
            raise NodeApiTooLarge(url, resp.content_length, limit)
        body = bytearray()
        while chunk := await resp.content.read(_READ_CHUNK):
            body += chunk
            if len(body) > limit:
                raise NodeApiTooLarge(url, len(body), limit, known=False)
        return bytes(body)

    async def get_json(self, path: str) -> Any:
        """GET ``path`` and decode JSON, retrying transient failures with backoff and jitter."""
        attempt = 0
        while True:
            try:
                return await self._get_once(path)
            except NodeApiError as exc:
                if not exc.transient or attempt >= self.retries:
                    raise
                delay = self.backoff * (2**attempt) * (0.5 + self._rng.random())
                log.debug("%s (attempt %d), retrying in %.2f s", exc, attempt + 1, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _parsed(self, path: str, parse: Any) -> Any:
        url = self.base_url + path
        data = await self.get_json(path)
        try:
            return parse(data, url)
        except NodeApiError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise NodeApiMalformed(url, f"unexpected shape: {exc}") from None

    async def dashboard(self) -> NodeSummary:
        result: NodeSummary = await self._parsed("/api/sno/", parse_dashboard)
        return result

    async def satellites(self) -> SatelliteDetail:
        result: SatelliteDetail = await self._parsed("/api/sno/satellites", parse_satellite)
        return result

    async def satellite(self, satellite_id: str) -> SatelliteDetail:
        result: SatelliteDetail = await self._parsed(
            f"/api/sno/satellite/{satellite_id}", parse_satellite
        )
        return result

    async def estimated_payout(self) -> dict[str, Any]:
        path = "/api/sno/estimated-payout"
        data = await self.get_json(path)
        if not isinstance(data, dict):
            raise NodeApiMalformed(self.base_url + path, "reply is not an object")
        return data
