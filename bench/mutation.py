"""Mutation testing of the core: would the default test run notice a wrong line?

    python bench/mutation.py                          # every core module, every mutant
    python bench/mutation.py --module apply --sample 40 [--seed 7]
    python bench/mutation.py --module apply --survivors   # again, only what survived last time
    python bench/mutation.py --module apply --survivors --tests tests/unit/test_new.py
    python bench/mutation.py --module plan --list     # the mutants and their keys, nothing run

Each mutant (bench/mutants.py) runs the default tests (`-m "not slow"`) that cover its lines, in
a forked pytest that stops at the first failure. Which tests cover which line comes from one
coverage run over tests/, cached in .mutation/ until a file other than a test module changes; a
test module added or changed since is run whole for every mutant. --whole-files runs a survivor
again with every test of the files its tests sit in (coverage credits a module-scoped fixture's
lines to the first test only). A mutant no test covers survives without a run. Tests that took
over --test-cap seconds (default 0.5) when mapped are left out, so a full run fits in an hour:
a mutant only they would catch counts as survived, and the score is a lower bound. A mutant may take
--timeout seconds plus three times its tests' own time; past that it counts as detected.

Equivalent mutants, which no test can kill because they do not change behaviour, are listed with
the reason in bench/mutation-equivalents.txt and left out of the score:
score = (killed + timed out) / (mutants - equivalent), per module, over the outcomes recorded
in .mutation/last-MODULE.json (a --sample, --survivors or --tests run updates the mutants it ran).

A run of every mutant of the selected modules, or of the survivors of one (`--survivors
--test-cap 0` gives the slow tests their say), records their scores in
bench/mutation-scores.json (other modules keep theirs), which bench/report.py prints. Not part
of .ci/run: a full run takes about an hour on two cores.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import mutants
import mutation_pool
from mutation_pool import REPO, STATE, Job, Outcome

CORE: dict[str, tuple[str, ...]] = {
    "plan": ("titan_gitops/plan.py",),
    "diff": ("titan_gitops/diff.py", "titan_gitops/jsondata.py"),
    "apply": ("titan_gitops/apply.py",),
    "validate": tuple(
        sorted(str(p.relative_to(REPO)) for p in (REPO / "titan_gitops" / "validate").glob("*.py"))
    ),
    "secrets": ("titan_gitops/secrets.py",),
    "fingerprint": ("titan_gitops/fingerprint.py",),
    "planfile": ("titan_gitops/planfile.py", "titan_gitops/planfields.py"),
    "threeway": ("titan_gitops/threeway.py",),
    "defcache": tuple(
        sorted(str(p.relative_to(REPO)) for p in (REPO / "titan_gitops" / "defcache").glob("*.py"))
    ),
}
SELECTION = ["tests"]
EQUIVALENTS = Path(__file__).resolve().parent / "mutation-equivalents.txt"
SCORES = Path(__file__).resolve().parent / "mutation-scores.json"
GOAL = 90.0
TIMEOUT_FACTOR = 3.0


def read_equivalents(path: Path) -> dict[str, str]:
    """Key → reason; a key is one line, its reason the indented lines under it (required)."""
    entries: dict[str, str] = {}
    key = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace():
            if not key:
                raise SystemExit(f"{path}:{number}: a reason with no mutant above it")
            entries[key] = (entries[key] + " " + line.strip()).strip()
        else:
            key = line.strip()
            if key in entries:
                raise SystemExit(f"{path}:{number}: {key!r} is listed twice")
            entries[key] = ""
    missing = [k for k, reason in entries.items() if not reason]
    if missing:
        raise SystemExit(f"{path}: no reason given for {missing[0]!r}")
    return entries


def module_of(mutant: mutants.Mutant) -> str:
    return next(name for name, paths in CORE.items() if mutant.path in paths)


def sample(items: list[mutants.Mutant], size: int | None, seed: int | None) -> list[mutants.Mutant]:
    """`size` mutants spread evenly over the list (or drawn with `seed`); all when size is None."""
    if size is None or size >= len(items):
        return items
    if seed is not None:
        return sorted(random.Random(seed).sample(items, size), key=lambda m: m.number)
    return [items[(index * len(items)) // size] for index in range(size)]


def jobs_for(
    chosen: list[mutants.Mutant], test_map: mutation_pool.TestMap, minimum: float
) -> list[Job]:
    """Per mutant: the tests that cover it (its module's, if it acts at import), fresh modules."""
    jobs = []
    fresh_seconds = test_map.seconds_of_files(test_map.fresh)
    for mutant in chosen:
        tests = (
            test_map.tests_of_module(mutant.path)
            if mutant.at_import
            else test_map.tests_for(mutant)
        )
        if tests or test_map.fresh:
            files = sorted(
                {test.split("::")[0] for test in tests}, key=lambda f: _first_index(tests, f)
            )
            timeout = minimum + TIMEOUT_FACTOR * (test_map.seconds(tests) + fresh_seconds)
            select = tests + [f"file:{name}" for name in test_map.fresh]
            jobs.append(Job(mutant, files + test_map.fresh, select, timeout, 1))
    return jobs


def _first_index(tests: list[str], file: str) -> int:
    return next(index for index, test in enumerate(tests) if test.startswith(file + "::"))


def whole_files(job: Job, test_map: mutation_pool.TestMap, minimum: float) -> Job:
    """The same mutant against every test in the files its covering tests sit in."""
    timeout = minimum + TIMEOUT_FACTOR * test_map.seconds_of_files(job.args)
    return Job(job.mutant, job.args, None, timeout, 2)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    manifest = [
        (path[:-3].replace("/", ".").removesuffix(".__init__"), path)
        for paths in CORE.values()
        for path in paths
    ]
    modules = mutants.number_modules(
        manifest, lambda path: (REPO / path).read_text(encoding="utf-8")
    )
    every = [m for module in modules for m in module.mutants]
    equivalents = read_equivalents(EQUIVALENTS)
    for key in sorted(set(equivalents) - {m.key for m in every}):
        _say(f"an equivalent entry matches no mutant now (remove it): {key}")
    names = args.module or list(CORE)
    chosen = [m for m in every if module_of(m) in names and m.key not in equivalents]
    if args.survivors:
        again = {
            key
            for name in names
            for key, row in _last(name).items()
            if row["status"] not in DETECTED
        }
        chosen = [m for m in chosen if m.key in again]
    chosen = sample(chosen, args.sample, args.seed)
    if args.show:
        chosen = [m for m in chosen if args.show in (m.key, f"{m.path}:{m.line}")][:1]
        if not chosen:
            raise SystemExit(f"mutation: no mutant has the key or path:line {args.show!r}")
    if args.list:
        for mutant in chosen:
            print(f"{mutant.describe()}\n    {mutant.key}")
        print(f"mutants={len(chosen)}")
        return 0
    STATE.mkdir(exist_ok=True)
    if args.tests:
        jobs = [
            Job(m, list(args.tests), None, TIMEOUT_FACTOR * 2 * args.timeout, 1) for m in chosen
        ]
        test_map = None
    else:
        test_map = mutation_pool.build_map(
            [m.path for m in modules], SELECTION, again=args.map_again, say=_say
        )
        test_map.cap = args.test_cap
        slow = test_map.left_out()
        if slow:
            seconds = test_map.seconds(slow)
            _say(
                f"{len(slow)} tests slower than {args.test_cap:g} s ({seconds:.0f} s in all) are "
                "left out: a mutant only they catch counts as survived (--test-cap 0 runs them)"
            )
        jobs = jobs_for(chosen, test_map, args.timeout)
    mutation_pool.prepare(
        [(name, module) for (name, _path), module in zip(manifest, modules, strict=True)]
    )
    if args.show:
        return mutation_pool.show(jobs[0]) if jobs else 1
    outcomes: dict[str, Outcome] = {}
    for mutant in chosen:
        if mutant.key not in {job.mutant.key for job in jobs}:
            outcomes[mutant.key] = Outcome("no tests", 0.0)
    _say(f"{len(chosen)} mutants, {len(jobs)} with tests to run, {args.workers} at a time")
    second: list[Job] = []

    def report(job: Job, outcome: Outcome) -> None:
        if outcome.status == "survived" and job.tier == 1 and args.whole_files and test_map:
            second.append(whole_files(job, test_map, args.timeout))
            return
        outcomes[job.mutant.key] = outcome
        if outcome.status != "killed":
            _say(f"{outcome.status:<9} {job.mutant.describe()} ({outcome.seconds:.0f} s)")
        if outcome.detail and outcome.status == "error":
            _say(f"          {outcome.detail}")
        if len(outcomes) % 25 == 0:
            _say(f"{len(outcomes)}/{len(chosen)} done, {time.monotonic() - started:.0f} s")

    mutation_pool.run_jobs(jobs, args.workers, report)
    if second:
        _say(f"{len(second)} survived their covering tests; running their whole test files")
        mutation_pool.run_jobs(second, args.workers, report)
    full = args.sample is None and not args.survivors and not args.tests
    _write_results(chosen, outcomes, names, full=full, merge=not full)
    # A full run, or the survivors of one run again (say with --test-cap 0), has every mutant
    # of the module on record from the default test selection: that is a score to keep.
    recorded = args.sample is None and not args.tests
    _print_scores(names, every, equivalents, time.monotonic() - started, write=recorded)
    return 0


DETECTED = ("killed", "timeout")


def _last(name: str) -> dict[str, dict[str, object]]:
    """The module's record: each mutant's key → its last outcome (empty before a first run)."""
    file = STATE / f"last-{name}.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else {}


def _write_results(
    chosen: list[mutants.Mutant],
    outcomes: dict[str, Outcome],
    names: list[str],
    *,
    full: bool,
    merge: bool,
) -> None:
    """Store each module's outcomes; a partial run updates the mutants it ran and keeps the rest."""
    survivors = [m for m in chosen if outcomes[m.key].status not in DETECTED]
    for name in names:
        record = {} if full or not merge else _last(name)
        for mutant in chosen:
            if module_of(mutant) == name:
                record[mutant.key] = {"describe": mutant.describe(), **asdict(outcomes[mutant.key])}
        (STATE / f"last-{name}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    if survivors:
        print("\nsurvivors of this run:")
        for mutant in survivors:
            print(
                f"  {outcomes[mutant.key].status:<9} {mutant.describe()}\n            {mutant.key}"
            )


def _print_scores(
    names: list[str],
    every: list[mutants.Mutant],
    equivalents: dict[str, str],
    seconds: float,
    *,
    write: bool,
) -> None:
    """Each module's score over all its current mutants, from the stored outcomes.

    A mutant never run counts as not killed.
    """
    scores: dict[str, dict[str, float | int | str]] = {}
    columns = ("mutants", "killed", "timeout", "survived", "not run", "equiv", "score")
    print("\n" + f"{'module':<12}" + "".join(f"{c:>9}" for c in columns))
    for name in names:
        last = _last(name)
        mine = [m for m in every if module_of(m) == name and m.key not in equivalents]
        counts = Counter(str(last[m.key]["status"]) if m.key in last else "not run" for m in mine)
        equivalent = sum(1 for m in every if module_of(m) == name and m.key in equivalents)
        survived = counts["survived"] + counts["no tests"] + counts["error"]
        score = 100.0 * (counts["killed"] + counts["timeout"]) / len(mine) if mine else 100.0
        scores[name] = {
            "score": round(score, 1),
            "mutants": len(mine),
            "killed": counts["killed"],
            "timeout": counts["timeout"],
            "survived": survived,
            "equivalent": equivalent,
        }
        cells = (
            len(mine),
            counts["killed"],
            counts["timeout"],
            survived,
            counts["not run"],
            equivalent,
        )
        print(f"{name:<12}" + "".join(f"{c:>9}" for c in cells) + f"{score:>8.1f}%")
    if write:
        _record_scores(scores)
    summary = " ".join(f"mutation_{name}={scores[name]['score']}%" for name in names)
    print(f"\n{summary} seconds={seconds:.0f}")


def _record_scores(scores: dict[str, dict[str, float | int | str]]) -> None:
    """Record a full run's modules in bench/mutation-scores.json; other modules keep theirs."""
    record = json.loads(SCORES.read_text(encoding="utf-8")) if SCORES.is_file() else {}
    modules = record.get("modules", {})
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    for name, row in scores.items():
        modules[name] = {**row, "date": today}
    ordered = {name: modules[name] for name in CORE if name in modules}
    SCORES.write_text(
        json.dumps({"goal": GOAL, "modules": ordered}, indent=1) + "\n", encoding="utf-8"
    )


def _say(text: str) -> None:
    print(f"mutation: {text}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(CORE),
        help="a core module (repeatable; default all)",
    )
    parser.add_argument("--sample", type=int, help="run N mutants spread evenly over the selection")
    parser.add_argument("--seed", type=int, help="draw the sample at random with this seed instead")
    parser.add_argument("--workers", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        help="seconds every mutant may take on top of 3x its tests' own time (default 20)",
    )
    parser.add_argument(
        "--survivors", action="store_true", help="run only the mutants that survived the last run"
    )
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="PATH",
        help="run every mutant against these tests instead of the ones that cover it",
    )
    parser.add_argument(
        "--test-cap",
        type=float,
        default=0.5,
        help="leave out tests that took longer than this many seconds when mapped (default 0.5; "
        "0 keeps every test): the fault, concurrency and subprocess suites, which would make "
        "each survivor cost minutes; the score is then a lower bound",
    )
    parser.add_argument(
        "--show",
        metavar="KEY",
        help="run one mutant (its key, or path:line: the first there) with pytest's output shown",
    )
    parser.add_argument(
        "--whole-files",
        action="store_true",
        help="run a survivor again with every test of the files its tests sit in",
    )
    parser.add_argument(
        "--map-again", action="store_true", help="rebuild the test map even if cached"
    )
    parser.add_argument("--list", action="store_true", help="list the selected mutants and stop")
    return parser


if __name__ == "__main__":
    sys.exit(main())
