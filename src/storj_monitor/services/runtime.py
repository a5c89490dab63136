"""The running parts of one monitor, built once and handed to whoever reads them.

The :class:`~storj_monitor.services.monitor.Monitor` builds a frozen :class:`Runtime` in one
place; the web layer (handlers, the ``init`` message), the metrics collector and the demo read
it. Everything in it is typed: renaming an attribute is a type error, not a silently zeroed
metric, and nothing looks services up by ``hasattr``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from storj_monitor.model import NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import ApiState, NodeCoordinator, api_state
from storj_monitor.services.disk_views import DiskViews
from storj_monitor.services.earnings_recorder import EarningsRecorder
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.services.maintenance_watch import MaintenanceWatch
from storj_monitor.services.node_watch import NodeWatch
from storj_monitor.settings import Settings
from storj_monitor.store.database import Store
from storj_monitor.store.snapshots import ForecastCache
from storj_monitor.thresholds import ThresholdTable


@dataclass(frozen=True, slots=True)
class Runtime:
    """``clock`` returns UTC unix seconds; ``coordinators`` only holds nodes with an API."""

    settings: Settings
    store: Store
    bus: Bus
    engine: AlertEngine
    nodes: tuple[NodeSpec, ...]
    coordinators: Mapping[str, NodeCoordinator]
    ingests: Mapping[str, NodeIngest]
    thresholds: ThresholdTable
    clock: Callable[[], float]
    forecasts: ForecastCache = field(default_factory=ForecastCache)
    #: Log file state, silence and restart alerts; start times (None in some tests).
    health: NodeWatch | None = None
    #: Money listener per node with an API (payout history import, this month's figures).
    earnings: Mapping[str, EarningsRecorder] = field(default_factory=dict)
    #: Background-job runs and their alerts; the three views of each disk (None in tests
    #: that build a Runtime without them).
    maintenance: MaintenanceWatch | None = None
    disks: DiskViews | None = None

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def api_state(self, node_name: str) -> ApiState:
        """Whether the node API covers a node now (:func:`coordinator.api_state`)."""
        return api_state(self.coordinators, node_name)
