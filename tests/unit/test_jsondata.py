"""jsondata.plain_copy: what a JSON round trip gives, new containers and plain values shared."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsontypes import Text, types_in
from titan_gitops.jsondata import is_plain_value, plain_copy


class _Number(int):
    pass


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from([Text("t"), _Number(7), ()])
)
_KEYS = st.text(max_size=4) | st.sampled_from([Text("k"), 3, None, True])
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_a_copy_is_what_the_json_round_trip_gives(value: Any) -> None:
    copied = plain_copy(value)
    expected = json.loads(json.dumps(value))
    assert json.dumps(copied) == json.dumps(expected)
    assert types_in(copied) == types_in(expected)


def test_containers_are_new_and_plain_values_shared() -> None:
    text = "https://shop.example.com/products/" + "x" * 40
    value: dict[str, Any] = {
        "urls": [text],
        "schema": {"type": "object", "required": ["a"]},
        "n": 1.5,
    }
    copied = plain_copy(value)
    assert copied == value
    assert copied["urls"] is not value["urls"]
    assert copied["schema"] is not value["schema"]
    assert copied["schema"]["required"] is not value["schema"]["required"]
    assert copied["urls"][0] is text
    copied["schema"]["required"].append("b")
    assert value["schema"]["required"] == ["a"]


def test_what_json_cannot_hold_is_refused_as_the_round_trip_refuses_it() -> None:
    with pytest.raises(TypeError):
        plain_copy({"when": object()})


def test_only_exact_plain_values_are_plain() -> None:
    assert all(is_plain_value(v) for v in ("", 0, 1.5, True, None))
    odd: tuple[Any, ...] = (Text("a"), _Number(1), (), [], {})
    assert not any(is_plain_value(v) for v in odd)
