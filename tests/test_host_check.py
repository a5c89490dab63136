"""DNS rebinding and cross-origin pages: every route refuses a Host it does not serve (421) and
an Origin that is not its own page (403), with or without a token; the allowed names work."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from storj_monitor.model import AlertCondition
from storj_monitor.settings import SettingsError, load_settings
from storj_monitor.web.host_check import HostPolicy, split_host
from storj_monitor.web.rest import GET_ENDPOINTS
from web_harness import Running, running_monitor

pytestmark = pytest.mark.timeout(120)

QUERY = {"/api/storage/history": "?node_name=A"}
GET_PATHS = [
    "/",
    "/index.html",
    "/js/app.js",
    "/css/app.css",
    "/metrics",
    "/healthz",
    *(path + QUERY.get(path, "") for path in GET_ENDPOINTS),
]


async def _fire_alert(run: Running, key: str) -> int:
    engine = run.monitor.runtime.engine
    alert = await engine.fire(
        AlertCondition("A", "test", key, "warning", "test alert", "for the Host check"),
        run.monitor.clock(),
    )
    return int(alert.id)


async def _statuses(
    session: aiohttp.ClientSession, run: Running, headers: dict[str, str], ack_id: int
) -> dict[str, int]:
    """Status of every route (GETs, the acknowledge POST and the WebSocket handshake)."""
    out: dict[str, int] = {}
    for path in GET_PATHS:
        async with session.get(run.base + path, headers=headers) as resp:
            out[path] = resp.status
    async with session.post(f"{run.base}/api/alerts/{ack_id}/acknowledge", headers=headers) as r:
        out["POST acknowledge"] = r.status
    try:
        ws = await session.ws_connect(run.ws_url, headers=headers)
    except aiohttp.WSServerHandshakeError as exc:
        out["/ws"] = exc.status
    else:
        first = await ws.receive_json()
        out["/ws"] = 101 if first["type"] == "init" else 0
        await ws.close()
    return out


def _all(status: int, ws_status: int | None = None) -> dict[str, int]:
    expected = dict.fromkeys([*GET_PATHS, "POST acknowledge"], status)
    expected["/ws"] = ws_status if ws_status is not None else status
    return expected


@pytest.mark.parametrize("token", ["", "tok"])
async def test_rebinding_host_is_refused_on_every_route(tmp_path: Path, token: str) -> None:
    """The attack of issue #14: Host and Origin both evil.example:PORT."""
    async with running_monitor(tmp_path, token=token) as run, aiohttp.ClientSession() as session:
        port = run.monitor.web.port
        ack_id = await _fire_alert(run, "rebind")
        evil = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
        if token:
            evil["Authorization"] = f"Bearer {token}"  # even a right token does not help
        assert await _statuses(session, run, evil, ack_id) == _all(421)
        host_only = {"Host": f"evil.example:{port}"}
        assert await _statuses(session, run, host_only, ack_id) == _all(421)
        # nothing was acknowledged by the refused requests
        assert any(a.id == ack_id for a in run.monitor.runtime.engine.open_alerts("A"))
        acked = [a for a in run.monitor.runtime.engine.open_alerts("A") if a.id == ack_id]
        assert acked[0].acknowledged_at is None


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "localhost.", "[::1]"])
async def test_allowed_host_names_are_served_on_every_route(tmp_path: Path, name: str) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        port = run.monitor.web.port
        ack_id = await _fire_alert(run, f"ok-{name}")
        host = {"Host": f"{name}:{port}"}
        assert await _statuses(session, run, host, ack_id) == _all(200, 101)
        ack_id = await _fire_alert(run, f"ok2-{name}")
        same_origin = {"Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}
        assert await _statuses(session, run, same_origin, ack_id) == _all(200, 101)


async def test_foreign_origin_is_refused_on_every_route(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        port = run.monitor.web.port
        ack_id = await _fire_alert(run, "origin")
        for origin in (
            "http://evil.example",
            f"http://evil.example:{port}",
            f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}",  # another local app
            "null",  # sandboxed frames, file:// pages
            "http://[bad",
        ):
            headers = {"Origin": origin}
            assert await _statuses(session, run, headers, ack_id) == _all(403), origin


async def test_forwarded_host_is_not_trusted_unless_the_name_is_allowed(tmp_path: Path) -> None:
    proxied = {"Origin": "https://monitor.example", "X-Forwarded-Host": "monitor.example"}
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(run.ws_url, headers=proxied)
        assert err.value.status == 403
    async with (
        running_monitor(tmp_path, allowed_hosts=["monitor.example"]) as run,
        aiohttp.ClientSession() as session,
    ):
        ack_id = await _fire_alert(run, "proxy")
        # a proxy that rewrites Host to 127.0.0.1:PORT, the page at https://monitor.example
        assert await _statuses(session, run, {"Origin": "https://monitor.example"}, ack_id) == (
            _all(200, 101)
        )
        # a proxy that passes Host through
        ack_id = await _fire_alert(run, "proxy2")
        passed = {"Host": "monitor.example", "Origin": "https://monitor.example"}
        assert await _statuses(session, run, passed, ack_id) == _all(200, 101)
        assert await _statuses(session, run, {"Host": "evil.example"}, ack_id) == _all(421)


async def test_bound_to_all_interfaces_with_allowed_hosts(tmp_path: Path) -> None:
    async with (
        running_monitor(tmp_path, host="0.0.0.0", allowed_hosts=[".example.org"]) as run,
        aiohttp.ClientSession() as session,
    ):
        port = run.monitor.web.port
        ack_id = await _fire_alert(run, "wild")
        for name in ("example.org", "monitor.example.org", "127.0.0.1"):
            ack_id = await _fire_alert(run, f"wild-{name}")
            assert await _statuses(session, run, {"Host": f"{name}:{port}"}, ack_id) == (
                _all(200, 101)
            ), name
        for name in ("evil.example", "example.org.evil.example", "0.0.0.0"):
            assert await _statuses(session, run, {"Host": f"{name}:{port}"}, ack_id) == (
                _all(421)
            ), name


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_bound_server(tmp_path: Path) -> None:
    async with running_monitor(tmp_path, host="::1") as run, aiohttp.ClientSession() as session:
        port = run.monitor.web.port
        run.base = f"http://[::1]:{port}"
        ack_id = await _fire_alert(run, "v6")
        assert await _statuses(session, run, {}, ack_id) == _all(200, 101)  # Host [::1]:PORT
        assert await _statuses(session, run, {"Host": f"evil.example:{port}"}, ack_id) == (
            _all(421)
        )
        bracketless = {"Host": f"::1:{port}"}  # not a valid Host value
        assert await _statuses(session, run, bracketless, ack_id) == _all(421)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8765", ("127.0.0.1", 8765)),
        ("LocalHost", ("localhost", None)),
        ("localhost.:80", ("localhost", 80)),
        ("[::1]:8765", ("::1", 8765)),
        ("[::1]", ("::1", None)),
        ("::1", None),
        ("[::1", None),
        ("[evil.example]:1", None),
        ("a:b", None),
        ("host:", None),
        ("host:99999", None),
        ("", None),
        ("evil.example/x", None),
        ("user@evil.example", None),
        ("caf\u00e9.example", None),
    ],
)
def test_split_host(value: str, expected: Any) -> None:
    assert split_host(value) == expected


