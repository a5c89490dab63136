"""A fake storagenode dashboard API: a real aiohttp app speaking ``/api/sno/...``.

Used by the tests (on 127.0.0.1, port 0) and by the demo. Its :class:`FakeNodeState` is mutable
while the server runs, so a test or the demo can change the disk usage, the scores or the
failure mode live (``state.used_bytes += ...``, ``state.mode = "http500"``, ``state.advance(s)``).

Scenarios (:data:`SCENARIOS`): healthy, disk_nearly_full, disk_filling_fast, low_audit,
suspended, legacy_disk (the pre-v1.143 ``diskSpace`` meaning), and the failure modes
http500, garbage (not JSON), html (the dashboard page, as the node answers unknown paths),
truncated (JSON cut short), hang (never answers). ``FakeNodeState(replies={path: json})``
serves canned replies (e.g. of an older node version) instead; ``path_modes`` fails one path.

Run standalone: ``python -m storj_monitor.demo.fake_node_api --port 14002 --scenario healthy``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from storj_monitor.demo import fake_payouts

SATELLITES = {
    "121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6": "ap1.storj.io:7777",
    "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S": "us1.storj.io:7777",
    "12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs": "eu1.storj.io:7777",
    "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE": "saltlake.tardigrade.io:7777",
}
NODE_ID = "1VeT2sEfuRhZTHXDXQZ7oNfwWhJzBmjbQWDhSKcVTNVJ6vLyMQ"
WALLET = "0x9aC1f3d4B7e2a0c5D8F6b3E1A2c4D5e6F7a8B9C0"
MODES = ("ok", "http500", "garbage", "html", "truncated", "hang")
HTML = (
    b"<!DOCTYPE html><html><head><title>Storage Node Dashboard</title></head><body></body></html>"
)


@dataclass
class SatState:
    audit: float = 1.0  # fractions 0..1, as the API returns them
    suspension: float = 1.0
    online: float = 0.9987
    disqualified: str | None = None  # RFC 3339 or None
    suspended: str | None = None
    vetted_at: str | None = "2024-09-27T11:02:13.417Z"


@dataclass
class FakeNodeState:
    """Everything the fake answers; mutate it freely while the server runs."""

    allocated_bytes: int = 2_000_000_000_000
    used_bytes: int = 1_200_000_000_000  # pieces only, trash excluded
    trash_bytes: int = 20_000_000_000
    legacy_disk: bool = False  # True: pre-v1.143 diskSpace (available = allocated total)
    growth_bytes_per_second: float = 0.0  # applied by advance()
    version: str = "1.162.3"
    mode: str = "ok"  # one of MODES
    satellites: dict[str, SatState] = field(
        default_factory=lambda: {sid: SatState() for sid in SATELLITES}
    )
    requests: int = 0
    #: The time the money replies are computed at (UTC unix seconds); None = the real clock.
    now: float | None = None
    #: An old node: no /api/heldamount (404), satellite replies without ``priceModel`` and
    #: ``nodeJoinedAt`` and with ``storageDaily: null``, an estimate without expectations.
    old_node: bool = False
    #: Canned replies: API path -> JSON payload served as is (e.g. replies captured from a
    #: real node). When set, every path not in it answers 404 like an unknown route.
    replies: dict[str, Any] | None = None
    #: API path -> failure mode of that path only: http404, http500, garbage, html or hang.
    path_modes: dict[str, str] = field(default_factory=dict)

    def clock(self) -> float:
        return time.time() if self.now is None else self.now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of growth happen."""
        self.used_bytes = int(self.used_bytes + self.growth_bytes_per_second * seconds)

    def disk_space(self) -> dict[str, Any]:
        if self.legacy_disk:
            return {
                "used": self.used_bytes,
                "available": self.allocated_bytes,
                "trash": self.trash_bytes,
                "overused": 0,
            }
        occupied = self.used_bytes + self.trash_bytes
        return {
            "used": occupied,
            "available": max(self.allocated_bytes - occupied, 0),
            "overused": max(occupied - self.allocated_bytes, 0),
            "allocated": self.allocated_bytes,
            "trash": self.trash_bytes,
            "reclaimable": 0,
        }


def scenario(name: str) -> FakeNodeState:
    """A fresh state for a named scenario."""
    s = FakeNodeState()
    if name == "healthy":
        return s
    if name == "disk_nearly_full":  # 96.5 % used, 70 GB free: the seed's critical example
        return replace(s, used_bytes=1_910_000_000_000, trash_bytes=20_000_000_000)
    if name == "disk_filling_fast":  # 1.6 TB used, +100 GB/day
        return replace(s, used_bytes=1_500_000_000_000, growth_bytes_per_second=100e9 / 86400)
    if name == "low_audit":
        s.satellites["12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"].audit = 0.962
        s.satellites["121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6"].audit = 0.975
        return s
    if name == "suspended":
        sat = s.satellites["1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"]
        sat.suspension, sat.suspended, sat.vetted_at = 0.55, "2026-08-14T06:00:00Z", None
        return s
    if name == "legacy_disk":
        return replace(s, legacy_disk=True, version="1.120.4")
    if name in MODES:
        return replace(s, mode=name)
    raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")


