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
    "analytics.earnings",
    "analytics.maintenance",
    "analytics.maintenance_status",
    "analytics.node_health",
    "logs.pairing",
    "alerts.storage_rules",
    "alerts.reputation_rules",
    "alerts.latency_rules",
    "alerts.log_rules",
]
TARGET = 0.90
KILLED = {1, 3, 36, 24, -24, 152, 255}  # killed, pytest internal error, timeouts
SURVIVED = {0}

_SK = "storj_monitor.analytics.sketch."
_RP = "storj_monitor.analytics.reputation.x_audits_until_disqualification__mutmut_"
_CP = "storj_monitor.analytics.capacity."
_LT = "storj_monitor.analytics.latency."
_TR = "storj_monitor.analytics.traffic."
_PA = "storj_monitor.logs.pairing.xǁPairerǁ"
_ST = "storj_monitor.alerts.storage_rules."
_EA = "storj_monitor.analytics.earnings."
_MT = "storj_monitor.analytics.maintenance.x_runs_from_records__mutmut_"
_SAME_DTYPE = "astype/dtype None is float64, what the values are anyway"
_ZIP = "zip(strict=...) over two sequences of equal length by construction"
_LOOPS = (
    "the two correction loops reach the exact answer from any start estimate; "
    "only the number of turns changes"
)
_NO_INPUT = (
    "changes the downward loop only when the float estimate is >= 1 and the answer is 0; "
    "a search over lambda 0.5..0.999, limits 1..96 and scores at every boundary found none"
)

