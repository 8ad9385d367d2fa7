"""The diff's fast path for equal pairs gives what normalising and diffing both bodies gives.

diff_states skips normalise_task and diff_bodies on a pair whose managed fields are already the
same JSON (diff.same_managed_fields). Many random pairs, close to equal and not, are diffed both
ways and compared as JSON text, which tells 1 from 1.0 and one key order from another.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsontypes import Text, types_in
from titan_gitops.diff import (
    canonicalise_schema,
    diff_bodies,
    diff_states,
    normalise_task,
    same_managed_fields,
)
from titan_gitops.model import DesiredState, DesiredTask, LiveState, LiveTask, TaskDiff
from titan_gitops.spec import MANAGED_FIELDS, ProjectConfig

_KEYS = st.sampled_from(["type", "required", "a", "b", "properties", "items"])
_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, -0.0, 2.5])
_SCALARS |= st.sampled_from(["", "x", "y", "string", "object"])
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=3),
    max_leaves=8,
)
_FIELDS = st.sampled_from([k for k in MANAGED_FIELDS if k != "name"])
_BODIES = st.dictionaries(_FIELDS, _JSON, max_size=4)
_IGNORED = st.lists(st.sampled_from(["/payload", "/limits/a", "/output_schema/type", "/x"]))


def _retyped(value: Any) -> Any:
    """`value` with every int a float: equal by `==`, not as JSON."""
    if isinstance(value, dict):
        return {k: _retyped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_retyped(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _reordered(value: Any) -> Any:
    """`value` with every mapping's keys reversed: equal by `==`, not as JSON."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


@st.composite
def _pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A desired body and a live one: the same, or the same with one small change."""
    desired = {"name": "shop-a", **draw(_BODIES)}
    live = json.loads(json.dumps(desired))
    how = draw(st.sampled_from(["same", "retyped", "reordered", "empty", "other", "drop"]))
    field = draw(_FIELDS)
    if how == "retyped":
        live = _retyped(live)
    elif how == "reordered":
        live = _reordered(live)
    elif how == "empty":
        live[field] = draw(st.sampled_from([None, [], {}]))
    elif how == "other":
        live[field] = draw(_JSON)
    elif how == "drop":
        live.pop(field, None)
    live.update({"id": "t1", "status": "active"})
    return desired, live


def _text(diff: TaskDiff) -> str:
    return json.dumps([diff.before, diff.after, [asdict(f) for f in diff.fields]])


@settings(max_examples=600, deadline=None)
@given(_pairs(), _IGNORED)
def test_the_fast_path_diffs_as_the_full_path(pair: Any, ignored: list[str]) -> None:
    desired_body, live_body = pair
    task = DesiredTask("shop-a", desired_body, ignore_fields=tuple(ignored))
    desired = DesiredState((task,), templates={}, project=ProjectConfig(namespace="shop-"))
    live = LiveState((LiveTask("t1", "shop-a", None, live_body),))
    (diff,) = diff_states(desired, live)
    before = normalise_task(live_body, ignore_fields=ignored)
    after = normalise_task(desired_body, ignore_fields=ignored)
    full = TaskDiff(
        "shop-a", task, live.tasks[0], before=before, after=after, fields=diff_bodies(before, after)
    )
    assert _text(diff) == _text(full)
    assert json.dumps(diff.live_normalised) == json.dumps(normalise_task(live_body))


def test_equal_fields_pass_the_pre_check_and_unset_ones_count_as_absent() -> None:
    body = {"name": "a", "urls": ["https://a.example"], "payload": {"k": 1}}
    assert same_managed_fields(body, {**body, "id": "x", "limits": None, "proxy_locations": []})
    assert same_managed_fields({**body, "payload": {}}, {"name": "a", "urls": body["urls"]})


def test_the_pre_check_tells_what_equality_alone_does_not() -> None:
    body = {"name": "a", "payload": {"k": 1, "j": True}}
    assert not same_managed_fields(body, {"name": "a", "payload": {"k": 1.0, "j": True}})
    assert not same_managed_fields(body, {"name": "a", "payload": {"k": 1, "j": 1}})
    assert not same_managed_fields(body, {"name": "a", "payload": {"j": True, "k": 1}})
    # The same JSON text, but a tuple is not a list to normalise_task: equality tells them apart.
    assert not same_managed_fields({"urls": ["a"]}, {"urls": ("a",)})
    assert not same_managed_fields(body, {"name": "b", "payload": body["payload"]})


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _reference_normalise(body: dict[str, Any]) -> dict[str, Any]:
    """normalise_task as it was written before its shortcut: every field walked."""
    out: dict[str, Any] = {}
    for key in MANAGED_FIELDS:
        value = body.get(key)
        if value in (None, [], {}):
            continue
        if key == "output_schema":
            value = canonicalise_schema(value)
        out[key] = value if key in ("payload", "limits") else _drop_empty(value)
    result: dict[str, Any] = json.loads(json.dumps(out))
    return result


@settings(max_examples=400, deadline=None)
@given(_BODIES)
def test_normalise_gives_what_walking_every_field_gives(body: dict[str, Any]) -> None:
    assert json.dumps(normalise_task(body)) == json.dumps(_reference_normalise(body))


# What a body built in Python may hold besides JSON's own values: tuples, a subclass of str, a
# key that is no string. normalise_task gives what a JSON round trip gives for them too.
_ODD_SCALARS = _SCALARS | st.sampled_from([Text("x"), Text(""), ()])
_ODD_JSON = st.recursive(
    _ODD_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_KEYS | st.sampled_from([1, Text("a")]), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_FIELDS, _ODD_JSON, max_size=4))
def test_normalise_gives_a_json_round_trip_of_python_values(body: dict[str, Any]) -> None:
    normal = normalise_task(body)
    assert json.dumps(normal) == json.dumps(_reference_normalise(body))
    assert types_in(normal) <= {dict, list, str, int, float, bool, type(None)}


def test_each_kind_of_empty_value_is_dropped_alone() -> None:
    empties: tuple[Any, ...] = (None, [], {})
    for empty in empties:
        body = {"name": "a", "execution_plan": {"steps": [{"a": 1, "b": empty}]}}
        assert normalise_task(body)["execution_plan"] == {"steps": [{"a": 1}]}
    # Inside a string the same characters are no empty value.
    body = {"name": "a", "objective": "null [] {}", "execution_plan": {"s": "{}"}}
    assert normalise_task(body) == body
