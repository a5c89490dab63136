"""The capacity/reputation analytics and the alert rules stay pure: no I/O, no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "storj_monitor"
PURE = [
    "analytics/capacity.py",
    "analytics/reputation.py",
    "analytics/maintenance_status.py",
    "analytics/paid_storage.py",
    "alerts/storage_rules.py",
    "alerts/reputation_rules.py",
    "alerts/log_rules.py",
    "alerts/health_rules.py",
    "analytics/line_rate.py",
    "logs/timestamps.py",
    "logs/rejects.py",
    "logs/parser.py",
    "logs/piece_lines.py",
    "logs/pipeline.py",
]
BANNED_MODULES = {"aiohttp", "sqlite3", "asyncio", "time", "socket", "os", "requests", "apprise"}
BANNED_CALLS = {"now", "utcnow", "time", "today", "monotonic", "open"}


@pytest.mark.parametrize("rel", PURE)
def test_module_is_pure(rel: str) -> None:
    tree = ast.parse((SRC / rel).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        assert not names & BANNED_MODULES, f"{rel} imports {names & BANNED_MODULES}"
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert name not in BANNED_CALLS, f"{rel} calls {name}() at line {node.lineno}"
