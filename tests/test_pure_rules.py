"""Every module the architecture table calls pure stays pure: no I/O, no clock.

The list is read from the "pure logic" row of docs/architecture.md (backticked paths and
globs under ``src/storj_monitor``), so a module added there is checked here, and a glob's
parenthesised list of names must match the files it expands to (the doc stays true).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "storj_monitor"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
BANNED_MODULES = {
    "aiohttp",
    "sqlite3",
    "asyncio",
    "time",
    "socket",
    "os",
    "requests",
    "apprise",
    "subprocess",
    "threading",
    "urllib",
    "shutil",
    "pathlib",
}
BANNED_CALLS = {"now", "utcnow", "time", "today", "monotonic", "perf_counter", "open"}


def pure_row() -> str:
    rows = [
        line
        for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines()
        if line.startswith("| pure logic |")
    ]
    assert len(rows) == 1, "docs/architecture.md has no single 'pure logic' row"
    return rows[0].split("|")[2]


def pure_modules() -> list[str]:
    found: list[str] = []
    for pattern in re.findall(r"`([^`]+)`", pure_row()):
        glob = pattern if pattern.endswith(".py") else pattern.rstrip("*") + "*.py"
        paths = sorted(p for p in SRC.glob(glob) if p.name != "__init__.py")
        assert paths, f"architecture.md names {pattern}, which matches no module"
        found += [p.relative_to(SRC).as_posix() for p in paths]
    return found


PURE = pure_modules()


def test_the_list_covers_the_known_pure_modules() -> None:
    for rel in (
        "logs/parser.py",
        "logs/pairing.py",
        "analytics/capacity.py",
        "analytics/sketch.py",
        "alerts/storage_rules.py",
        "alerts/latency_rules.py",
    ):
        assert rel in PURE


def test_glob_names_in_the_table_match_the_files() -> None:
    globs = re.findall(r"`(\w+)/\*` \(([^)]*)\)", pure_row())
    assert globs, "expected `analytics/*` (names...) in the pure logic row"
    for folder, names in globs:
        listed = {n.strip() for n in names.split(",")}
        actual = {p.stem for p in (SRC / folder).glob("*.py") if p.name != "__init__.py"}
        assert listed == actual, f"architecture.md lists {folder}/ as {listed}, files: {actual}"


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
