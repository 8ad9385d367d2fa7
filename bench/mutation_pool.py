"""Runs mutants: the coverage map that picks each mutant's tests, and a pool of forked pytest runs.

The runner imports every module under mutation once, from its mutant schema (bench/mutants.py),
then forks one child per mutant: the child makes its mutant active and runs pytest on the tests
that cover the mutated lines, stopping at the first failure. A mutant that acts at import time
(a module-level constant, say) has the package imported again in its child.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import mutants
import mutation_plugin

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".mutation"
SITE = Path(__file__).resolve().parent / "mutation_site"
PACKAGE = "titan_gitops"
CHILD_CRASHED = 70
# Stop at the first failure. The package and its plugins were imported before pytest started, so
# pytest cannot rewrite their asserts; that warning is expected here, not an error.
CHILD_ARGS = [
    "-x",
    "-q",
    "-n",
    "0",
    "--no-header",
    "-p",
    "mutation_plugin",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
]


@dataclass
class TestMap:
    """Which tests run each line of the mutated files, how long each takes, which fail unmutated.

    `fresh` are test files added or changed since the map was made: they are not in `lines`, so
    every mutant runs them whole. Tests that took longer than `cap` seconds in the mapping run
    are left out of every selection (a cap of 0 keeps them all).
    """

    lines: dict[str, dict[int, list[str]]]
    durations: dict[str, float]
    failed: list[str]
    fresh: list[str] = field(default_factory=list)
    cap: float = 0.0

    def left_out(self) -> list[str]:
        """The tests slower than the cap, which no mutant runs."""
        return [t for t, s in self.durations.items() if self.cap and s > self.cap]

    def tests_for(self, mutant: mutants.Mutant) -> list[str]:
        by_line = self.lines.get(mutant.path, {})
        found: set[str] = set()
        for line in range(mutant.line, mutant.end_line + 1):
            found.update(by_line.get(line, ()))
        return self._ordered(found)

    def tests_of_module(self, path: str) -> list[str]:
        return self._ordered(
            {test for tests in self.lines.get(path, {}).values() for test in tests}
        )

    def _ordered(self, found: set[str]) -> list[str]:
        dropped = set(self.failed) | set(self.left_out())
        kept = {test for test in found - dropped if test.split("::")[0] not in self.fresh}
        return sorted(kept, key=lambda test: self.durations.get(test, 0.0))

    def seconds(self, tests: Iterable[str]) -> float:
        return sum(self.durations.get(test, 0.0) for test in tests)

    def seconds_of_files(self, files: Iterable[str]) -> float:
        wanted = set(files)
        return sum(s for test, s in self.durations.items() if test.split("::")[0] in wanted)


def _digest(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(str(file.relative_to(REPO)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _files(folder: str) -> list[Path]:
    return [f for f in (REPO / folder).rglob("*") if f.is_file() and "__pycache__" not in f.parts]


def _test_modules() -> dict[str, str]:
    """Each test module (a tests/**/test_*.py file) and the digest of its text."""
    return {
        str(f.relative_to(REPO)): _digest([f])
        for f in _files("tests")
        if f.name.startswith("test_") and f.suffix == ".py"
    }


def _source_digest(paths: list[str], selection: list[str]) -> str:
    """Everything but the test modules: a change here makes the whole map again."""
    others = [f for folder in (PACKAGE, "testing", "tests") for f in _files(folder)]
    others = [
        f
        for f in others
        if not (f.name.startswith("test_") and f.suffix == ".py" and "tests" in f.parts)
    ]
    extra = [REPO / "pyproject.toml", Path(mutation_plugin.__file__)]
    return (
        _digest(others + extra)
        + hashlib.sha256(json.dumps([paths, selection]).encode()).hexdigest()[:8]
    )


def build_map(
    paths: list[str], selection: list[str], *, again: bool, say: Callable[[str], None]
) -> TestMap:
    """Run the test selection once under coverage, one context per test (cached by content).

    A map stays in use while only test modules change; those are then run whole for every mutant.
    """
    STATE.mkdir(exist_ok=True)
    cached = STATE / f"map-{_source_digest(paths, selection)}.json"
    modules = _test_modules()
    if again or not cached.exists():
        say(f"mapping tests to lines: coverage over {' '.join(selection)} (minutes; cached after)")
        started = time.monotonic()
        cached.write_text(json.dumps({**_coverage_map(paths, selection), "modules": modules}))
        say(f"mapped in {time.monotonic() - started:.0f} s")
    data = json.loads(cached.read_text(encoding="utf-8"))
    lines = {path: {int(k): v for k, v in by.items()} for path, by in data["lines"].items()}
    fresh = sorted(name for name, digest in modules.items() if data["modules"].get(name) != digest)
    if fresh:
        say(f"test modules changed since the map was made, run whole: {' '.join(fresh)}")
    return TestMap(lines, data["durations"], data["failed"], fresh)


def _coverage_map(paths: list[str], selection: list[str]) -> dict[str, object]:
    data_file, outcome = STATE / "coverage", STATE / "outcome.json"
    data_file.unlink(missing_ok=True)
    include = ",".join(str(REPO / path) for path in paths)
    env = {**os.environ, mutation_plugin.MAP_ENV: str(outcome), "PYTHONPATH": _pythonpath(False)}
    command = [sys.executable, "-m", "coverage", "run", f"--data-file={data_file}"]
    command += [f"--include={include}", "-m", "pytest", "-q", "-n", "0", "-p", "mutation_plugin"]
    command += selection
    subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=False)
    import coverage

    covered = coverage.CoverageData(basename=str(data_file))
    covered.read()
    lines: dict[str, dict[int, list[str]]] = {}
    for path in paths:
        by_line = covered.contexts_by_lineno(str(REPO / path))
        lines[path] = {line: sorted(c for c in tests if c) for line, tests in by_line.items()}
    return {"lines": lines, **json.loads(outcome.read_text(encoding="utf-8"))}


def _pythonpath(schemas: bool = True) -> str:
    """The repository first (its package wins over an installed one), bench/, then the hook."""
    parts = [str(REPO), str(SITE.parent), *([str(SITE)] if schemas else [])]
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*parts, existing] if existing else parts)


def prepare(manifest: list[tuple[str, mutants.Module]]) -> None:
    """Import the package, the manifest's modules from their schemas, here and in children."""
    manifest_file = STATE / "manifest.json"
    mutants.write_manifest(manifest_file, manifest)
    os.environ[mutants.MANIFEST_ENV] = str(manifest_file)
    os.environ["PYTHONPATH"] = _pythonpath(True)
    os.environ.pop(mutants.ACTIVE_ENV, None)
    os.chdir(REPO)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    mutants.install_hook(REPO)
    import importlib
    import pkgutil

    package = importlib.import_module(PACKAGE)
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name, _path in manifest:
        loader = getattr(sys.modules[name].__spec__, "loader", None)
        if not getattr(loader, "compiled", False):
            raise SystemExit(f"mutation: {name} was not loaded from its mutant schema")
    import hypothesis  # noqa: F401  (warm the import the children share)
    import pytest  # noqa: F401


