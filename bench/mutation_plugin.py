"""The pytest side of a mutation run (bench/mutation.py), switched on by environment variables.

- TITAN_GITOPS_MUTATION_MAP=FILE: name the coverage context after each test (so a line maps to the
  tests that run it) and write each test's duration and outcome to FILE at the end.
- TITAN_GITOPS_MUTATION_SELECT=FILE: run only the test ids listed in FILE, one per line
  (`file:PATH` keeps every test of that module).
- TITAN_GITOPS_MUTATION_FAILED=FILE: write the id of the first failing test to FILE.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

MAP_ENV = "TITAN_GITOPS_MUTATION_MAP"
SELECT_ENV = "TITAN_GITOPS_MUTATION_SELECT"
FAILED_ENV = "TITAN_GITOPS_MUTATION_FAILED"

_durations: dict[str, float] = {}
_failed: list[str] = []


def _switch_context(name: str) -> None:
    if not os.environ.get(MAP_ENV):
        return
    import coverage

    current = coverage.Coverage.current()
    if current is not None:
        current.switch_context(name)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select = os.environ.get(SELECT_ENV)
    if not select:
        return
    wanted = set(Path(select).read_text(encoding="utf-8").splitlines())

    def keep(item: pytest.Item) -> bool:
        return item.nodeid in wanted or f"file:{item.nodeid.split('::')[0]}" in wanted

    config.hook.pytest_deselected(items=[item for item in items if not keep(item)])
    items[:] = [item for item in items if keep(item)]


def clear_caches(package: str = "titan_gitops") -> None:
    """Empty every functools cache in the package.

    While mapping, so that each test runs (and is credited with) the lines a cache would have
    answered for it; in a mutant's run, so that no answer cached before the mutant was made
    active hides it.
    """
    for name, module in list(sys.modules.items()):
        if name == package or name.startswith(package + "."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    if os.environ.get(MAP_ENV):
        clear_caches()
    _switch_context(item.nodeid)
    try:
        return (yield)
    finally:
        _switch_context("")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration
    if report.failed and report.nodeid not in _failed:
        _failed.append(report.nodeid)
        failed_file = os.environ.get(FAILED_ENV)
        if failed_file and len(_failed) == 1:
            Path(failed_file).write_text(report.nodeid, encoding="utf-8")


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get(MAP_ENV)
    if out:
        Path(out).write_text(
            json.dumps({"durations": _durations, "failed": _failed}), encoding="utf-8"
        )
