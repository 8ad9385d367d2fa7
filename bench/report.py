"""The report card: runs the reliability suites and the bench scripts, prints a table and one line.

    python bench/report.py [--quick] [--full] [--skip-tests] [--skip-bench]

The suites (tests/reliability) run in a pytest subprocess that writes its counts to a JSON file
(TITAN_RELIABILITY_JSON, see tests/reliability/counts.py); `--full` adds the tests marked slow.
Each bench script present in bench/ runs with `--quick` when asked and ends with a one-line
`key=value` summary, which is parsed here; a missing script, or one that fails, reads "n/a".
`--quick` keeps the benches to a few minutes (apply 100 creates, plan 1,000 tasks, validate 2,000
files; figures at another size than the card's are marked `@N`); the full run plans 1,000 and
10,000 tasks and validates 2,000 and 20,000 files. The 50,000-task figures
(`kib_per_task_50k`) come only from `python bench/bench_plan.py --tasks 50000`, run by hand.
The mutation scores of the core come from the last full run of bench/mutation.py, which is too
long to run here (bench/mutation-scores.json).
Exit status: 1 when the suites failed or a safety count is not zero, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHES = (
    "bench_startup.py",
    "bench_validate.py",
    "bench_plan.py",
    "bench_apply.py",
    "bench_client.py",
)
# Written by a full run of bench/mutation.py (tens of minutes; not run from here).
MUTATION_SCORES = REPO / "bench" / "mutation-scores.json"
SAFETY_KEYS = (
    "dup_creates",
    "foreign_touched",
    "protected_deleted",
    "secret_hits",
    "concurrent_dups",
    "contract_disagreements",
    "export_roundtrip_failures",
)


@dataclass
class Row:
    """One line of the table: what ran, how it ended, how long it took, what it said."""

    name: str
    status: str
    seconds: float
    summary: str


def parse_summary(output: str) -> dict[str, str]:
    """The `key=value` words of the last line that starts with one (empty when none does)."""
    for line in reversed(output.strip().splitlines()):
        words = [w for w in line.split() if w.split("=", 1)[0].isidentifier() and "=" in w]
        if words and line.split()[0] == words[0]:
            return dict(w.split("=", 1) for w in words)
    return {}


def run_suites(full: bool) -> tuple[Row, dict[str, float]]:
    """Run tests/reliability under pytest and collect the counts it wrote."""
    with tempfile.TemporaryDirectory(prefix="titan-report-") as scratch:
        counts_path = Path(scratch) / "counts.json"
        environ = {**os.environ, "TITAN_RELIABILITY_JSON": str(counts_path)}
        # One process: the counts are gathered in it (-n 0 turns the workers off).
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0"]
        command += ["tests/reliability", "-m", "slow or not slow" if full else "not slow"]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        counts: dict[str, float] = {}
        if counts_path.is_file():
            counts = json.loads(counts_path.read_text(encoding="utf-8"))
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-200:]
    status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
    if done.returncode != 0:
        print(done.stdout[-4000:], file=sys.stderr)
    return Row("tests/reliability", status, seconds, last.strip("= ")), counts


def run_bench(script: str, quick: bool) -> tuple[Row, dict[str, str]]:
    """Run one bench script; tolerate its absence or failure with "n/a"."""
    path = REPO / "bench" / script
    if not path.is_file():
        return Row(script, "n/a (absent)", 0.0, ""), {}
    command = [sys.executable, str(path), *(["--quick"] if quick else [])]
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=REPO, env=environ, capture_output=True, text=True, timeout=1800
        )
    except subprocess.TimeoutExpired:
        return Row(script, "n/a (timed out)", time.perf_counter() - start, ""), {}
    seconds = time.perf_counter() - start
    summary = parse_summary(done.stdout)
    status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    if not summary:
        status = f"n/a ({status}, no summary)"
    text = " ".join(f"{k}={v}" for k, v in summary.items())
    return Row(script, status, seconds, text), summary


def format_count(counts: dict[str, float], key: str) -> str:
    return "n/a" if key not in counts else f"{counts[key]:,.0f}"


def format_ratio(counts: dict[str, float], key: str, total: str) -> str:
    if key not in counts and total not in counts:
        return "n/a"
    return f"{counts.get(key, 0):,.0f}/{counts.get(total, 0):,.0f}"


def pick(summary: dict[str, str], *keys: str) -> str:
    """The first of `keys` present in a bench summary, as `N.NNx`; "n/a" when none is."""
    for key in keys:
        if key in summary:
            value = summary[key].rstrip("x")
            try:
                return f"{float(value):.2f}x"
            except ValueError:
                return summary[key]
    return "n/a"


def pick_at_size(summary: dict[str, str], key_10k: str, key: str, size_key: str = "tasks") -> str:
    """A 10k figure, or the same figure at another size marked `@N` (e.g. in --quick runs)."""
    if key_10k in summary:
        return pick(summary, key_10k)
    ratio = pick(summary, key)
    return ratio if ratio == "n/a" else f"{ratio}@{summary.get(size_key, '?')}"


def pick_kib(summary: dict[str, str]) -> str:
    """KiB per task at 50,000 tasks, or at the largest size run, marked `@N`."""
    if "kib_per_task_50k" in summary:
        return summary["kib_per_task_50k"]
    if "kib_per_task" in summary:
        return f"{summary['kib_per_task']}@{summary.get('kib_tasks', '?')}"
    return "n/a"


def mutation_scores(path: Path = MUTATION_SCORES) -> list[str]:
    """`mutation_<module>=N%` for each core module, from the last full run of bench/mutation.py."""
    if not path.is_file():
        return ["mutation=n/a"]
    record = json.loads(path.read_text(encoding="utf-8"))
    modules: dict[str, dict[str, float]] = record.get("modules", {})
    return [f"mutation_{name}={row['score']:g}%" for name, row in modules.items()]


def plan_fields(plan: dict[str, str]) -> list[str]:
    """The plan bench's card fields (ratios of whole processes; floor A is ruamel + listing)."""
    return [
        f"plan_10k_vs_floor={pick_at_size(plan, 'plan_10k_vs_floor', 'plan_vs_floor')}",
        f"plan_10k_vs_libyaml={pick_at_size(plan, 'plan_10k_vs_libyaml', 'plan_vs_libyaml')}",
        f"replan_5_of_10k={pick_at_size(plan, 'replan_5_of_10k', 'replan_5')}",
        f"kib_per_task_50k={pick_kib(plan)}",
    ]


