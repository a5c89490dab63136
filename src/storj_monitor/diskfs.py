"""The filesystem's view of a node's disk: ``statvfs`` of its data directory (adapter).

Bytes: ``total`` the filesystem's size, ``free`` what an unprivileged process may still write
(``f_bavail``, the space the node can use; root's reserve left out), ``used`` the blocks in
use. Raises OSError for a missing or unreadable path (the caller logs it once).
"""

from __future__ import annotations

import os

from storj_monitor.analytics.node_health import DiskView


def filesystem_view(path: str) -> DiskView:
    st = os.statvfs(path)
    size = st.f_frsize or st.f_bsize
    return DiskView(
        used=(st.f_blocks - st.f_bfree) * size,
        trash=None,
        free=st.f_bavail * size,
        total=st.f_blocks * size,
    )
