"""The fake node's money replies agree with our formulas, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from storj_monitor.analytics.earnings import project_month, total
from storj_monitor.demo.fake_node_api import SATELLITES, FakeNodeApi, scenario
from storj_monitor.payout_replies import (
    held_history_from_api,
    node_estimate_from_api,
    payout_history_from_api,
    periods_from_api,
    satellite_month_from_api,
)

NOW = datetime(2026, 12, 10, 15, 30, tzinfo=UTC).timestamp()
SALTLAKE = "1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"


async def _get(session: aiohttp.ClientSession, url: str) -> object:
    async with session.get(url) as r:
        assert r.status == 200, url
        return await r.json()


@pytest.mark.parametrize("disqualify", [False, True])
async def test_our_month_matches_the_fakes_own_estimate(disqualify: bool) -> None:
    state = scenario("healthy")
    state.now = NOW
    if disqualify:
        state.satellites[SALTLAKE].disqualified = "2026-12-02T00:00:00Z"
    async with FakeNodeApi(state) as api, aiohttp.ClientSession() as s:
        sats = [
            satellite_month_from_api(
                await _get(s, f"{api.url}/api/sno/satellite/{sid}"),
                satellite_name=name,
                disqualified=bool(state.satellites[sid].disqualified),
            )
            for sid, name in SATELLITES.items()
        ]
        estimate = node_estimate_from_api(await _get(s, f"{api.url}/api/sno/estimated-payout"))
    earned, proj = project_month(sats, "2026-12", now=NOW)
    net = total(earned)["net_usd"]
    assert estimate.current_month_net_usd is not None and estimate.current_month_net_usd > 1.0
    assert net == pytest.approx(estimate.current_month_net_usd, rel=0.01)
    held = total(earned)["held_usd"]
    assert held == pytest.approx(estimate.current_month_held_usd, rel=0.01)
    # saltlake joined 2026-09-10: 3 months → 50 % held, unless it disqualified the node
    assert (held > 0) is not disqualify
    assert proj.elapsed_hours == pytest.approx(9 * 24 + 15.5)
    assert proj.month_end_net_usd > net


async def test_payout_history_endpoints() -> None:
    state = scenario("healthy")
    state.now = NOW
    async with FakeNodeApi(state) as api, aiohttp.ClientSession() as s:
        periods = periods_from_api(await _get(s, f"{api.url}/api/heldamount/periods"))
        rows = payout_history_from_api(
            "2026-11", await _get(s, f"{api.url}/api/heldamount/payout-history/2026-11")
        )
        returned = payout_history_from_api(
            "2025-12", await _get(s, f"{api.url}/api/heldamount/payout-history/2025-12")
        )
        held = held_history_from_api(await _get(s, f"{api.url}/api/heldamount/held-history"))
        async with s.get(f"{api.url}/api/heldamount/payout-history/2026-1x") as bad:
            assert bad.status == 400
    assert periods[0] == "2024-09" and periods[-1] == "2026-11"
    assert {r.satellite_id for r in rows} == set(SATELLITES)
    for r in rows:
        assert r.paid_usd == pytest.approx(r.earned_usd - r.held_usd + r.disposed_usd, abs=1e-6)
    saltlake = next(r for r in rows if r.satellite_id == SALTLAKE)
    assert (saltlake.age_months, saltlake.held_percent) == (3, 75)  # joined 2026-09
    assert saltlake.held_usd == pytest.approx(saltlake.earned_usd * 0.75, abs=1e-6)
    # us1 joined 2024-09: its 16th month (2025-12) returns half of all it held before.
    us1 = next(h for h in held if h.satellite_id.startswith("12Eay"))
    us1_dec = next(r for r in returned if r.satellite_id.startswith("12Eay"))
    assert us1_dec.disposed_usd == pytest.approx(us1.total_held_usd / 2, abs=1e-6)
    assert us1.total_disposed_usd == pytest.approx(us1_dec.disposed_usd)
    sl_held = next(h for h in held if h.satellite_id == SALTLAKE)
    assert sl_held.total_held_usd > 0 and sl_held.total_disposed_usd == 0.0
