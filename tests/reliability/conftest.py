"""Writes the collected reliability figures once the session ends (see counts.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.counts import write_counts


@pytest.fixture(scope="session", autouse=True)
def report_counts() -> Iterator[None]:
    """Hand the figures to bench/report.py when it asked for them."""
    yield
    write_counts()
