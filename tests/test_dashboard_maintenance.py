"""The demo in a browser: the maintenance card lists the simulated filewalker and compaction
runs, and the Storage card shows the disk comparison (node API, satellites, filesystem) and
the per-satellite table, at desktop and phone width, with a clean console.

The demo runs as a real child process (``storj_monitor --demo``, its temp dir in tmp_path);
headless Debian Chromium via Playwright."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from dashboard_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, free_port, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is not installed (scripts/test.sh installs it)",
    ),
]

sync_api = pytest.importorskip("playwright.sync_api")


def _get(base: str, path: str) -> Any:
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return json.loads(r.read())
    except OSError:
        return None


def test_demo_shows_maintenance_runs_and_disk_comparison(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "storj_monitor", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    out: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line)
            if "Dashboard:" in line:
                break
        url = re.search(r"Dashboard: (\S+)", "".join(out))
        assert url, "".join(out)
        base = url.group(1).rstrip("/")

        def runs() -> list[dict[str, Any]]:
            data = (_get(base, "/api/maintenance") or {}).get("data") or []
            rows = data[0]["runs"] if data else []
            tasks = {r["task"] for r in rows}
            done = any(r["task"] == "compaction" and r["status"] == "completed" for r in rows)
            return rows if {"used_space", "compaction"} <= tasks and done else []

        rows = wait_until(runs, timeout=60, step=0.5)
        compaction = next(r for r in rows if r["task"] == "compaction" and r["status"] == "completed")
        assert compaction["store"] in ("s0", "s1") and compaction["started_at"].endswith("Z")
        # "reclaimed bytes": "2.5 GiB" of the hashtbl line, in bytes (tenths of a GiB)
        assert compaction["bytes"] > 0 and compaction["pieces"] is not None
        tenths = compaction["bytes"] / 2**30 * 10
        assert abs(tenths - round(tenths)) < 1e-6

        def comparison() -> Any:
            storage = (_get(base, "/api/storage") or {}).get("data") or []
            c = storage[0].get("disk_comparison") if storage else None
            return c if c and c["node"] and c["filesystem"] else None

        c = wait_until(comparison, timeout=60, step=0.5)
        assert c["node_source"] == "api" and c["filesystem"]["total"] > 0

        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for width in (1400, 375):
                    context = browser.new_context(viewport={"width": width, "height": 900})
                    page = context.new_page()
                    page.set_default_timeout(30_000)
                    console: list[str] = []
                    page.on("console", lambda m, c=console: c.append(f"{m.type}: {m.text}"))
                    page.on("pageerror", lambda e, c=console: c.append(f"pageerror: {e}"))
                    page.goto(base + "/")
                    page.wait_for_selector('#conn[data-state="connected"]')
                    table = page.locator('#card-maintenance [data-testid="maintenance-table"]')
                    table.wait_for()
                    page.wait_for_function(
                        "() => document.querySelectorAll('#card-maintenance tbody tr').length >= 2"
                    )
                    text = table.inner_text()
                    if width > 600:
                        assert "hashstore compaction" in text and "used-space filewalker" in text
                    else:  # short job names, the duration inside the status pill
                        assert "compaction" in text and "filewalker" in text and "✓" in text
                    pills = page.locator('#card-maintenance [data-testid="maintenance-status"]')
                    statuses = {pills.nth(i).get_attribute("data-status") for i in range(pills.count())}
                    assert statuses <= {"completed", "running", "failed", "interrupted"}
                    assert "completed" in statuses
                    running = page.locator('#card-maintenance [data-status="running"]')
                    for i in range(running.count()):
                        assert running.nth(i).inner_text().startswith("running for ")
                    disk = page.locator('#card-storage [data-testid="disk-comparison"]')
                    disk.wait_for()
                    disk_text = disk.inner_text()
                    assert "Filesystem" in disk_text and "Node API" in disk_text
                    assert "Gaps:" in disk_text
                    page.locator('#card-storage [data-testid="satellite-storage"] tbody tr').first.wait_for()
                    # The card fits the screen at phone width too (its table scrolls inside it).
                    box = page.locator("#card-maintenance").bounding_box()
                    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    page.locator("#card-maintenance").screenshot(
                        path=str(SCREENSHOTS / f"maintenance-{width}.png")
                    )
                    page.locator("#card-storage").screenshot(
                        path=str(SCREENSHOTS / f"storage-disk-{width}.png")
                    )
                    errors = [m for m in console
                              if m.startswith(("error", "pageerror")) or "failed" in m]  # fmt: skip
                    assert not errors, errors
                    context.close()
            finally:
                browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
        out.append(rest or "")
    assert proc.returncode == 0, "".join(out)
    assert "Traceback" not in "".join(out), "".join(out)
