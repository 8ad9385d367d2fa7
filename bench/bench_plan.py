"""Benchmark: a plan of 10,000 definitions against 10,000 live tasks (5% changed), by stage.

Seeds an emulator directly through its backend (no HTTP), serves it on a loopback socket, and
times each stage of `titan-gitops plan`: load, validate, fetch, diff, plan, render. It prints
the HTTP requests the plan made (they must equal the listing pages) and the ratio of the whole
plan to its floor (validate + the listing alone). Goal (issue 7 §5): at most 1.5.

With a base (issue 18 §5): the folder is a git repository whose previous commit is the base and
whose last commit changed 5% of the definitions (their objectives); the same plan is made with
and without `--base`, alternating, and the ratio printed (goal: at most 1.2), with the requests
of each (a base costs no request).

    python bench/bench_plan.py [--tasks 10000] [--changed 0.05] [--runs 3] [--quick]

Stage figures are medians over the runs. `diff` is the field diff of every pair on its own;
`plan` is build_plan, which includes that diff. The last line is a `key=value` summary.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import repo_path  # noqa: F401  (testing/ below lives at the repo root)

# The same generated definitions as the validate benchmark (this folder is on sys.path when a
# bench script runs).
from bench_validate import write_files

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.diff import diff_bodies, diff_states, normalise_task
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.fetch import PAGE_SIZE, fetch_live_state
from titan_gitops.load import load_definition_files
from titan_gitops.pipeline import make_plan, validate_directory
from titan_gitops.plan import PlanOptions, build_plan
from titan_gitops.render.text import render_plan_text

TOKEN = "bench-token"
GOAL = 1.5
BASE_GOAL = 1.2


def seed_live(app: Any, bodies: list[dict[str, Any]], changed: float) -> int:
    """Store every desired body straight in the backend; every 1/changed-th one edited."""
    step = max(1, round(1 / changed)) if changed > 0 else 0
    edited = 0
    for n, body in enumerate(bodies):
        live = dict(body)
        if step and n % step == 0:
            live["objective"] = str(live["objective"]) + " Edited in the UI."
            edited += 1
        app.backend.create_task(live)
    return edited


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def diff_all(desired: Any, live: Any) -> int:
    """The field diff of every defined task against its live namesake; returns changed tasks."""
    by_name = {t.name: t for t in live.tasks}
    changed = 0
    for task in desired.tasks:
        current = by_name.get(task.name)
        before = normalise_task(current.body) if current else None
        after = normalise_task(task.body, ignore_fields=task.ignore_fields)
        if diff_bodies(before, after, sensitive_pointers=task.sensitive_paths):
            changed += 1
    return changed


def run_once(root: Path, client: TitanClient) -> dict[str, float]:
    """One pass over every stage, then the whole plan end to end; seconds per stage."""
    out: dict[str, float] = {}
    out["load"], _ = time_call(lambda: load_definition_files(root))
    validate_total, desired = time_call(lambda: validate_directory(root, environ={}))
    # validate_directory loads too: count only what it adds on top of loading.
    out["validate"] = max(0.0, validate_total - out["load"])
    out["validate_total"] = validate_total
    out["fetch"], live = time_call(lambda: fetch_live_state(client))
    out["diff"], changed = time_call(lambda: diff_all(desired, live))
    out["plan"], plan = time_call(lambda: build_plan(desired, live, diff_states(desired, live)))
    out["render"], _ = time_call(lambda: render_plan_text(plan))
    before = client.request_count
    whole_plan, whole = time_call(lambda: make_plan(root, client, environ={}))
    out["requests"] = client.request_count - before
    out["whole"] = whole_plan + time_call(lambda: render_plan_text(whole))[0]
    out["floor"] = validate_total + out["fetch"]
    out["changed"] = changed
    out["plan_updates"] = whole.counts()["update"]
    return out


def git(root: Path, *args: str) -> str:
    environ = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=root, env=environ, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit_base_then_change(root: Path, changed: float) -> tuple[str, int]:
    """Commit the definitions (the base), then change every 1/changed-th file and commit;
    returns the base commit and how many files changed."""
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    step = max(1, round(1 / changed))
    files = sorted((root / "tasks").glob("*.yaml"))
    for path in files[::step]:
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("objective: ", "objective: Merged. ", 1), encoding="utf-8")
    git(root, "commit", "-qam", "merged, not applied")
    return base, len(files[::step])


def time_with_base(root: Path, client: TitanClient, base: str, runs: int) -> dict[str, float]:
    """The same plan without and with the base, alternating; medians and requests of each."""
    without: list[float] = []
    with_base: list[float] = []
    requests: dict[str, int] = {}
    attributed = 0
    for _ in range(runs):
        for label, options in (("without", PlanOptions()), ("with", PlanOptions(base=base))):
            before = client.request_count
            seconds, plan = time_call(partial(make_plan, root, client, options, environ={}))
            requests[label] = client.request_count - before
            (without if label == "without" else with_base).append(seconds)
            if plan.threeway is not None:
                attributed = len(plan.threeway.tasks)
    return {
        "without": statistics.median(without),
        "with": statistics.median(with_base),
        "requests_without": requests["without"],
        "requests_with": requests["with"],
        "attributed": attributed,
    }


def main(argv: list[str] | None = None) -> int:
    """Generate, seed, serve, time; print per-stage figures and a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1,000 tasks, one run")
    args = parser.parse_args(argv)
    tasks, runs = (1_000, 1) if args.quick else (args.tasks, args.runs)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "defs"
        root.mkdir(parents=True, exist_ok=True)
        seconds, _ = time_call(lambda: write_files(root, tasks))
        print(f"wrote {tasks} definition files in {seconds:.2f} s", flush=True)
        desired = validate_directory(root, environ={})
        app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
        seconds, edited = time_call(
            lambda: seed_live(app, [dict(t.body) for t in desired.tasks], args.changed)
        )
        print(f"seeded {tasks} live tasks ({edited} changed) in {seconds:.2f} s", flush=True)
        server, base_url = start_background_server(app)
        try:
            with TitanClient(base_url, TOKEN) as client:
                results = [run_once(root, client) for _ in range(runs)]
                base, merged = commit_base_then_change(root, args.changed)
                based = time_with_base(root, client, base, runs)
        finally:
            server.shutdown()

    med = {key: statistics.median(r[key] for r in results) for key in results[0]}
    pages = math.ceil(tasks / PAGE_SIZE) + 1  # task pages, plus one page of templates
    requests = int(med["requests"])
    ratio = med["whole"] / med["floor"]
    print(f"tasks: {tasks}   changed live: {edited}   runs: {runs} (medians below)")
    for stage in ("load", "validate", "fetch", "diff", "plan", "render"):
        print(f"  {stage:9s} {med[stage]:7.3f} s")
    print(f"  whole plan {med['whole']:6.3f} s   floor (validate + listing) {med['floor']:.3f} s")
    print(f"HTTP requests: {requests} (listing pages: {pages})")
    print(f"ratio: {ratio:.2f} (goal: at most {GOAL})")
    base_ratio = based["with"] / based["without"]
    print(
        f"with a base ({merged} definitions changed in git since): "
        f"{based['with']:.3f} s against {based['without']:.3f} s without, "
        f"ratio {base_ratio:.2f} (goal: at most {BASE_GOAL}); "
        f"requests {int(based['requests_with'])} with, {int(based['requests_without'])} without; "
        f"{int(based['attributed'])} tasks attributed"
    )
    base_ok = base_ratio <= BASE_GOAL and based["requests_with"] == based["requests_without"]
    ok = requests == pages and int(med["plan_updates"]) == edited and ratio <= GOAL and base_ok
    print(
        f"tasks={tasks} changed={edited} updates={int(med['plan_updates'])} "
        + " ".join(f"{s}={med[s]:.3f}" for s in ("load", "validate", "fetch", "diff", "plan"))
        + f" render={med['render']:.3f} whole={med['whole']:.3f} floor={med['floor']:.3f} "
        f"requests={requests} pages={pages} ratio={ratio:.2f} goal={GOAL} "
        f"base_ratio={base_ratio:.2f} base_goal={BASE_GOAL} ok={str(ok).lower()}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