def test_policy() -> None:
    policy = HostPolicy.build("0.0.0.0", ["monitor.example", ".lan", "[fd00::1]"])
    for name in ("localhost", "127.0.0.1", "::1", "monitor.example", "lan", "nas.lan", "fd00::1"):
        assert policy.host_allowed(name), name
    for name in ("0.0.0.0", "evil.example", "lan.evil", "monitor.example.evil"):
        assert not policy.host_allowed(name), name
    assert policy.host_allowed("192.168.1.10", "192.168.1.10")  # the IP it arrived on
    assert policy.host_allowed("192.168.1.10", "::ffff:192.168.1.10")
    assert not policy.host_allowed("192.168.1.10", "192.168.1.11")
    assert HostPolicy.build("192.168.1.10").host_allowed("192.168.1.10")
    assert HostPolicy.build("", ["*"]).host_allowed("anything.example")
    # "*" never admits another site's page
    star = HostPolicy.build("127.0.0.1", ["*"])
    assert not star.origin_allowed("http://evil.example", ("127.0.0.1", 8765))
    assert star.origin_allowed("http://evil.example", ("evil.example", 80))  # same origin
    assert policy.origin_allowed("https://nas.lan", ("127.0.0.1", 8765))
    assert policy.origin_allowed("https://monitor.example:8443", None)
    assert not policy.origin_allowed("http://localhost:3000", ("localhost", 8765))
    assert policy.origin_allowed("http://localhost:80", ("localhost", None))
    assert policy.origin_allowed("https://localhost", ("localhost", 443))


@pytest.mark.parametrize("bad", ["http://monitor.example", "monitor.example:443", "a.example/x"])
def test_allowed_hosts_setting_refuses_urls_and_ports(bad: str) -> None:
    with pytest.raises(SettingsError, match="allowed_hosts"):
        load_settings(environ={}, flags={"allowed_hosts": bad})


def test_allowed_hosts_setting_from_the_environment() -> None:
    env = {"STORJ_MONITOR_ALLOWED_HOSTS": "nas.local, .lan,fd00::1,[fd00::2],*"}
    hosts = load_settings(environ=env).allowed_hosts
    assert hosts == ["nas.local", ".lan", "fd00::1", "[fd00::2]", "*"]
