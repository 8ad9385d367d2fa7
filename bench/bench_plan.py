"""Benchmark: `titan-gitops plan` as whole processes against `emulator serve`, vs two floors.

    python bench/bench_plan.py [--sizes 1000,10000] [--tasks 50000] [--rounds 3] [--quick]

Per size: N generated definition files (bench_validate.py's), and `emulator serve --db` on a
copy of a SQLite file seeded once with the same tasks, 5% of them changed live (seeded in one
transaction through the emulator's backend). Each round runs, in an order that rotates:

- `titan-gitops plan DIR` cold (the validated-definitions cache emptied first, as on a fresh
  runner), then the re-plan: 5 files edited, planned again with the cache the cold plan filled,
  and floor R beside it (floors.py: the libraries loaded, every file read and hashed, the
  listing; what any re-plan must do), the edits undone after;
- floor A: a bare ruamel C-loader load of the same files plus a raw paged httpx listing;
- floor B: the same with PyYAML's libyaml `CSafeLoader`.

At the largest size, `validate DIR` runs too, and both commands once on a 1-task directory
against an empty emulator: KiB per task is peak RSS / N, and also (peak - 1-task peak) / N;
the floors' peak RSS / N is printed beside it (`kib_floor_a`).
At the re-plan size (10,000, or the largest below it) the plan also runs with `--base` (a git
repository whose last commit changed 5% of the definitions) and without, alternating.
Goals (issue 20): plan at most 1.0x floor A, re-plan at most 0.25x the cold plan, at most
8 KiB per task at 50,000 (given with --tasks 50000; about 10 minutes more), with a base at most
1.2x without and the same requests. The exit code is 0 whatever the figures (the summary says
which goals were met), 1 only when the bench itself failed. --quick: 1,000 tasks.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import wholeproc
import yaml  # type: ignore[import-untyped]
from bench_validate import write_files
from floors import floor_commands, replan_floor_command
from wholeproc import Samples, verdict

from titan_gitops.emulator import EmulatorConfig, create_app

GOAL_FLOOR, GOAL_REPLAN, GOAL_KIB, GOAL_BASE = 1.0, 0.25, 8.0, 1.2
CHANGED = 0.05
PAGE = 100


def seed(path: Path, root: Path, changed: float) -> int:
    """Store every definition's body as a live task in a new SQLite file; every 1/changed-th
    one with its objective edited. One transaction (per-row commits take minutes)."""
    app = create_app(EmulatorConfig(db_path=str(path), tokens={wholeproc.TOKEN: None}))
    step = max(1, round(1 / changed))
    edited = 0
    database = app.backend._db  # the emulator has no bulk import: batch its commits
    database.execute("BEGIN")
    for n, file in enumerate(sorted((root / "tasks").glob("*.yaml"))):
        body = yaml.load(file.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        body.pop("kind", None)
        if n % step == 0:
            body["objective"] += " Edited in the UI."
            edited += 1
        app.backend.create_task(body)
    database.execute("COMMIT")
    app.backend.close()
    return edited


def edit_files(root: Path, count: int, offset: int) -> dict[Path, str]:
    """Edit `count` files spread over the folder (shifted by `offset`); returns the originals."""
    files = sorted((root / "tasks").glob("*.yaml"))
    stride = max(1, len(files) // count)
    originals = {}
    for path in files[offset % stride :: stride][:count]:
        text = path.read_text(encoding="utf-8")
        originals[path] = text
        path.write_text(text.replace("objective: ", "objective: Re-planned. ", 1), "utf-8")
    return originals


class SizeBench:
    """Every contender at one size against one served emulator."""

    def __init__(self, admin: wholeproc.Admin, root: Path, scratch: Path) -> None:
        self.admin, self.root = admin, root
        self.environ = wholeproc.cli_environ(admin.url, scratch)
        self.plan = [*wholeproc.entry_point(), "plan", str(root)]
        self.floors = floor_commands(scratch, root, listing=True)
        self.replan_floor = replan_floor_command(scratch, root)
        self.samples: dict[str, Samples] = {}
        self.requests: dict[str, dict[str, int]] = {}

    def timed(self, name: str, argv: list[str]) -> None:
        self.admin.take_requests()
        self.samples.setdefault(name, Samples()).add(wholeproc.run(argv, self.environ))
        self.requests[name] = self.admin.take_requests()

    def cold_then_replan(self, number: int, replan: bool) -> None:
        wholeproc.clear_caches(self.root, self.environ)
        self.timed("plan", self.plan)
        if replan:
            originals = edit_files(self.root, 5, number)
            try:
                self.timed("replan", self.plan)
                self.timed("R", self.replan_floor)
            finally:
                for path, text in originals.items():
                    path.write_text(text, encoding="utf-8")

    def round(self, number: int, replan: bool) -> None:
        contenders: list[Callable[[], None]] = [
            partial(self.cold_then_replan, number, replan),
            partial(self.timed, "A", self.floors["A"]),
            partial(self.timed, "B", self.floors["B"]),
        ]
        shift = number % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            contender()

    def with_base(self, rounds: int) -> dict[str, Any]:
        """The plan with `--base` and without, alternating, after 5% changed in git."""
        base, merged = commit_base_then_change(self.root)
        for _ in range(rounds):
            self.timed("without base", self.plan)
            self.timed("with base", [*self.plan, "--base", base])
        return {"merged": merged}


def git(root: Path, *args: str) -> str:
    who = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    who |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **who},
        capture_output=True,
        text=True,
        check=True,
    )
    return str(done.stdout).strip()


def commit_base_then_change(root: Path) -> tuple[str, int]:
    """Commit the definitions (the base), change every 20th file's objective, commit."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    files = sorted((root / "tasks").glob("*.yaml"))[:: round(1 / CHANGED)]
    for path in files:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("objective: ", "objective: Merged. ", 1), "utf-8")
    git(root, "commit", "-qam", "merged, not applied")
    return base, len(files)