@dataclass
class Job:
    """One pytest run of one mutant: which tests, how long it may take."""

    mutant: mutants.Mutant
    args: list[str]
    select: list[str] | None
    timeout: float
    tier: int


@dataclass
class Outcome:
    status: str  # killed | survived | timeout | error | no tests
    seconds: float
    failed_test: str = ""
    tier: int = 1
    detail: str = ""


@dataclass
class _Running:
    job: Job
    pid: int
    started: float
    failed_file: Path
    slot: int
    output: Path


def _child(job: Job, failed_file: Path, select_file: Path | None, output: Path) -> None:
    os.setpgid(0, 0)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    written = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for fd in (1, 2):
        os.dup2(written, fd)
    if job.mutant.at_import:
        for name in [
            name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")
        ]:
            del sys.modules[name]
    if job.mutant.number >= 0:
        mutants.activate(job.mutant.number)
    mutation_plugin.clear_caches(PACKAGE)
    os.environ[mutation_plugin.FAILED_ENV] = str(failed_file)
    if select_file is not None:
        os.environ[mutation_plugin.SELECT_ENV] = str(select_file)
    import pytest

    code = pytest.main([*CHILD_ARGS, *job.args])
    os._exit(int(code))


def show(job: Job) -> int:
    """Run one job in this process with pytest's output shown; its exit status."""
    print(f"mutation: {job.mutant.describe()}", file=sys.stderr, flush=True)
    mutants.activate(job.mutant.number)
    mutation_plugin.clear_caches(PACKAGE)
    if job.select is not None:
        select_file = STATE / "select-show.txt"
        select_file.write_text("\n".join(job.select), encoding="utf-8")
        os.environ[mutation_plugin.SELECT_ENV] = str(select_file)
    import pytest

    return int(pytest.main([*CHILD_ARGS, *job.args]))


