"""The export round-trip property at a fixed seed, counted for the report card.

Every generated example runs (no shrinking, no stop at the first failure), so the card's
`export_roundtrip_failures` is the number of live task sets whose export did not validate,
plan empty and repeat byte for byte; tests/property/test_export_roundtrip.py holds the property.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import UnsatisfiedAssumption

from tests.property.test_export_roundtrip import check_round_trip, scenarios
from tests.reliability.counts import add_count

EXAMPLES = 60
_SEEN = {"examples": 0, "failures": 0}
_FIRST: list[str] = []


@seed(20260114)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(scenarios())
def _count_round_trips(scenario: tuple[dict[str, str], list[dict[str, Any]]]) -> None:
    try:
        check_round_trip(*scenario)
    except UnsatisfiedAssumption:
        raise
    except Exception as exc:  # any break at all is a failed round trip
        _SEEN["failures"] += 1
        _FIRST[:] = _FIRST or [f"{type(exc).__name__}: {exc} for {scenario!r}"]
    _SEEN["examples"] += 1


def test_export_round_trip_failures_are_counted_and_zero() -> None:
    _SEEN.update(examples=0, failures=0)
    _FIRST.clear()
    _count_round_trips()
    add_count("export_roundtrip_examples", _SEEN["examples"])
    add_count("export_roundtrip_failures", _SEEN["failures"])
    assert _SEEN["examples"] >= EXAMPLES // 2
    assert _SEEN["failures"] == 0, _FIRST[0]
