"""One table of thresholds, built from Settings, that drives the rules, payloads and the page.

Each row: name, label, unit, warning, critical, which way is bad (``above`` for disk use and
latency, ``below`` for scores and days until full) and Storj's own limit where the network has
one (disqualification below 96 % audit score, suspension below 60 %). The alert rules read
their limits here, the ``init`` message sends the table (``thresholds``) and the dashboard
colours its gauges from it, so a configured STORAGE_WARNING_PERCENT=70 turns the alert and the
gauge amber at the same 70 %.

Comparisons are strict (warning when the value is *above* warning / *below* warning), the same
in Python (:meth:`Threshold.level`) and in the page (``levelOf`` in static/js/format.js).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from storj_monitor.settings import Settings

Level = Literal["ok", "warning", "critical", "unknown"]
Severity = Literal["warning", "critical"]
Direction = Literal["above", "below"]

#: Storj's own limits (percent): the satellites disqualify / suspend below these.
#: Success rates (percent) the page colours amber / red; audits are held to a higher standard
#: because every failed audit costs reputation. Display only: no alert reads them.
SUCCESS_RATE_WARNING, SUCCESS_RATE_CRITICAL = 95.0, 85.0
AUDIT_SUCCESS_RATE_WARNING, AUDIT_SUCCESS_RATE_CRITICAL = 99.5, 98.0

AUDIT_DQ_PERCENT = 96.0
SUSPENSION_PERCENT = 60.0
ONLINE_SUSPENSION_PERCENT = 60.0


@dataclass(frozen=True, slots=True)
class Threshold:
    name: str
    label: str
    unit: str  # "%", "days", "ms"
    warning: float
    critical: float
    direction: Direction
    network_limit: float | None = None
    #: How far back past ``warning`` the value must go before an open alert resolves (same
    #: unit): a value hovering at the threshold keeps one alert instead of one per flap.
    hysteresis: float = 0.0

    def level(self, value: float | None) -> Level:
        """``critical``/``warning`` past the limits (strictly), ``ok``, or ``unknown``."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "unknown"
        if self.direction == "above":
            if value > self.critical:
                return "critical"
            return "warning" if value > self.warning else "ok"
        if value < self.critical:
            return "critical"
        return "warning" if value < self.warning else "ok"

    def limit(self, level: Level) -> float:
        return self.critical if level == "critical" else self.warning

    def breach(self, value: float | None) -> tuple[Severity, float] | None:
        """``(severity, the limit crossed)`` when ``value`` is past warning, else None: the
        one shape every threshold rule starts from."""
        level = self.level(value)
        if level == "critical" or level == "warning":
            return level, self.limit(level)
        return None

    def holds(self, value: float | None) -> bool:
        """Not past ``warning``, but within the hysteresis band next to it."""
        if value is None or self.hysteresis <= 0 or self.breach(value) is not None:
            return False
        if self.direction == "above":
            return value > self.warning - self.hysteresis
        return value < self.warning + self.hysteresis


class ThresholdTable(Mapping[str, Threshold]):
    """Thresholds by name: ``disk_usage``, ``disk_forecast``, ``latency``, ``audit_score``,
    ``suspension_score``, ``online_score``."""

    def __init__(self, rows: list[Threshold]) -> None:
        self._rows = {t.name: t for t in rows}

    def __getitem__(self, name: str) -> Threshold:
        return self._rows[name]

    def __iter__(self) -> Any:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def payload(self) -> dict[str, dict[str, Any]]:
        """The ``thresholds`` table of the ``init`` message (JSON)."""
        return {name: asdict(t) for name, t in self._rows.items()}


def thresholds_from(settings: Settings) -> ThresholdTable:
    s = settings
    score_band = float(s.score_hysteresis_percent)
    return ThresholdTable(
        [
            Threshold("disk_usage", "Disk used", "%", float(s.storage_warning_percent),
                      float(s.storage_critical_percent), "above", None,
                      float(s.storage_hysteresis_percent)),
            Threshold("disk_forecast", "Days until full", "days",
                      float(s.storage_forecast_warning_days),
                      float(s.storage_forecast_critical_days), "below", None,
                      float(s.storage_forecast_hysteresis_days)),
            Threshold("latency", "p99 latency", "ms", float(s.latency_warning_ms),
                      float(s.latency_critical_ms), "above", None,
                      float(s.latency_hysteresis_ms)),
            Threshold("audit_score", "Audit Score", "%", float(s.audit_score_warning),
                      float(s.audit_score_critical), "below", AUDIT_DQ_PERCENT, score_band),
            Threshold("suspension_score", "Suspension Score", "%",
                      float(s.suspension_score_warning), float(s.suspension_score_critical),
                      "below", SUSPENSION_PERCENT, score_band),
            Threshold("online_score", "Online Score", "%", float(s.online_score_warning),
                      float(s.online_score_critical), "below", ONLINE_SUSPENSION_PERCENT,
                      score_band),
            Threshold("success_rate", "Success rate", "%", SUCCESS_RATE_WARNING,
                      SUCCESS_RATE_CRITICAL, "below"),
            Threshold("audit_success_rate", "Audit success rate", "%",
                      AUDIT_SUCCESS_RATE_WARNING, AUDIT_SUCCESS_RATE_CRITICAL, "below"),
        ]
    )  # fmt: skip