def build_card_line(counts: dict[str, float], benches: dict[str, dict[str, str]]) -> str:
    """The one-line report card."""
    parts = [
        f"faults={format_count(counts, 'faults')}",
        f"converged={format_ratio(counts, 'converged', 'runs')}",
        *(f"{key}={format_count(counts, key)}" for key in SAFETY_KEYS[:3]),
        f"stale_rejected={format_ratio(counts, 'stale_rejected', 'stale_total')}",
        f"secret_hits={format_count(counts, 'secret_hits')}",
        f"hostile_rejected={format_ratio(counts, 'hostile_rejected', 'hostile_total')}",
        f"attacks_held={format_ratio(counts, 'attacks_held', 'attacks_total')}",
        "tampered_plans_refused="
        + format_ratio(counts, "tampered_plan_held", "tampered_plan_total"),
        f"concurrent_dups={format_count(counts, 'concurrent_dups')}",
        f"contract_disagreements={format_count(counts, 'contract_disagreements')}",
        f"export_roundtrip_failures={format_count(counts, 'export_roundtrip_failures')}",
        *plan_fields(benches.get("bench_plan.py", {})),
        *(
            f"{key}={pick(benches.get('bench_apply.py', {}), key)}"
            for key in (
                "apply_cli_vs_ideal",
                "apply_vs_threads",
                "apply_vs_sequential",
                "peer_threads_vs_ideal",
            )
        ),
        f"startup_vs_python={pick(benches.get('bench_startup.py', {}), 'startup_vs_python')}",
        *(
            f"{key}={pick(benches.get('bench_startup.py', {}), key)}"
            for key in (
                "validate_startup_x",
                "plan_startup_x",
                "validate_startup_nocache_x",
                "plan_startup_nocache_x",
                "plan_deps_x",
            )
        ),
        f"validate_vs_floor={pick(benches.get('bench_validate.py', {}), 'validate_vs_floor')}",
        *mutation_scores(),
    ]
    return " ".join(parts)


def print_table(rows: list[Row], counts: dict[str, float]) -> None:
    width = max(len(r.name) for r in rows)
    print(f"{'what':{width}s}  {'status':22s} {'seconds':>8s}  summary")
    for row in rows:
        print(f"{row.name:{width}s}  {row.status:22s} {row.seconds:8.1f}  {row.summary}")
    if counts:
        print("\nreliability counts:")
        for key in sorted(counts):
            print(f"  {key:28s} {counts[key]:g}")


def main(argv: list[str] | None = None) -> int:
    """Run everything asked for, print the table and the card; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="bench scripts in --quick mode")
    parser.add_argument("--full", action="store_true", help="include the slow reliability tests")
    parser.add_argument("--skip-tests", action="store_true", help="do not run the suites")
    parser.add_argument("--skip-bench", action="store_true", help="do not run the bench scripts")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    counts: dict[str, float] = {}
    failed = False
    if not args.skip_tests:
        row, counts = run_suites(args.full)
        rows.append(row)
        failed = not row.status.startswith("ok")
    benches: dict[str, dict[str, str]] = {}
    if not args.skip_bench:
        for script in BENCHES:
            row, summary = run_bench(script, args.quick)
            rows.append(row)
            benches[script] = summary
    print_table(rows, counts)
    print()
    print(build_card_line(counts, benches))
    missed = any(counts.get(key, 0) for key in SAFETY_KEYS) or counts.get(
        "attacks_held", 0
    ) != counts.get("attacks_total", 0)
    return 1 if failed or missed else 0


if __name__ == "__main__":
    sys.exit(main())
