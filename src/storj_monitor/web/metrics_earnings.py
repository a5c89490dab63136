"""The earnings family of /metrics, read at scrape time from each node's money listener.

``storj_monitor_earnings_usd{node, satellite, kind}`` (gauge, USD, this UTC month so far):
``kind`` is ``gross``, ``held`` or ``net`` per satellite (its id), and for ``satellite="total"``
also ``projection`` (the month-end net). Only nodes whose API has answered are included: the
figures come from the replies the node coordinator last fetched (no store read at scrape time).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from storj_monitor.web.context import ApiContext

KINDS = {"gross": "gross_usd", "held": "held_usd", "net": "net_usd"}


def earnings_families(ctx: ApiContext) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "storj_monitor_earnings_usd",
        "Earnings this UTC month so far in USD (kind gross, held, net; projection = month-end net)",
        labels=["node", "satellite", "kind"],
    )
    for name, recorder in ctx.runtime.earnings.items():
        node = recorder.current
        if node is None:
            continue
        for sat in node["satellites"]:
            for kind, key in KINDS.items():
                family.add_metric([name, sat["satellite_id"], kind], float(sat[key] or 0.0))
        for kind, key in KINDS.items():
            family.add_metric([name, "total", kind], float(node["total"][key]))
        if node.get("projection"):
            family.add_metric(
                [name, "total", "projection"], float(node["projection"]["month_end_net_usd"])
            )
    yield family