SCENARIOS = (
    "healthy",
    "disk_nearly_full",
    "disk_filling_fast",
    "low_audit",
    "suspended",
    "legacy_disk",
    "http500",
    "garbage",
    "html",
    "truncated",
    "hang",
)


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


def dashboard_json(state: FakeNodeState) -> dict[str, Any]:
    return {
        "nodeID": NODE_ID,
        "wallet": WALLET,
        "walletFeatures": None,
        "satellites": [
            {
                "id": sid,
                "url": SATELLITES[sid],
                "disqualified": sat.disqualified,
                "suspended": sat.suspended,
                "vettedAt": sat.vetted_at,
            }
            for sid, sat in state.satellites.items()
        ],
        "diskSpace": state.disk_space(),
        "bandwidth": {"used": 1873466230784, "available": 0},
        "lastPinged": _now_rfc3339(),
        "version": state.version,
        "allowedVersion": "1.155.2",
        "upToDate": True,
        "startedAt": "2026-08-19T03:12:55.100813275Z",
        "configuredPort": "28967",
        "quicStatus": "OK",
        "lastQuicPingedAt": _now_rfc3339(),
    }


def _audits(sid: str, sat: SatState) -> dict[str, Any]:
    return {
        "auditScore": sat.audit,
        "suspensionScore": sat.suspension,
        "onlineScore": sat.online,
        "satelliteName": SATELLITES[sid],
    }


def satellites_json(state: FakeNodeState) -> dict[str, Any]:
    return {
        "storageDaily": None,
        "bandwidthDaily": None,
        "storageSummary": 2043118771260044.5,
        "averageUsageBytes": float(state.used_bytes),
        "bandwidthSummary": 1873466230784,
        "egressSummary": 611508219904,
        "ingressSummary": 1261958010880,
        "earliestJoinedAt": "2024-09-04T07:13:40.52Z",
        "audits": [_audits(sid, sat) for sid, sat in state.satellites.items()],
    }


def satellite_json(state: FakeNodeState, sid: str) -> dict[str, Any]:
    sat = state.satellites[sid]
    model = fake_payouts.MODELS[sid]
    now = state.clock()
    bandwidth = fake_payouts.bandwidth_daily(model, now)
    storage = fake_payouts.storage_daily(model, state.used_bytes, now)
    egress = sum(sum(d["egress"].values()) for d in bandwidth)
    ingress = sum(sum(d["ingress"].values()) for d in bandwidth)
    return {
        "id": sid,
        "storageDaily": storage,
        "bandwidthDaily": bandwidth,
        "storageSummary": sum(s["atRestTotal"] for s in storage),
        "averageUsageBytes": state.used_bytes * model.share,
        "bandwidthSummary": egress + ingress,
        "egressSummary": egress,
        "ingressSummary": ingress,
        "audits": _audits(sid, sat),
        "auditHistory": {"score": sat.online, "windows": None},
        "priceModel": dict(fake_payouts.PRICE_MODEL),
        "nodeJoinedAt": model.joined,
        "vettedAt": sat.vetted_at,
    }


def estimated_payout_json(state: FakeNodeState) -> dict[str, Any]:
    """The node's own estimate, from the same daily data its satellite replies carry."""
    sats = {sid: satellite_json(state, sid) for sid in state.satellites}
    dq = {sid for sid, sat in state.satellites.items() if sat.disqualified}
    estimate = fake_payouts.estimated_payout(sats, dq, state.clock())
    if state.old_node:
        estimate.pop("currentMonthExpectations", None)
        estimate["previousMonth"] = None
    return estimate


def old_node_satellite(reply: dict[str, Any]) -> dict[str, Any]:
    """A satellite reply as an old node sends it: fields missing, a list null."""
    out = {k: v for k, v in reply.items() if k not in ("priceModel", "nodeJoinedAt")}
    out["storageDaily"] = None
    return out


def payout_rows(state: FakeNodeState) -> list[dict[str, Any]]:
    rows = fake_payouts.payout_rows(state.used_bytes, state.clock())
    for r in rows:
        r["satelliteURL"] = SATELLITES[r["satelliteID"]]
    return rows