def memory_per_task(bench: SizeBench, tasks: int, scratch: Path) -> dict[str, float]:
    """KiB per task of plan and validate at this size, raw and above a 1-task directory."""
    validate = [*wholeproc.entry_point(), "validate", str(bench.root)]
    wholeproc.clear_caches(bench.root, bench.environ)  # cold, as the plans it is compared with
    bench.timed("validate", validate)
    one = scratch / f"one-{tasks}"
    one.mkdir()
    write_files(one, 1)
    with wholeproc.served() as empty:
        environ = wholeproc.cli_environ(empty.url, scratch)
        base_plan = wholeproc.run([*wholeproc.entry_point(), "plan", str(one)], environ)[1]
        base_validate = wholeproc.run([*validate[:-1], str(one)], environ)[1]
    figures = {}
    for name, base in (("plan", base_plan), ("validate", base_validate)):
        peak = bench.samples[name].peak
        figures[name] = peak * 1024 / tasks
        figures[f"{name}_above_1"] = (peak - base) * 1024 / tasks
        figures[f"{name}_1_mib"] = base
    for floor in ("A", "B"):  # what merely holding the files and the listing takes
        figures[floor] = bench.samples[floor].peak * 1024 / tasks
    return figures


def measure(tasks: int, args: Any, scratch: Path, flags: dict[str, bool]) -> dict[str, Any]:
    """Every figure at one size."""
    root = scratch / f"defs-{tasks}"
    root.mkdir()
    write_files(root, tasks)
    seeded = scratch / f"seed-{tasks}.db"
    edited = seed(seeded, root, CHANGED)
    copy = scratch / f"run-{tasks}.db"
    shutil.copyfile(seeded, copy)
    out: dict[str, Any] = {"tasks": tasks, "edited": edited}
    with wholeproc.served("--db", str(copy)) as admin:
        bench = SizeBench(admin, root, scratch)
        for number in range(args.rounds):
            bench.round(number, flags["replan"])
        if flags["memory"]:
            out["kib"] = memory_per_task(bench, tasks, scratch)
        if flags["replan"]:
            out["base"] = bench.with_base(args.rounds)
    copy.unlink()
    out["bench"] = bench
    return out


