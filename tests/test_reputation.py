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


# -- exact boundaries: the float estimate is corrected both ways ------------------------------


@pytest.mark.parametrize(
    ("pct", "lam", "limit", "left"),
    [
        # λ¹ × 96.096… is exactly 96.0 in floats, but log() puts the estimate at 0: the
        # upward correction must find 1 (one failure leaves the node AT the limit, alive)
        (96.09609609609609, 0.999, 96.0, 1),
        (96.19228838448058, 0.999, 96.0, 2),
        # here log() overshoots to 4 while 0.9⁴ × 91.449… < 60: the downward one finds 3
        (91.44947416552354, 0.9, 60.0, 3),
        # exact powers: λⁿ × score == limit exactly counts as surviving (≥, not >)
        (100.0, 0.5, 25.0, 2),
        (100.0, 0.5, 12.5, 3),
        (80.0, 0.5, 60.0, 0),
    ],
)
def test_audits_until_disqualification_at_exact_float_boundaries(
    pct: float, lam: float, limit: float, left: int
) -> None:
    got = audits_until_disqualification(pct, lam=lam, limit_percent=limit)
    assert got == left
    assert score_after_failures(pct, left, lam) >= limit
    assert score_after_failures(pct, left + 1, lam) < limit


@pytest.mark.parametrize("limit", [96.0, 95.0])
def test_at_or_below_the_limit_nothing_is_left(limit: float) -> None:
    assert audits_until_disqualification(limit, limit_percent=limit) == 0
    assert audits_until_disqualification(limit - 1e-9, limit_percent=limit) == 0
    assert audits_until_disqualification(float("nan")) is None


@given(
    st.floats(min_value=1.0, max_value=100.0),
    st.sampled_from([0.5, 0.9, 0.99, 0.999]),
    st.floats(min_value=0.5, max_value=99.0),
)
def test_survivable_failures_exact_for_any_lambda_and_limit(
    pct: float, lam: float, limit: float
) -> None:
    n = audits_until_disqualification(pct, lam=lam, limit_percent=limit)
    assert n is not None and n >= 0
    if pct > limit:
        assert score_after_failures(pct, n, lam) >= limit
    assert score_after_failures(pct, n + 1, lam) < limit


def test_score_after_failures_is_lambda_to_the_n() -> None:
    assert score_after_failures(100.0, 0) == 100.0
    assert score_after_failures(100.0, 3, 0.5) == 12.5
    assert score_after_failures(80.0, 2) == 80.0 * 0.999**2


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["warning", "critical"], "critical"),
        (["critical", "warning"], "critical"),
        (["ok", "critical", "unknown"], "critical"),
        (["warning", "ok"], "warning"),
        (["ok", "warning"], "warning"),
        (["unknown", "ok"], "ok"),
        (["ok", "unknown"], "ok"),
        (["unknown", "unknown"], "unknown"),
    ],
)
def test_worst_ranks_critical_over_warning_over_ok_over_unknown(
    statuses: list, expected: str
) -> None:
    assert worst(statuses) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(65.0, "warning"), (64.99, "critical"), (80.0, "ok"), (79.99, "warning")],
)
def test_classify_is_strictly_below_at_equality(value: float, expected: str) -> None:
    assert classify(value, 80.0, 65.0) == expected
    assert classify(float("nan"), 80.0, 65.0) == "unknown"


# -- the reputation rules: every field a refactor must keep ------------------------------------

SAT = "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S"


def test_disqualified_and_suspended_conditions_exactly() -> None:
    dq, susp = score_conditions(score(disqualified=True, suspended=True), TH)
    assert (dq.node_name, dq.kind, dq.key, dq.severity) == (
        "My-Node",
        "disqualified",
        f"disqualified:{SAT}",
        "critical",
    )
    assert dq.title == "Node Disqualified on us1.storj.io:7777"
    assert dq.message == (
        "My-Node is disqualified on satellite us1.storj.io:7777. "
        "The held amount is lost for this satellite."
    )
    assert dq.details == {"satellite_id": SAT}
    assert (susp.node_name, susp.kind, susp.key, susp.severity) == (
        "My-Node",
        "suspended",
        f"suspended:{SAT}",
        "critical",
    )
    assert susp.title == "Node Suspended on us1.storj.io:7777"
    assert susp.message == (
        "My-Node is suspended on satellite us1.storj.io:7777: no new data until the scores recover."
    )
    assert susp.details == {"satellite_id": SAT}


def test_unnamed_satellite_is_labelled_by_its_id_prefix() -> None:
    (c,) = score_conditions(score(satellite_name=None, disqualified=True), TH)
    assert c.title == f"Node Disqualified on {SAT[:12]}"


@pytest.mark.parametrize(
    ("kind", "value", "severity", "threshold", "word", "label", "consequence"),
    [
        ("audit_score", 96.5, "warning", 98.0, "Low", "Audit Score", "disqualifies below 96%"),
        (
            "audit_score",
            96.49,
            "critical",
            96.5,
            "Critical",
            "Audit Score",
            "disqualifies below 96%",
        ),
        (
            "suspension_score",
            65.0,
            "warning",
            80.0,
            "Low",
            "Suspension Score",
            "suspends below 60%",
        ),
        (
            "suspension_score",
            64.9,
            "critical",
            65.0,
            "Critical",
            "Suspension Score",
            "suspends below 60%",
        ),
        ("online_score", 79.99, "warning", 80.0, "Low", "Online Score", "suspends below 60%"),
        ("online_score", 10.0, "critical", 65.0, "Critical", "Online Score", "suspends below 60%"),
    ],
)
def test_score_condition_fields_at_the_thresholds(
    kind: str,
    value: float,
    severity: str,
    threshold: float,
    word: str,
    label: str,
    consequence: str,
) -> None:
    (c,) = score_conditions(score(**{kind: value}), TH)
    assert (c.node_name, c.kind, c.key, c.severity) == ("My-Node", kind, f"{kind}:{SAT}", severity)
    assert c.title == f"{word} {label} on My-Node (us1.storj.io:7777)"
    message = (
        f"{label} on us1.storj.io:7777 is {value:.2f}% (threshold: {threshold:.1f}%; "
        f"the satellite {consequence})."
    )
    details: dict[str, object] = {"satellite_id": SAT, "score": value, "threshold": threshold}
    if kind == "audit_score":
        left = audits_until_disqualification(value)
        message += f" {left} more failed audit(s) would disqualify the node."
        details["failed_audits_until_disqualification"] = left
    assert c.message == message
    assert c.details == details


@pytest.mark.parametrize("kind", ["audit_score", "suspension_score", "online_score"])
def test_scores_exactly_at_the_warning_threshold_only_hold(kind: str) -> None:
    warning = {"audit_score": 98.0, "suspension_score": 80.0, "online_score": 80.0}[kind]
    # not an alert (strictly below warning alerts), only "keep an open one open" (hysteresis)
    conds = score_conditions(score(**{kind: warning}), TH)
    assert [(c.node_name, c.kind, c.key, c.hold) for c in conds] == [
        ("My-Node", kind, f"{kind}:{SAT}", True)
    ]
    assert score_conditions(score(**{kind: None}), TH) == []