def make_app(state: FakeNodeState) -> web.Application:
    """The aiohttp app; every request reads ``state`` at that moment."""
    # A hanging request ends when the server shuts down (503), so stopping the server
    # leaves no handler task pending on the loop.
    stopping = asyncio.Event()

    async def on_shutdown(app: web.Application) -> None:
        stopping.set()

    def reply(payload: Any) -> web.StreamResponse:
        body = orjson.dumps(payload)
        if state.mode == "truncated":
            return web.Response(body=body[: len(body) // 2], content_type="application/json")
        return web.Response(body=body, content_type="application/json")

    @web.middleware
    async def failure_modes(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        state.requests += 1
        mode = state.path_modes.get(request.path, state.mode)
        if mode == "hang":
            await stopping.wait()  # until the server stops (the client gives up sooner)
            return web.Response(status=503, text="fake node API stopping")
        if mode == "http500":
            return web.json_response({"error": "console: internal error"}, status=500)
        if mode == "http404":
            return web.json_response({"error": "consoleapi: not found"}, status=404)
        if mode == "garbage":
            return web.Response(body=b"\x00\x17garbage not json", content_type="application/json")
        if mode == "html":
            return web.Response(body=HTML, content_type="text/html")
        if state.old_node and request.path.startswith("/api/heldamount/"):
            return web.json_response({"error": "404 page not found"}, status=404)
        if state.replies is not None:
            if request.path not in state.replies:
                return web.json_response({"error": "consoleapi: not found"}, status=404)
            return reply(state.replies[request.path])
        return await handler(request)

    async def sno(request: web.Request) -> web.StreamResponse:
        return reply(dashboard_json(state))

    async def sno_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/api/sno/")

    async def satellites(request: web.Request) -> web.StreamResponse:
        return reply(satellites_json(state))

    async def satellite(request: web.Request) -> web.StreamResponse:
        sid = request.match_info["sid"]
        if len(sid) < 40:
            return web.json_response({"error": "consoleapi storagenode: invalid id"}, status=400)
        if sid not in state.satellites:
            return web.json_response(
                {"error": "consoleapi storagenode: console: trust: satellite is untrusted"},
                status=404,
            )
        body = satellite_json(state, sid)
        return reply(old_node_satellite(body) if state.old_node else body)

    async def payout(request: web.Request) -> web.StreamResponse:
        return reply(estimated_payout_json(state))

    def bad_period(text: str) -> bool:
        return len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit()

    async def periods(request: web.Request) -> web.StreamResponse:
        return reply(sorted({r["period"] for r in payout_rows(state)}))

    async def payout_history(request: web.Request) -> web.StreamResponse:
        period = request.match_info["period"]
        if bad_period(period):
            return web.json_response({"error": "heldamount: invalid period"}, status=400)
        rows = [r for r in payout_rows(state) if r["period"] == period]
        return reply([{k: v for k, v in r.items() if k != "period"} for r in rows])

    async def paystubs(request: web.Request) -> web.StreamResponse:
        first, last = request.match_info["first"], request.match_info["last"]
        if bad_period(first) or bad_period(last):
            return web.json_response({"error": "heldamount: invalid period"}, status=400)
        stubs = [
            {"satelliteId": r["satelliteID"], "period": r["period"], "codes": "",
             "held": r["held"], "owed": r["afterHeld"], "disposed": r["disposed"],
             "paid": r["paid"], "distributed": r["distributed"]}
            for r in payout_rows(state) if first <= r["period"] <= last
        ]  # fmt: skip
        return reply(stubs or None)

    async def held_history(request: web.Request) -> web.StreamResponse:
        rows = fake_payouts.held_history(state.used_bytes, state.clock())
        for r in rows:
            r["satelliteName"] = SATELLITES[r["satelliteID"]]
        return reply(rows)

    async def anything(request: web.Request) -> web.StreamResponse:
        return web.Response(body=HTML, content_type="text/html")  # the dashboard, as the node does

    app = web.Application(middlewares=[failure_modes])
    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/api/sno/", sno)
    app.router.add_get("/api/sno", sno_redirect)
    app.router.add_get("/api/sno/satellites", satellites)
    app.router.add_get("/api/sno/satellite/{sid}", satellite)
    app.router.add_get("/api/sno/estimated-payout", payout)
    app.router.add_get("/api/heldamount/periods", periods)
    app.router.add_get("/api/heldamount/payout-history/{period}", payout_history)
    app.router.add_get("/api/heldamount/paystubs/{first}/{last}", paystubs)
    app.router.add_get("/api/heldamount/held-history", held_history)
    app.router.add_get("/{tail:.*}", anything)
    return app


class FakeNodeApi:
    """Runs :func:`make_app` on ``host:port`` (port 0 = a free one); ``url`` once started."""

    def __init__(
        self, state: FakeNodeState | None = None, *, host: str = "127.0.0.1", port: int = 0
    ):
        self.state = state or FakeNodeState()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> FakeNodeApi:
        self._runner = web.AppRunner(make_app(self.state), shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the real port when 0 was asked
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeNodeApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _serve(port: int, name: str) -> None:
    api = await FakeNodeApi(scenario(name), port=port).start()
    print(f"fake storagenode API ({name}) on {api.url}/api/sno/", flush=True)
    try:
        while True:
            await asyncio.sleep(60)
            api.state.advance(60)
    finally:
        await api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Fake storagenode dashboard API for demos and tests."
    )
    parser.add_argument("--port", type=int, default=14002)
    parser.add_argument("--scenario", choices=SCENARIOS, default="healthy")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.scenario))


if __name__ == "__main__":
    main()
