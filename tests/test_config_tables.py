"""[[node]] and [[notify]] tables of the config file; routes, quiet hours, notify-test."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from aiohttp import web

from storj_monitor.config_tables import (
    ConfigTableError,
    in_quiet_hours,
    parse_quiet_hours,
    parse_tables,
)
from storj_monitor.model import AlertCondition
from storj_monitor.notify import Notifier
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.settings import SettingsError, defaults, load_settings
from storj_monitor.store.database import Store

CONFIG = """
port = 9000

[[node]]
name = "A"
log = "/var/log/a.log"

[[node]]
name = "B"
log = "nas.local:9000"
api = "http://nas.local:14002"

[[notify]]
urls = ["json://127.0.0.1:1/x"]
min_severity = "critical"

[[notify]]
urls = "ntfy://ntfy.sh/t"
quiet_hours = "22:00-07:00"
"""


def test_nodes_and_routes_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    s = load_settings(path, environ={})
    assert s.port == 9000
    a, b = s.tables.nodes
    assert (a.name, a.log_source, a.api_url, a.is_remote) == ("A", "/var/log/a.log", None, False)
    assert (b.name, b.log_source, b.api_url, b.is_remote) == ("B", "nas.local:9000", "http://nas.local:14002", True)
    r1, r2 = s.tables.routes
    assert (r1.urls, r1.min_severity, r1.quiet_hours) == (("json://127.0.0.1:1/x",), "critical", None)
    assert (r2.urls, r2.min_severity, r2.quiet_hours) == (("ntfy://ntfy.sh/t",), "warning", (1320, 420))
    assert s.replace(port=9001).tables == s.tables


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[node]]\nname = "A"\n', "name and log are required"),
        ('[[node]]\nname = "A"\nlog = "/x"\nextra = 1\n', "unknown key(s) extra"),
        ('[[node]]\nname = "A"\nlog = "/x"\n[[node]]\nname = "A"\nlog = "/y"\n', "used twice: A"),
        ('[[node]]\nname = "A:B"\nlog = "/x"\n', "must not contain ':'"),
        ('[[notify]]\nurls = []\n', "non-empty list"),
        ('[[notify]]\nurls = ["x://"]\nmin_severity = "loud"\n', "min_severity must be"),
        ('[[notify]]\nurls = ["x://"]\nquiet_hours = "22-7"\n', "HH:MM-HH:MM"),
        ('node = "A"\n', "array of tables"),
    ],
)
def test_bad_tables_are_one_clear_line(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(SettingsError) as err:
        load_settings(path, environ={})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_quiet_hours() -> None:
    night = parse_quiet_hours("22:00-07:00")
    assert [in_quiet_hours(m, night) for m in (1319, 1320, 0, 419, 420)] == [False, True, True, True, False]
    lunch = parse_quiet_hours("12:00-13:30")
    assert [in_quiet_hours(m, lunch) for m in (719, 720, 809, 810)] == [False, True, True, False]
    assert not in_quiet_hours(5, None)
    with pytest.raises(ConfigTableError):
        parse_quiet_hours("10:00-10:00")
    assert parse_tables({}, "x").nodes == ()


def cond(severity: str, key: str, kind: str) -> AlertCondition:
    return AlertCondition("N", kind, key, severity, f"{severity} title", "msg")  # type: ignore[arg-type]


async def test_routes_by_severity_and_quiet_hours(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[notify]]\nurls = ["json://a"]\nmin_severity = "critical"\n'
                    '[[notify]]\nurls = ["json://b"]\nquiet_hours = "22:00-07:00"\n')  # fmt: skip
    settings = load_settings(path, environ={}).replace(db_path=str(tmp_path / "n.db"))
    sent: dict[str, list[tuple[str, str]]] = {"critical-only": [], "night-quiet": []}

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def send(title: str, body: str, severity: str) -> bool:
            sent[name].append((title, severity))
            return True
        return send

    minute = [23 * 60]  # 23:00 local: the second route is quiet
    now = [1000.0]
    with Store(settings.db_path) as store:
        bus = Bus()
        engine = AlertEngine(settings, store, bus, clock=lambda: now[0])
        notifier = Notifier(settings, store, bus, clock=lambda: now[0],
                            open_alerts=engine.open_alerts,
                            route_senders=[recorder("critical-only"), recorder("night-quiet")],
                            minute_of_day=lambda _t: minute[0])  # fmt: skip
        await engine.start()
        await notifier.start()
        try:
            await engine.evaluate("N", "disk_usage", [cond("warning", "w", "disk_usage")], now[0])
            await engine.evaluate("N", "audit", [cond("critical", "c", "audit")], now[0])
            await notifier.drain()
            # warning: not for the critical-only route, waits out the night on the other;
            # critical: both routes, quiet hours or not.
            assert sent["critical-only"] == [("CRITICAL: critical title", "critical")]
            assert sent["night-quiet"] == [("CRITICAL: critical title", "critical")]
            assert await notifier.flush_deferred(now[0]) == 0  # still quiet
            minute[0] = 7 * 60
            assert await notifier.flush_deferred(now[0]) == 1
            assert sent["night-quiet"][-1] == ("WARNING: warning title", "warning")
            # A warning that fires and clears during the night is never sent.
            minute[0] = 23 * 60
            await engine.evaluate("N", "latency", [cond("warning", "w2", "latency")], now[0])
            await notifier.drain()
            await engine.evaluate("N", "latency", [], now[0])
            await notifier.drain()
            minute[0] = 8 * 60
            assert await notifier.flush_deferred(now[0]) == 0
            assert len(sent["night-quiet"]) == 2
        finally:
            await notifier.stop()
            await engine.stop()


async def test_notify_test_reports_per_url(tmp_path: Path) -> None:
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/broken", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    config = tmp_path / "c.toml"
    config.write_text(f'notify_urls = ["json://127.0.0.1:{port}/hook"]\n'
                      f'[[notify]]\nurls = ["json://127.0.0.1:{port}/broken", "nonsense"]\n')  # fmt: skip
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "storj_monitor", "notify-test", "--config", str(config),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await runner.cleanup()
    lines = out.decode().splitlines()
    assert proc.returncode == 1, err.decode()
    assert lines[0].startswith("delivered") and "json://..." in lines[0]
    assert lines[1].startswith("FAILED") and "did not accept" in lines[1]
    assert lines[2].startswith("FAILED") and "not understood" in lines[2]
    assert len(received) == 1 and received[0]["title"] == "storj_monitor: test notification"
    assert str(port) not in out.decode()  # URLs are shown without their secrets
    assert defaults().notify_urls == []
