"""Re-take the README screenshot: run the demo in a temporary directory, open the dashboard in
Debian's Chromium (Playwright), save docs/screenshots/dashboard.png.

    python docs/screenshots/make_screenshot.py [--theme dark|light] [--width 1400]

Needs /usr/bin/chromium and the test extras (playwright); downloads nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from storj_monitor.demo.runner import Demo
from storj_monitor.settings import defaults

OUT = Path(__file__).resolve().parent / "dashboard.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--theme", choices=["dark", "light"], default="dark")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument(
        "--scale",
        type=float,
        default=0.6,
        help="device scale factor (keeps the README image under 300 KB)",
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    with tempfile.TemporaryDirectory(prefix="storj_monitor_shot_") as tmp:
        demo = Demo(defaults().replace(port=0), Path(tmp))
        asyncio.run_coroutine_threadsafe(demo.start(), loop).result(120)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(
                    viewport={"width": args.width, "height": 900},
                    color_scheme=args.theme,
                    device_scale_factor=args.scale,
                )
                page.set_default_timeout(60_000)
                page.goto(demo.url)
                page.wait_for_selector('#conn[data-state="connected"]')
                for sel in ('[data-testid="ops-chart"] canvas', '[data-testid="storage-chart"] canvas',
                            '[data-testid="reputation-table"]', '[data-testid="world-map"] path.country',
                            '[data-testid="latency-percentiles"]', '[data-testid="active-alerts"]'):  # fmt: skip
                    page.locator(sel).first.wait_for()
                # The history is read and the live push is flowing.
                page.locator('[data-testid="country-list"] li').first.wait_for()
                page.locator('[data-testid="error-categories"] li').first.wait_for()
                page.wait_for_function(
                    "parseFloat(document.querySelector('[data-testid=ops-rate] .kpi-value')"
                    "?.textContent) > 5"
                )
                page.reload()
                page.wait_for_selector('#conn[data-state="connected"]')
                for sel in ('[data-testid="ops-chart"] canvas', '[data-testid="latency-percentiles"]',
                            '[data-testid="country-list"] li', '[data-testid="storage-chart"] canvas'):  # fmt: skip
                    page.locator(sel).first.wait_for()
                page.screenshot(path=str(args.out), full_page=True)
                browser.close()
        finally:
            asyncio.run_coroutine_threadsafe(demo.stop(), loop).result(60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
    print(f"saved {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
