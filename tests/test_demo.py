"""``storj_monitor --demo`` end to end (a real child process, its temp dir inside tmp_path), and
the pieces it is made of: the live log simulator and the storage history."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import free_port, wait_until
from storj_monitor.demo.simulator import LogSimulator, storage_history
from storj_monitor.logs.parser import LineParser


def _get(base: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def test_demo_fills_every_card_within_a_minute_and_cleans_up(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "storj_monitor", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    out: list[str] = []
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        for line in proc.stdout:  # until the URL is printed
            out.append(line)
            if "Dashboard:" in line:
                break
        url = re.search(r"Dashboard: (\S+)", "".join(out))
        assert url, "".join(out)
        base = url.group(1).rstrip("/")
        assert base == f"http://127.0.0.1:{port}"
        demo_dirs = list(tmp_path.glob("storj_monitor_demo_*"))
        assert len(demo_dirs) == 1 and (demo_dirs[0] / "node.log").stat().st_size > 0

        def filled() -> bool:
            traffic = (_get(base, "/api/traffic?hours=1") or {}).get("data") or {}
            storage = (_get(base, "/api/storage") or {}).get("data") or []
            reputation = (_get(base, "/api/reputation") or {}).get("data") or []
            alerts = ((_get(base, "/api/alerts") or {}).get("data") or {}).get("active") or []
            geo = ((_get(base, "/api/geo?hours=24") or {}).get("data") or {}).get("countries")
            earnings = (_get(base, "/api/earnings") or {}).get("data") or [{}]
            payouts = (_get(base, "/api/earnings/history") or {}).get("data") or []
            return bool(
                traffic.get("total_operations", 0) > 1000
                and traffic.get("errors")
                and storage
                and storage[0]["forecast_status"] == "filling"
                and storage[0]["days_until_full"] is not None
                and len(reputation) == 4
                and alerts
                and geo
                and earnings[0].get("source") == "api"
                and len(earnings[0].get("satellites") or []) == 4
                and earnings[0]["total"]["net_usd"] > 0
                and earnings[0].get("node_estimate")
                and len({r["period"] for r in payouts}) == 12
            )

        wait_until(filled, timeout=60, step=0.5)
        print(f"\ndemo: every card's data present after {time.monotonic() - started:.1f} s")
        nodes = _get(base, "/api/nodes")["data"]
        assert nodes[0]["name"] == "Demo-Node" and nodes[0]["has_api"]
        # Live: the log keeps growing and the live push sees it.
        live = _get(base, "/api/traffic?hours=1")["data"]["total_operations"]
        wait_until(lambda: _get(base, "/api/traffic?hours=1")["data"]["total_operations"] > live)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
        out.append(rest or "")
    assert proc.returncode == 0, "".join(out)
    assert "temporary files removed" in "".join(out)
    assert not list(tmp_path.glob("storj_monitor_demo_*")), "the demo left its temp dir"
    assert "Traceback" not in "".join(out), "".join(out)


def test_simulator_backfills_then_writes_live_lines_in_time_order(tmp_path: Path) -> None:
    now = [1_767_600_000.0]
    ticks: list[float] = []
    sim = LogSimulator(
        tmp_path / "node.log",
        seed=3,
        ops_per_second=20,
        backfill_hours=0.5,
        audit_failure_every=120,
        available_bytes=480_000_000_000,
        clock=lambda: now[0],
        on_tick=ticks.append,
    )
    written = sim.backfill()
    assert written > 0.5 * 3600 * 20  # at least one line per operation
    lines = (tmp_path / "node.log").read_text().splitlines()
    stamps = [line[:20] for line in lines]
    assert stamps == sorted(stamps)
    assert stamps[0] >= "2026-01-05T07:30:00Z" and stamps[-1] < "2026-01-05T08:00:00Z"
    assert sum("GET_AUDIT" in line and "file does not exist" in line for line in lines) >= 5
    spaces = [
        int(m.group(1))
        for m in re.finditer(r'(?:Available Space|available_space)": (\d+)', "\n".join(lines))
    ]
    assert spaces and 470e9 < spaces[-1] <= 480e9
    parser = LineParser("N")
    parsed = [parser.parse(line) for line in lines[:2000]]
    assert all(p is not None for p in parsed)

    now[0] += 10.0
    more = sim.step()
    assert 100 < more < 600 and ticks == [10.0]
    assert sim.step() == 0  # no time passed, nothing written
    tail = (tmp_path / "node.log").read_text().splitlines()[-more:]
    assert all(line[:20] >= "2026-01-05T08:00:00Z" for line in tail)


def test_storage_history_ends_at_the_current_state_and_grows_linearly() -> None:
    now = 1_767_600_000.0
    snaps = storage_history(
        "N",
        now=now,
        total_bytes=2_000_000_000_000,
        used_bytes=1_500_000_000_000,
        trash_bytes=20_000_000_000,
        growth_bytes_per_day=100e9,
    )
    assert len(snaps) == 7 * 48
    assert snaps[0].timestamp == pytest.approx(now - 7 * 86400)
    assert snaps[-1].timestamp == now - 1800
    assert all(a.timestamp < b.timestamp for a, b in itertools.pairwise(snaps))
    for s in snaps:
        assert s.used_bytes + s.available_bytes == s.total_bytes
        assert s.source == "api"
    grown = snaps[-1].used_bytes - snaps[0].used_bytes
    assert grown == pytest.approx(100e9 * (7 - 1 / 48), rel=0.05)
