"""The WebSocket hub: bounded per-client queues, slow clients dropped, others unaffected;
live stats coalesced into one message per view per tick."""

from __future__ import annotations

import asyncio

import orjson

from storj_monitor.model import Event
from storj_monitor.services.bus import Bus
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats

NOW = 1_736_000_000.0


class FakeSocket:
    """A client socket: records what it was sent; ``stuck`` makes every send block forever."""

    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.sent: list[dict] = []
        self.closed = asyncio.Event()
        self.got = asyncio.Event()

    async def send(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(orjson.loads(text))
        self.got.set()

    async def close(self) -> None:
        self.closed.set()


async def test_slow_client_is_dropped_and_fast_client_gets_everything() -> None:
    hub = Hub(queue_size=5)
    fast, slow = FakeSocket(), FakeSocket(stuck=True)
    cf = hub.add(fast.send, fast.close)
    cs = hub.add(slow.send, slow.close)
    delivered = []
    for i in range(20):
        delivered.append(hub.broadcast({"type": "x", "n": i}))
        await asyncio.sleep(0)  # the writers run between broadcasts, as on a live loop
    # The slow client's writer took one message and hangs in send(); 5 more fill its queue.
    await asyncio.wait_for(slow.closed.wait(), 2)
    assert cs.dropped and cs.id not in hub.clients
    assert hub.dropped_clients == 1
    assert not cf.dropped
    assert delivered[:5] == [2] * 5 and delivered[-1] == 1
    while len(fast.sent) < 20:
        fast.got.clear()
        await asyncio.wait_for(fast.got.wait(), 2)
    assert [m["n"] for m in fast.sent] == list(range(20))
    assert hub.send(cs, {"type": "late"}) is False
    await hub.remove(cf)
    await hub.stop()
    assert cf.writer is not None and cf.writer.done()
    assert cs.writer is not None and cs.writer.done()


async def test_remove_flushes_queued_messages() -> None:
    hub = Hub(queue_size=10)
    sock = FakeSocket()
    client = hub.add(sock.send, sock.close)
    for i in range(3):
        hub.send(client, {"type": "x", "n": i})
    await hub.remove(client)
    assert [m["n"] for m in sock.sent] == [0, 1, 2]
    await hub.stop()


def _events(n: int, ts: float, action: str = "GET", status: str = "success") -> list[Event]:
    return [
        Event(ts, "A", action, status, 1000, "SAT", f"P{i}", "1.2.3.4")  # type: ignore[arg-type]
        for i in range(n)
    ]


async def test_live_stats_coalesce_a_burst_into_one_message_per_client() -> None:
    bus, hub = Bus(), Hub(queue_size=50)
    clock = [NOW]
    live = LiveStats(bus, hub, ["A", "B"], interval=3600, clock=lambda: clock[0])
    await live.start()
    socks = [FakeSocket() for _ in range(3)]
    clients = [hub.add(s.send, s.close) for s in socks]
    for c in clients[:2]:
        c.view, c.view_label = ["A", "B"], ["Aggregate"]
    clients[2].view, clients[2].view_label = ["B"], ["B"]
    for _ in range(50):  # 5,000 events in 50 batches within one second
        bus.publish("events", "A", _events(100, NOW - 0.5))
    bus.publish("events", "B", _events(7, NOW - 0.5, "PUT", "canceled"))
    clock[0] = NOW + 3
    queued = live.tick()
    assert queued == 3
    for s in socks:
        await asyncio.wait_for(s.got.wait(), 2)
    agg, only_b = socks[0].sent[0], socks[2].sent[0]
    assert socks[1].sent == [agg]
    assert agg["type"] == "stats_update" and agg["view"] == ["Aggregate"]
    assert agg["operations"]["get"]["total"] == 5000
    assert agg["operations"]["put"]["canceled"] == 7
    assert agg["received"] == 5007
    assert agg["bandwidth"]["egress_bytes"] == 5_000_000
    assert agg["rates"]["ops_per_second"] == round(5007 / 60, 3)
    points = agg["series"]["points"]
    assert sum(p["get"] for p in points) == 5000  # all in one settled second
    assert agg["full"] is False or agg["full"] is True
    assert only_b["operations"]["get"]["total"] == 0 and only_b["received"] == 7
    assert live.live_counts[("A", "GET", "success")] == 5000
    # the next tick carries only new points, and the window forgets old seconds
    clock[0] = NOW + 400
    live.tick()
    await asyncio.sleep(0.01)
    later = socks[0].sent[-1]
    assert later["full"] is False
    assert later["operations"]["get"]["total"] == 0
    assert later["received"] == 5007
    await live.stop()
    await hub.stop()


async def test_live_stats_full_snapshot_and_old_events_ignored() -> None:
    bus, hub = Bus(), Hub()
    live = LiveStats(bus, hub, ["A"], interval=3600, clock=lambda: NOW)
    live.on_events("A", _events(3, NOW - 3600))  # older than the window
    live.on_events("A", _events(2, NOW - 10))
    live.on_events("A", _events(1, NOW + 50))  # clock skew: counted as now
    snap = live.snapshot(["A"], ["A"], now=NOW)
    assert snap["full"] is True
    assert snap["operations"]["get"]["total"] == 3
    assert len(snap["series"]["points"]) == 300 - 2
    assert snap["series"]["points"][-1]["timestamp"] == "2025-01-04T14:13:18Z"
    await hub.stop()
