"""The schema checks' cache: keyed by a schema's JSON in its own key order, exact either way."""

from __future__ import annotations

from fractions import Fraction

from titan_gitops.schemas import _digest, check_schema


def test_a_schema_ordered_otherwise_is_checked_afresh_in_its_own_order() -> None:
    first = check_schema({"type": "object", "propertes": {}, "requird": []})
    second = check_schema({"type": "object", "requird": [], "propertes": {}})
    assert [path for path, _ in first] == [("propertes",), ("requird",)]
    assert [path for path, _ in second] == [("requird",), ("propertes",)]


def test_equal_schemas_share_a_key_and_different_ones_do_not() -> None:
    assert _digest({"type": "object"}) == _digest({"type": "object"})
    assert _digest({"maximum": 1}) != _digest({"maximum": 1.0})
    assert _digest({"maximum": 1}) != _digest({"maximum": True})


def test_a_value_json_cannot_hold_is_keyed_apart_from_its_text() -> None:
    odd = {"const": Fraction(1, 2)}
    assert _digest(odd) == _digest({"const": Fraction(1, 2)})
    assert _digest(odd) != _digest({"const": "1/2"})
    assert check_schema(odd) == []
