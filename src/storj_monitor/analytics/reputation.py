"""Reputation arithmetic (pure): how many failed audits a node can still survive.

The satellite keeps a beta reputation per node with forgetting factor λ = 0.999: after each
audit ``α ← λα + w(1+v)/2``, ``β ← λβ + w(1−v)/2`` (v = +1 success, −1 failure, w = 1) and the
audit score is ``α / (α + β)``. Once a node has a history, α + β sits at its steady state
``w / (1 − λ) = 1000``, so one failure multiplies the score by exactly λ. After ``n``
consecutive failures the score is ``λⁿ × score``; the node is disqualified below 0.96.

Scores here are percent (0..100), as everywhere outside the API client.
"""

from __future__ import annotations

import math
from typing import Literal

from storj_monitor.thresholds import (  # noqa: F401 (the satellites' limits, defined there)
    AUDIT_DQ_PERCENT,
    ONLINE_SUSPENSION_PERCENT,
    SUSPENSION_PERCENT,
    Threshold,
)

AUDIT_LAMBDA = 0.999

Status = Literal["ok", "warning", "critical", "unknown"]


def score_after_failures(score_percent: float, failures: int, lam: float = AUDIT_LAMBDA) -> float:
    """Audit score (percent) after ``failures`` consecutive failed audits, in steady state."""
    return score_percent * lam**failures


def audits_until_disqualification(
    score_percent: float | None,
    *,
    lam: float = AUDIT_LAMBDA,
    limit_percent: float = AUDIT_DQ_PERCENT,
) -> int | None:
    """How many consecutive failed audits the node survives: the largest ``n`` with
    ``λⁿ × score ≥ limit``. 0 when the score is already at or below the limit (one more
    failure disqualifies); None when the score is unknown.

    With a perfect score (100 %) this is 40: ln(0.96) / ln(0.999) = 40.8.
    """
    if score_percent is None or math.isnan(score_percent):
        return None
    if score_percent <= limit_percent:
        return 0
    n = math.floor(math.log(limit_percent / score_percent) / math.log(lam))
    # Guard against rounding in the logarithms: make the answer exact.
    while n > 0 and score_after_failures(score_percent, n, lam) < limit_percent:
        n -= 1
    while score_after_failures(score_percent, n + 1, lam) >= limit_percent:
        n += 1
    return max(n, 0)


def classify(score_percent: float | None, warning: float, critical: float) -> Status:
    """``critical`` below ``critical``, ``warning`` below ``warning``, else ``ok`` (the
    threshold table's comparison, :meth:`storj_monitor.thresholds.Threshold.level`)."""
    return Threshold("score", "score", "%", warning, critical, "below").level(score_percent)
