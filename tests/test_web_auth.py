"""Token authentication on every HTTP and WebSocket request, and the exposure warning."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from storj_monitor.web.auth import exposure_warning, is_loopback
from web_harness import running_monitor

pytestmark = pytest.mark.timeout(60)
TOKEN = "s3cret-token"
PATHS = ["/", "/healthz", "/api/nodes", "/api/traffic?hours=1", "/metrics"]


async def test_without_token_configured_everything_is_open(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        for path in PATHS:
            async with session.get(run.base + path) as resp:
                assert resp.status == 200, path
        ws = await session.ws_connect(run.ws_url)
        assert (await ws.receive_json())["type"] == "init"
        await ws.close()


async def test_token_required_everywhere(tmp_path: Path) -> None:
    async with running_monitor(tmp_path, token=TOKEN) as run, aiohttp.ClientSession() as session:
        for path in PATHS:
            async with session.get(run.base + path) as resp:
                assert resp.status == 401, path
            async with session.get(
                run.base + path, headers={"Authorization": "Bearer wrong"}
            ) as resp:
                assert resp.status == 401, path
            async with session.get(
                run.base + path, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as resp:
                assert resp.status == 200, path
            async with session.get(run.base + path, headers={"X-Auth-Token": TOKEN}) as resp:
                assert resp.status == 200, path
        async with session.post(f"{run.base}/api/alerts/1/acknowledge") as resp:
            assert resp.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(run.ws_url)
        assert err.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(run.ws_url + "?token=nope")
        ws = await session.ws_connect(run.ws_url + f"?token={TOKEN}")
        assert (await ws.receive_json())["type"] == "init"
        await ws.close()
        ws = await session.ws_connect(run.ws_url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert (await ws.receive_json())["type"] == "init"
        await ws.close()


async def test_query_token_sets_a_cookie_for_the_page(tmp_path: Path) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for a bare IP address
    async with (
        running_monitor(tmp_path, token=TOKEN) as run,
        aiohttp.ClientSession(cookie_jar=jar) as session,
    ):
        async with session.get(f"{run.base}/?token={TOKEN}") as resp:
            assert resp.status == 200
        # the page's scripts and its WebSocket carry no token: the cookie does
        async with session.get(run.base + "/api/nodes") as resp:
            assert resp.status == 200
        ws = await session.ws_connect(run.ws_url)
        assert (await ws.receive_json())["type"] == "init"
        await ws.close()


@pytest.mark.parametrize(
    ("host", "token", "warned"),
    [
        ("0.0.0.0", "", True),
        ("::", "", True),
        ("192.168.1.10", "", True),
        ("0.0.0.0", "x", False),
        ("127.0.0.1", "", False),
        ("::1", "", False),
        ("localhost", "", False),
    ],
)
def test_exposure_warning(host: str, token: str, warned: bool) -> None:
    text = exposure_warning(host, token)
    assert (text is not None) is warned
    if text:
        assert "auth token" in text and "--auth-token" in text


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.2") and not is_loopback("10.0.0.1") and not is_loopback("")


async def test_cross_origin_websocket_and_post_are_refused(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        evil = {"Origin": "http://evil.example"}
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(run.ws_url, headers=evil)
        assert err.value.status == 403
        async with session.post(f"{run.base}/api/alerts/1/acknowledge", headers=evil) as resp:
            assert resp.status == 403
        async with session.get(run.base + "/api/nodes", headers=evil) as resp:
            assert resp.status == 403  # reads from another site's page are refused too
        # X-Forwarded-Host is not trusted (see test_host_check for allowed_hosts)
        proxied = {"Origin": "https://monitor.example", "X-Forwarded-Host": "monitor.example"}
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(run.ws_url, headers=proxied)
        assert err.value.status == 403
        same = {"Origin": run.base}
        ws = await session.ws_connect(run.ws_url, headers=same)
        assert (await ws.receive_json())["type"] == "init"
        await ws.close()
        async with session.post(f"{run.base}/api/alerts/1/acknowledge", headers=same) as resp:
            assert resp.status == 404  # allowed through; no such alert


async def test_start_prints_the_exposure_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import storj_monitor.web.app as app_module

    seen: list[tuple[str, str]] = []

    def fake(host: str, token: str) -> str:
        seen.append((host, token))
        return "WARNING: exposed"

    monkeypatch.setattr(app_module, "exposure_warning", fake)
    async with running_monitor(tmp_path):
        pass
    assert seen == [("127.0.0.1", "")]
    assert "storj_monitor: WARNING: exposed" in capsys.readouterr().err
