"""Failures that repeat every tick are logged on their transitions only."""

from __future__ import annotations

import logging

import pytest

from storj_monitor.services.transitions import FailureLog


def test_failure_logged_once_then_recovery_once(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("storj_monitor.test_transitions")
    caplog.set_level(logging.DEBUG, logger=logger.name)
    f = FailureLog(logger, "the thing")
    for i in range(5):
        f.failed(OSError(f"disk gone {i}"), "retrying")
    f.ok()
    f.ok()
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert levels[0] == (logging.ERROR, "the thing failed: retrying")
    assert caplog.records[0].exc_info is not None
    assert [lv for lv, _ in levels[1:5]] == [logging.DEBUG] * 4
    assert levels[5:] == [(logging.INFO, "the thing recovered")]
    assert f.failures == 5 and not f.failing
    f.failed(ValueError("again"))
    assert caplog.records[-1].levelno == logging.ERROR  # a new episode is a new transition
