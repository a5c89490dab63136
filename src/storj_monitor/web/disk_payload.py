"""What ``storage_data`` adds to each node beyond its snapshot and forecast:

- ``disk_comparison``: the node API, the satellites' paid bytes and the filesystem side by side
  with the named gaps (``services.disk_views``), or None when nothing is known yet;
- ``unknown``: for a node without the node API and without a configured allocation, the
  sentence saying what the log cannot tell (its free space and trend are still there).
"""

from __future__ import annotations

from typing import Any

from storj_monitor.services.runtime import Runtime

UNKNOWN_WITHOUT_API = "used/total unknown without the node API (set allocation)"


def add_disk_fields(runtime: Runtime, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        name = item.get("node_name")
        disks = runtime.disks
        item["disk_comparison"] = (
            disks.comparison(name) if disks and isinstance(name, str) else None
        )
        if item.get("source") == "log" and item.get("total_bytes") is None:
            item["unknown"] = UNKNOWN_WITHOUT_API
    return items