def report_size(out: dict[str, Any]) -> dict[str, float]:
    """Print one size's figures; returns its ratios."""
    bench: SizeBench = out["bench"]
    s, tasks = bench.samples, out["tasks"]
    print(f"\n{tasks} tasks ({out['edited']} changed live), whole processes, rotating order")
    for name in s:
        print(s[name].line(name if name in ("plan", "replan", "validate") else f"{name}", 20))
        print(f"{'':20s} requests: {wholeproc.format_requests(bench.requests[name])}")
    ratios = {
        "floor": s["plan"].median / s["A"].median,
        "libyaml": s["plan"].median / s["B"].median,
    }
    print(
        f"plan / floor A (ruamel + listing): {ratios['floor']:.2f}x "
        f"(goal <= {GOAL_FLOOR}: {verdict(ratios['floor'], GOAL_FLOOR)})"
    )
    print(f"plan / floor B (libyaml + listing): {ratios['libyaml']:.2f}x")
    pages = math.ceil(tasks / PAGE)
    print(f"plan requests: {sum(bench.requests['plan'].values())} (task pages: {pages})")
    if "replan" in s:
        ratios["replan"] = s["replan"].median / s["plan"].median
        ratios["replan_floor"] = s["R"].median / s["plan"].median
        print(
            f"re-plan (5 files edited) / cold plan: {ratios['replan']:.2f}x "
            f"(goal <= {GOAL_REPLAN}: {verdict(ratios['replan'], GOAL_REPLAN)})"
        )
        print(
            "floor R (the libraries loaded, every file read and hashed, the listing) / cold plan: "
            f"{ratios['replan_floor']:.2f}x; the re-plan / floor R: "
            f"{s['replan'].median / s['R'].median:.2f}x"
        )
    if "with base" in s:
        ratios["base"] = s["with base"].median / s["without base"].median
        same = bench.requests["with base"] == bench.requests["without base"]
        ratios["base_same_requests"] = float(same)
        print(
            f"with a base ({out['base']['merged']} changed in git since) / without: "
            f"{ratios['base']:.2f}x (goal <= {GOAL_BASE}: {verdict(ratios['base'], GOAL_BASE)}); "
            f"same requests: {str(same).lower()}"
        )
    if "kib" in out:
        kib = out["kib"]
        for name in ("plan", "validate"):
            print(
                f"{name}: {kib[name]:.1f} KiB per task ({kib[name + '_above_1']:.1f} above the "
                f"1-task run's {kib[name + '_1_mib']:.1f} MiB; goal <= {GOAL_KIB}: "
                f"{verdict(kib[name], GOAL_KIB)})"
            )
        print(f"floor A: {kib['A']:.1f} KiB per task; floor B: {kib['B']:.1f}")
        ratios["kib"] = max(kib["plan"], kib["validate"])
        ratios["kib_floor_a"] = kib["A"]
        ratios["kib_above_1"] = max(kib["plan_above_1"], kib["validate_above_1"])
    return ratios


def summary(results: list[tuple[int, dict[str, float]]], replan_size: int) -> str:
    """The `key=value` line: 10k figures under their card names, else marked with their size."""
    by_size = dict(results)
    main_size = 10_000 if 10_000 in by_size else replan_size
    main = by_size[main_size]
    words = [f"tasks={main_size}", f"sizes={','.join(str(n) for n in by_size)}"]
    words += [f"plan_vs_floor={main['floor']:.2f}x", f"plan_vs_libyaml={main['libyaml']:.2f}x"]
    if main_size == 10_000:
        words += [f"plan_10k_vs_floor={main['floor']:.2f}x"]
        words += [f"plan_10k_vs_libyaml={main['libyaml']:.2f}x"]
    if "replan" in main:
        key = "replan_5_of_10k" if main_size == 10_000 else "replan_5"
        words.append(f"{key}={main['replan']:.2f}x")
        words.append(f"replan_floor_r={main['replan_floor']:.2f}x")
    if "base" in main:
        words.append(f"base_ratio={main['base']:.2f}x")
    largest, figures = results[-1]
    if "kib" in figures:
        words += [f"kib_per_task={figures['kib']:.1f}", f"kib_tasks={largest}"]
        words.append(f"kib_above_1task={figures['kib_above_1']:.1f}")
        words.append(f"kib_floor_a={figures['kib_floor_a']:.1f}")
        if largest == 50_000:
            words.append(f"kib_per_task_50k={figures['kib']:.1f}")
    met = main["floor"] <= GOAL_FLOOR and main.get("replan", 0) <= GOAL_REPLAN
    met = met and figures.get("kib", 0) <= GOAL_KIB and main.get("base", 0) <= GOAL_BASE
    words.append(f"goals_met={str(met).lower()}")
    return " ".join(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated task counts")
    parser.add_argument("--tasks", type=int, help="one more size (e.g. 50000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 tasks only")
    args = parser.parse_args(argv)
    sizes = sorted(
        {int(n) for n in args.sizes.split(",")} | ({args.tasks} if args.tasks else set())
    )
    if args.quick:
        sizes = [1000]
    replan_size = max([n for n in sizes if n <= 10_000] or sizes[:1])
    results = []
    with tempfile.TemporaryDirectory(prefix="titan-bench-plan-") as tmp:
        for tasks in sizes:
            flags = {"replan": tasks == replan_size, "memory": tasks == sizes[-1]}
            out = measure(tasks, args, Path(tmp), flags)
            results.append((tasks, report_size(out)))
            sys.stdout.flush()
    print(summary(results, replan_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
