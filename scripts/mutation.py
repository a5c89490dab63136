"""Mutation testing of the pure modules, run by hand (never in CI): mutmut 3, module by module.

Usage (from the repository root)::

    .venv/bin/python -m pip install -e '.[test,mutation]'
    .venv/bin/python scripts/mutation.py                  # every module below
    .venv/bin/python scripts/mutation.py analytics.sketch alerts.storage_rules
    .venv/bin/python scripts/mutation.py --report         # only print the last results
    .venv/bin/python scripts/mutation.py --rerun-survivors analytics.capacity

Why per module: the whole set is ~2,700 mutants; one module at a time gives figures early
and lets a long run be split. mutmut copies ``src/`` into ``mutants/`` (git-ignored) and runs,
for each mutant, only the fast unit tests that reach the mutated function
(``[tool.mutmut]`` in pyproject.toml lists them). Results stay in ``mutants/``; a mutant whose
function is unchanged is not run again unless named (``--rerun-survivors``).

Score = killed / (mutants − documented equivalents), where killed includes timeouts (a
mutant that loops forever is caught). Equivalent mutants (no input can tell them from the
original) are listed in :data:`EQUIVALENT` with the reason, and in docs/testing.md.
Exit status 1 when a module is below :data:`TARGET`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "storj_monitor"
MODULES = [
    "analytics.sketch",
    "analytics.reputation",
    "analytics.capacity",
    "analytics.latency",
    "analytics.anomaly",
    "analytics.traffic",
    "logs.pairing",
    "alerts.storage_rules",
    "alerts.reputation_rules",
    "alerts.latency_rules",
    "alerts.log_rules",
]
TARGET = 0.90
KILLED = {1, 3, 36, 24, -24, 152, 255}  # killed, pytest internal error, timeouts
SURVIVED = {0}

#: mutant name -> why no test can kill it (keep docs/testing.md in step).
EQUIVALENT: dict[str, str] = {}


def meta_path(module: str) -> Path:
    return ROOT / "mutants" / "src" / PACKAGE / (module.replace(".", "/") + ".py.meta")


def results(module: str) -> dict[str, int | None]:
    path = meta_path(module)
    if not path.exists():
        return {}
    data: dict[str, int | None] = json.loads(path.read_text())["exit_code_by_key"]
    return data


def run(names: list[str], max_children: int) -> int:
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names]
    return subprocess.call(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)


def report(modules: list[str]) -> bool:
    ok = True
    print(
        f"{'module':28} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv':>5} "
        f"{'other':>5} {'score':>6}"
    )
    for module in modules:
        res = results(module)
        if not res:
            print(f"{module:28} not run")
            ok = False
            continue
        equiv = {k for k in res if k in EQUIVALENT}
        killed = sum(1 for k, v in res.items() if v in KILLED and k not in equiv)
        survived = sorted(k for k, v in res.items() if v in SURVIVED and k not in equiv)
        other = len(res) - killed - len(survived) - len(equiv)
        counted = len(res) - len(equiv)
        score = killed / counted if counted else 1.0
        ok = ok and score >= TARGET
        print(
            f"{module:28} {len(res):7} {killed:6} {len(survived):8} {len(equiv):5} "
            f"{other:5} {score:6.1%}"
        )
        for name in survived:
            print(f"    survived: {name}")
        for name, code in sorted(res.items()):
            if code not in KILLED and code not in SURVIVED and name not in equiv:
                print(f"    not killed ({code}): {name}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument("--report", action="store_true", help="print results, run nothing")
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="run again only the mutants that survived last time",
    )
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args(argv)
    modules = args.modules or MODULES
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {MODULES}")
    if not args.report:
        for module in modules:
            if args.rerun_survivors:
                names = [k for k, v in results(module).items() if v in SURVIVED or v is None]
                if not names:
                    continue
            else:
                names = [f"{PACKAGE}.{module}.*"]
            print(f"mutating {module} ...", flush=True)
            run(names, args.max_children)
    return 0 if report(modules) else 1


if __name__ == "__main__":
    sys.exit(main())
