"""Console progress of long reads when stderr is not a terminal: a few log lines."""

from __future__ import annotations

import pytest

from storj_monitor.services import progress
from storj_monitor.services.progress import CatchupProgress


def test_progress_logs_when_not_on_a_terminal(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with caplog.at_level("INFO", logger="storj_monitor.services.progress"):
        p = CatchupProgress("n1", 200_000_000)
        p.update(200_000_000, 0)
        p.update(50_000_000, 1_000)
        p.close()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "n1: reading 200.0 MB of log history"
    assert any(m.startswith("n1: log history 75% read") for m in messages)
    assert messages[-1] == "n1: log history read; following live"
