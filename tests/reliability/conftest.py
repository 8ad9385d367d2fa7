"""Writes the collected reliability figures once the session ends (see counts.py).

A test marked `@pytest.mark.attack` reproduces one attack; it passing means the attack was held.
`@pytest.mark.attack(kind="tampered_plan")` also counts it under that kind. The card reads
`attacks_held`/`attacks_total` and `<kind>_held`/`<kind>_total`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest
from pluggy import Result

from tests.reliability.counts import add_count, write_counts


@pytest.fixture(scope="session", autouse=True)
def report_counts() -> Iterator[None]:
    """Hand the figures to bench/report.py when it asked for them."""
    yield
    write_counts()


def _attack_keys(item: pytest.Item) -> list[str]:
    marker = item.get_closest_marker("attack")
    if marker is None:
        return []
    kind = marker.kwargs.get("kind")
    return ["attacks", *([kind] if kind else [])]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Count every attack that will run, so a skipped or deselected one shows as not held."""
    for item in items:
        for key in _attack_keys(item):
            add_count(f"{key}_total")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Result[pytest.TestReport], None]:
    """An attack is held when its test passed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed:
        for key in _attack_keys(item):
            add_count(f"{key}_held")