#: mutant name -> why no input can tell it from the original (docs/testing.md repeats these).
#: Names are mutmut 3.8's numbering of today's code: re-check them when a function changes.
EQUIVALENT: dict[str, str] = {
    _SK + "x_bucket_values__mutmut_9": _SAME_DTYPE,
    _SK + "x_from_values__mutmut_3": _SAME_DTYPE,
    _SK + "x_merge__mutmut_2": "index and count arrays always have the same length",
    _SK + "x_merge_encoded__mutmut_31": "float64 counts are exact below 2**53; encode casts back",
    _SK + "x_merge_encoded__mutmut_33": "float64 counts are exact below 2**53; encode casts back",
    _SK + "x_merge_encoded__mutmut_36": "one more zero cell: flatnonzero skips it",
    _SK + "x_merge_encoded__mutmut_45": "float indexes: encode casts them to int16",
    _SK + "x_quantiles__mutmut_11": "indexes are unique: every sort kind gives one order",
    _SK + "x_quantiles__mutmut_13": "indexes are unique: every sort kind gives one order",
    _SK + "x_quantiles__mutmut_15": "numpy reads kind='STABLE' as 'stable'",
    _SK + "x_quantiles__mutmut_37": "side='left' is searchsorted's default",
    _SK + "x_quantiles__mutmut_4": "the sum of an empty count array is 0 anyway",
    _SK + "x_quantiles__mutmut_47": "pos <= size - 1 always (k <= n = the last cumulative count)",
    _SK + "x_to_linear_buckets__mutmut_4": "float bucket numbers: int() of the same whole numbers",
    _SK + "x_to_linear_buckets__mutmut_23": _ZIP,
    _SK + "x_to_linear_buckets__mutmut_26": _ZIP,
    _SK + "x_to_linear_buckets__mutmut_27": _ZIP,
    _RP + "4": "at score == limit the estimate is 0 and the upward loop stays at 0",
    _RP + "8": _LOOPS,
    _RP + "10": _LOOPS,
    _RP + "12": _LOOPS,
    _RP + "13": _LOOPS,
    _RP + "18": _LOOPS,
    _RP + "21": _LOOPS,
    _RP + "24": _LOOPS,
    _RP + "14": _NO_INPUT,
    _RP + "22": _NO_INPUT,
    **{
        f"storj_monitor.analytics.reputation.x_classify__mutmut_{n}": (
            "Threshold.level() reads neither name, label nor unit"
        )
        for n in (2, 3, 4, 14, 15, 16, 17, 18)
    },
    **{
        f"storj_monitor.analytics.reputation.x_classify__mutmut_{n}": (
            "Threshold.level() treats every direction but 'above' as 'below'"
        )
        for n in (7, 19, 20)
    },
    _CP + "x__thin__mutmut_1": "thinning n points to n keeps them all",
    _CP + "x_fit_series__mutmut_33": "the points are floats already",
    _CP + "x_fit_series__mutmut_35": "the points are floats already",
    _CP + "x_forecast_days_until_full__mutmut_103": (
        "the low days come from the high rate, > 0 whenever the status is filling"
    ),
    _CP + "x_growth_rate__mutmut_26": "1 s of span for no points still rounds to 0.0 days",
    _CP + "x_growth_rate__mutmut_69": (
        "exactly 3 points left after spikes needs 8 spikes in 11, but then the robust sigma "
        "is a spike's own deviation and none is a spike"
    ),
    _CP + "x_segment_labels__mutmut_7": (
        "with 3 points both residuals sit 1 MAD from their median: never a step"
    ),
    _CP + "x_segment_labels__mutmut_8": (
        "with 3 points both residuals sit 1 MAD from their median: never a step"
    ),
    _CP + "x_spike_mask__mutmut_23": "no positive interval means every t == t[0]: rate x 0",
    _CP + "x_spike_mask__mutmut_27": "shifts every residual by one constant: medians follow",
    _CP + "x_spike_mask__mutmut_28": "shifts every residual by one constant: medians follow",
    _CP + "x_theil_sen_slope__mutmut_18": "the added i == j pairs fail t[j] > t[i]",
    _CP + "x_theil_sen_slope__mutmut_4": "float labels are only compared for equality",
    _CP + "x_theil_sen_slope__mutmut_6": "float labels are only compared for equality",
    _LT + "x__clean__mutmut_2": _SAME_DTYPE,
    _LT + "x__clean__mutmut_3": "copy=None/True/default: the array is not written to",
    _LT + "x__clean__mutmut_5": "copy=None/True/default: the array is not written to",
    _LT + "x__clean__mutmut_6": "copy=None/True/default: the array is not written to",
    _LT + "x__clean__mutmut_9": "np.array of floats is float64 without being told",
    _LT + "x__clean__mutmut_11": "np.array of floats is float64 without being told",
    _LT + "x__get__mutmut_6": "Event objects have every attribute (no default needed)",
    _LT + "x_build_histogram__mutmut_8": _SAME_DTYPE,
    _LT + "x_build_histogram__mutmut_21": "float bucket numbers: int() of the same whole numbers",
    _LT + "x_build_histogram__mutmut_42": _ZIP,
    _LT + "x_build_histogram__mutmut_45": _ZIP,
    _LT + "x_build_histogram__mutmut_46": _ZIP,
    _LT + "x_durations_by_category__mutmut_27": "'' and 'XXXX' are both category 'other'",
    _LT + "x_iso_z__mutmut_3": "iso_utc() of a float is never empty: the fallback is unused",
    _LT + "x_stats_from_sketch__mutmut_5": "index and count arrays always have the same length",
    _TR + "x__empty_ops__mutmut_12": "total is always recomputed by _finish_ops",
    _TR + "x_summarize_sizes__mutmut_29": _ZIP,
    _TR + "x_summarize_sizes__mutmut_32": _ZIP,
    _TR + "x_summarize_sizes__mutmut_33": _ZIP,
    _TR + "x_summarize_traffic__mutmut_21": "an internal dict key; the output uses the id",
    _TR + "x_traffic_series__mutmut_4": "int(a / b) == a // b for a >= 0 (unix times)",
    _PA + "__init____mutmut_21": "float('-INF') == float('-inf')",
    _PA + "finish__mutmut_50": "a duration of exactly 0.0 is returned as 0.0 either way",
    _PA + "start__mutmut_9": "bound() drops nothing when the count is at the limit",
    _ST + "x_disk_forecast_condition__mutmut_27": "1 byte/day prints as 0.00 GB/day",
    _ST + "x_disk_usage_condition__mutmut_43": "1 byte prints as 0.00 GB",
    _ST + "x_storage_conditions__mutmut_4": "the usage rule returns None for None anyway",
    **{
        f"storj_monitor.alerts.latency_rules.x_latency_condition__mutmut_{n}": (
            "Threshold.breach()/holds() read neither name, label nor unit"
        )
        for n in (22, 23, 24, 37, 38, 39, 40, 41, 42)
    },
    "storj_monitor.alerts.log_rules.x_failed_audit_condition__mutmut_17": (
        "'xxxx' contains none of the missing-piece hints"
    ),
    _EA + "x__spread__mutmut_2": "with 0 days left the formula's sqrt(0 + 0) gives 0 as well",
    _EA + "x_project_month__mutmut_32": _ZIP,
    _EA + "x_project_month__mutmut_35": _ZIP,
    _EA + "x_project_month__mutmut_36": _ZIP,
    _EA + "x_project_month__mutmut_77": "a 0-hour tally adds 0 to the covered hours",
    _EA + "x_project_month__mutmut_107": (
        "sums every day's net negated: the standard deviation is the same"
    ),
    _EA + "x_project_month__mutmut_112": (
        "adds 1.0 to every day's net: the standard deviation is the same (up to rounding)"
    ),
    **{
        _MT + str(n): "the placeholder run's status is replaced by completed/failed before use"
        for n in (102, 111, 112)
    },
    "storj_monitor.analytics.maintenance_status.x_status_rows__mutmut_67": (
        "names are keyed by satellite IDs: neither '' nor 'XXXX' is one"
    ),
}


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
