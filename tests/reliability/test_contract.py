"""The differential contract proof, counted for the report card (`contract_disagreements`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.property import test_contract_differential as differential
from tests.reliability.counts import add_count


@pytest.fixture(scope="module")
def service() -> Iterator[httpx.Client]:
    yield from differential.open_service()


def test_validate_and_the_emulator_never_disagree(service: httpx.Client) -> None:
    before = differential.disagreements()
    tried = sum(t["tried"] for t in differential.TALLY.values())
    try:
        differential.test_validate_refuses_exactly_what_the_emulator_refuses(service)
    finally:
        add_count("contract_disagreements", differential.disagreements() - before)
        now = sum(t["tried"] for t in differential.TALLY.values())
        add_count("contract_mutants", now - tried)
