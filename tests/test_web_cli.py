"""``storj_monitor --node ... --port 0`` as a real process: the bound port is logged, the
dashboard, API and WebSocket answer there, and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

pytestmark = pytest.mark.timeout(60)


async def _read_port(proc: asyncio.subprocess.Process) -> tuple[int, list[str]]:
    assert proc.stderr is not None
    seen: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line, "the monitor exited before it served:\n" + "".join(seen)
        seen.append(line)
        match = re.search(r"dashboard at http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return int(match.group(1)), seen


async def test_cli_serves_on_an_ephemeral_port(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "storj_monitor",
        "--node", f"My-Node:{log}:http://127.0.0.1:9",
        "--db", str(tmp_path / "cli.db"), "--host", "127.0.0.1", "--port", "0",
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    try:
        port, _ = await _read_port(proc)
        assert port > 0
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/healthz") as resp:
                assert resp.status == 200
                assert (await resp.json())["nodes"] == ["My-Node"]
            async with session.get(base + "/") as resp:
                assert resp.status == 200
            ws = await session.ws_connect(base + "/ws")
            init = await ws.receive_json()
            assert init["type"] == "init" and init["node_names"] == ["My-Node"]
            await ws.send_json({"type": "get_traffic_stats", "view": ["My-Node"], "hours": 24})
            while (reply := await ws.receive_json())["type"] == "stats_update":
                pass
            assert reply["type"] == "traffic_stats"
            await ws.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0


def test_cli_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "storj_monitor",
             "--node", f"My-Node:{log}:http://127.0.0.1:9",
             "--db", str(tmp_path / "cli.db"), "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1
    assert "storj_monitor: error:" in done.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
