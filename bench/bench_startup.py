"""CLI start-up cost of the commands users run, as whole processes, vs a bare `python -c pass`.

    python bench/bench_startup.py [--quick] [--rounds N] [--python PATH]

Each case is a fresh process of the installed `titan-gitops` entry script (the worktree's package
first on the path): `--version`, `--help`, `validate tasks.example`, and `plan tasks.example` on the
embedded emulator (`TITAN_API_URL=local`, its state in a scratch folder, kept between rounds as a
user's would be). `validate` and `plan` run twice per round: with the validated-definitions
cache (in a scratch folder, filled by the untimed first round: a user's second run) and with it
turned off (`TITAN_GITOPS_CACHE=off`: every file validated, as on a fresh runner). One untimed
round warms the caches, bytecode included, as an installed package has it; then rounds alternate
the cases so machine noise spreads over all of them. Printed: each median, its spread (min-max),
peak RSS, and the ratio to the bare interpreter. Goals: `--version` at most 4x, `validate` 5x,
`plan` 8x (with the cache; the figures without it are printed beside them).

One more case is a floor, not ours to lower: a process that only loads the parts of the libraries
`plan tasks.example` loads and the project chose (httpx with httpcore, pydantic's BaseModel,
jsonschema's Draft 2020-12 validator, PyYAML's libyaml loader, sqlite3), as `plan_deps_x`; what
the command spends beyond it is printed as `plan_over_deps_ms`.

--python times another interpreter (and the console script beside it), such as the venv the
Action installs from requirements/action.lock (`TG_VENV=DIR python requirements/install_action.py
install`): the runtime dependencies only, as a user's install has them. The worktree's package
is first on the path either way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 15
QUICK_ROUNDS = 5
GOALS = {"version": 4.0, "validate": 5.0, "plan": 8.0}


def entry_point(python: str) -> list[str]:
    """How a user starts the CLI: the console script beside the interpreter, else `-m`."""
    script = Path(python).parent / "titan-gitops"
    if script.is_file():
        return [python, str(script)]
    return [python, "-m", "titan_gitops"]


OFF = {"TITAN_GITOPS_CACHE": "off"}
# The libraries `plan tasks.example` loads that are not ours, as far as it loads them: the client's
# HTTP (httpx imports its transport, httpcore, only when a client is made) and records (`import
# pydantic` alone defers BaseModel), the JSON Schema checks of the template's output_schema, the
# fast YAML reader, the emulator's store.
PLAN_LIBRARIES = (
    "import httpx, httpcore, sqlite3; from pydantic import BaseModel; "
    "from jsonschema import Draft202012Validator; from yaml import CSafeLoader"
)


def cases(python: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each case: its command and what it sets in the environment."""
    cli = entry_point(python)
    validate = [*cli, "validate", "tasks.example"]
    plan = [*cli, "plan", "tasks.example"]
    return {
        "python -c pass": ([python, "-c", "pass"], {}),
        "titan-gitops --version": ([*cli, "--version"], {}),
        "titan-gitops --help": ([*cli, "--help"], {}),
        "titan-gitops validate tasks.example": (validate, {}),
        "  the same, cache off": (validate, OFF),
        "titan-gitops plan tasks.example": (plan, {}),
        "  the same, cache off ": (plan, OFF),
        "plan's libraries alone": ([python, "-c", PLAN_LIBRARIES], {}),
    }


def time_once(argv: list[str], cwd: Path, environ: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process; it must exit 0."""
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}")
    return seconds, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds")
    parser.add_argument("--rounds", type=int, default=None, help=f"rounds (default {ROUNDS})")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to time")
    args = parser.parse_args(argv)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    environ = {**os.environ, "TITAN_API_URL": "local", "NO_COLOR": "1"}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    environ.pop("TITAN_TOKEN", None)
    # An installed package has its bytecode written (pip compiles it): so does the warm-up round.
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    timed = cases(args.python)
    samples: dict[str, list[float]] = {name: [] for name in timed}
    peaks: dict[str, float] = {name: 0.0 for name in timed}
    with tempfile.TemporaryDirectory(prefix="titan-startup-") as scratch:
        cwd = Path(scratch)
        shutil.copytree(REPO / "tasks.example", cwd / "tasks.example")
        environ["TITAN_GITOPS_CACHE_DIR"] = str(cwd / "cache")
        for round_ in range(rounds + 1):
            for name, (command, extra) in timed.items():
                seconds, mib = time_once(command, cwd, {**environ, **extra})
                if round_:  # the first round only warms the caches and the emulator's state
                    samples[name].append(seconds)
                    peaks[name] = max(peaks[name], mib)
    bare = statistics.median(samples["python -c pass"])
    print(f"{args.python}: {rounds} rounds, alternating; spread is min-max")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"{name:36s} median {median * 1000:7.1f} ms  "
            f"spread {min(values) * 1000:6.1f}-{max(values) * 1000:6.1f} ms  "
            f"peak {peaks[name]:5.1f} MiB  {median / bare:5.2f}x bare python"
        )
    ratio = {
        key: statistics.median(samples[name]) / bare
        for key, name in (
            ("version", "titan-gitops --version"),
            ("validate", "titan-gitops validate tasks.example"),
            ("plan", "titan-gitops plan tasks.example"),
            ("validate_off", "  the same, cache off"),
            ("plan_off", "  the same, cache off "),
            ("deps", "plan's libraries alone"),
        )
    }
    over_deps = statistics.median(samples["titan-gitops plan tasks.example"]) - statistics.median(
        samples["plan's libraries alone"]
    )
    met = all(ratio[key] <= goal for key, goal in GOALS.items())
    print(
        f"startup_vs_python={ratio['version']:.2f}x "
        f"validate_startup_x={ratio['validate']:.2f}x plan_startup_x={ratio['plan']:.2f}x "
        f"validate_startup_nocache_x={ratio['validate_off']:.2f}x "
        f"plan_startup_nocache_x={ratio['plan_off']:.2f}x "
        f"plan_deps_x={ratio['deps']:.2f}x plan_over_deps_ms={over_deps * 1000:.0f} "
        f"goals={GOALS['version']:g}/{GOALS['validate']:g}/{GOALS['plan']:g} "
        f"ok={str(met).lower()}"
    )


if __name__ == "__main__":
    main()