def _start(job: Job, slot: int) -> _Running:
    failed_file = STATE / f"failed-{slot}.txt"
    failed_file.unlink(missing_ok=True)
    select_file = None
    if job.select is not None:
        select_file = STATE / f"select-{slot}.txt"
        select_file.write_text("\n".join(job.select), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    output = STATE / f"output-{slot}.txt"
    pid = os.fork()
    if pid == 0:
        try:
            _child(job, failed_file, select_file, output)
        except BaseException:  # the child must end here, whatever happened
            import traceback

            traceback.print_exc()
        finally:
            os._exit(CHILD_CRASHED)
    return _Running(job, pid, time.monotonic(), failed_file, slot, output)


def _finish(running: _Running, status_code: int) -> Outcome:
    seconds = time.monotonic() - running.started
    failed = running.failed_file.read_text(encoding="utf-8") if running.failed_file.exists() else ""
    code = os.waitstatus_to_exitcode(status_code)
    # pytest: 0 all passed, 1 a test failed, 2 interrupted (a collection error: the module did
    # not import), 4 a usage error, 5 no test ran. Any other end (an exit code the code under
    # test raised, a signal, pytest's internal error) is the mutant breaking the run, which the
    # unmutated code does not: detected. 4, 5 and a crash of the child itself say nothing.
    if code == 0:
        status = "survived"
    elif code in (4, 5, CHILD_CRASHED):
        status = "error"
    else:
        status = "killed"
    detail = ""
    if code not in (0, 1, 2):
        text = running.output.read_text(encoding="utf-8", errors="replace")
        detail = f"exit {code}: " + " | ".join(text.strip().splitlines()[-3:])
    return Outcome(status, seconds, failed, running.job.tier, detail)


def run_jobs(jobs: list[Job], workers: int, report: Callable[[Job, Outcome], None]) -> None:
    """Run the jobs, `workers` at a time; `report(job, outcome)` as each ends."""
    pending = list(reversed(jobs))
    running: dict[int, _Running] = {}
    free = list(range(workers))
    while pending or running:
        while pending and free:
            slot = free.pop()
            started = _start(pending.pop(), slot)
            running[started.pid] = started
        pid, status_code = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for item in list(running.values()):
                if now - item.started > item.job.timeout:
                    _kill_group(item.pid)
                    os.waitpid(item.pid, 0)
                    del running[item.pid]
                    free.append(item.slot)
                    report(item.job, Outcome("timeout", now - item.started, "", item.job.tier))
            time.sleep(0.02)
            continue
        if pid in running:
            item = running.pop(pid)
            free.append(item.slot)
            _kill_group(pid)
            report(item.job, _finish(item, status_code))


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
