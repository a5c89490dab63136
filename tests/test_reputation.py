"""Reputation arithmetic and reputation alert rules (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storj_monitor.alerts.reputation_rules import reputation_conditions, score_conditions
from storj_monitor.analytics.reputation import (
    audits_until_disqualification,
    classify,
    score_after_failures,
)
from storj_monitor.model import SatelliteScore
from storj_monitor.settings import defaults
from storj_monitor.thresholds import thresholds_from
from storj_monitor.web.presentation import worst

S = defaults()
TH = thresholds_from(S)


def score(**kw: object) -> SatelliteScore:
    base: dict[str, object] = {
        "timestamp": 0.0,
        "node_name": "My-Node",
        "satellite_id": "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S",
        "satellite_name": "us1.storj.io:7777",
        "audit_score": 100.0,
        "suspension_score": 100.0,
        "online_score": 99.9,
    }
    base.update(kw)
    return SatelliteScore(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pct", "left"),
    [(100.0, 40), (99.0, 30), (96.5, 5), (96.0, 0), (95.0, 0), (96.1, 1), (None, None)],
)
def test_audits_until_disqualification(pct: float | None, left: int | None) -> None:
    assert audits_until_disqualification(pct) == left


@given(st.floats(min_value=96.0001, max_value=100.0))
def test_survivable_failures_is_the_exact_boundary(pct: float) -> None:
    n = audits_until_disqualification(pct)
    assert n is not None
    assert score_after_failures(pct, n) >= 96.0
    assert score_after_failures(pct, n + 1) < 96.0


def test_one_failure_costs_a_tenth_of_a_point_near_one() -> None:
    assert 100 - score_after_failures(100.0, 1) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (99.0, "ok"),
        (98.0, "ok"),
        (97.9, "warning"),
        (96.5, "warning"),
        (96.49, "critical"),
        (None, "unknown"),
    ],
)
def test_classify_audit(value: float | None, expected: str) -> None:
    assert classify(value, 98.0, 96.5) == expected


def test_worst() -> None:
    assert worst(["ok", "warning", "unknown"]) == "warning"
    assert worst(["unknown"]) == "unknown"
    assert worst([]) == "unknown"


def test_healthy_scores_raise_nothing() -> None:
    assert score_conditions(score(), TH) == []


def test_audit_warning_and_critical() -> None:
    (warn,) = score_conditions(score(audit_score=97.5), TH)
    assert warn.severity == "warning" and warn.kind == "audit_score"
    assert warn.key == "audit_score:12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"
    assert warn.title == "Low Audit Score on My-Node (us1.storj.io:7777)"
    assert "97.50%" in warn.message and "threshold: 98.0%" in warn.message
    assert warn.details["failed_audits_until_disqualification"] == 15
    (crit,) = score_conditions(score(audit_score=96.2), TH)
    assert (
        crit.severity == "critical"
        and crit.title == "Critical Audit Score on My-Node (us1.storj.io:7777)"
    )
    assert "2 more failed audit(s) would disqualify the node." in crit.message


def test_suspension_online_and_flags() -> None:
    conds = score_conditions(
        score(suspension_score=70.0, online_score=60.0, suspended=True, disqualified=True), TH
    )
    kinds = {c.kind: c.severity for c in conds}
    assert kinds == {
        "disqualified": "critical",
        "suspended": "critical",
        "suspension_score": "warning",
        "online_score": "critical",
    }


def test_thresholds_are_configurable() -> None:
    strict = S.replace(audit_score_warning=99.95, audit_score_critical=99.0)
    (c,) = score_conditions(score(audit_score=99.9), thresholds_from(strict))
    assert c.severity == "warning"


def test_conditions_over_satellites() -> None:
    conds = reputation_conditions(
        [
            score(),
            score(
                satellite_id="1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE", audit_score=97.0
            ),
        ],
        TH,
    )
    assert [c.key for c in conds] == [
        "audit_score:1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE"
    ]
