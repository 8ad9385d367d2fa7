"""Normalise and diff: no change that is not a change survives; real changes are field by field."""

from __future__ import annotations

from typing import Any

from tests.jsontypes import Text, types_in
from titan_gitops.diff import diff_bodies, diff_states, normalise_task, same_managed_fields
from titan_gitops.model import DesiredState, DesiredTask, LiveState, LiveTask
from titan_gitops.pointers import remove_pointer, set_pointer
from titan_gitops.schema_compat import classify_schema_change
from titan_gitops.spec import ProjectConfig

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
    "required": ["name", "price"],
}
TASK: dict[str, Any] = {
    "name": "shop-a",
    "urls": ["https://a.example/1", "https://a.example/2"],
    "objective": "Extract names and prices",
    "output_schema": SCHEMA,
    "execution_type": "single",
}


def test_server_owned_and_unknown_fields_are_not_differences() -> None:
    live = {
        **TASK,
        "id": "0b8f",
        "status": "active",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-02T00:00:00Z",
        "something_new_the_server_adds": {"x": 1},
    }
    assert diff_bodies(normalise_task(live), normalise_task(TASK)) == ()


def test_a_normalised_body_shares_its_texts_and_copies_every_container() -> None:
    objective = "Extract the name and price of every product on the page."
    step = {"action": "scrape", "note": objective, "skip": None}
    body = {"name": "a", "objective": objective, "execution_plan": {"steps": [step]}}
    normal = normalise_task(body)
    assert normal == {
        "name": "a",
        "objective": objective,
        "execution_plan": {"steps": [{"action": "scrape", "note": objective}]},
    }
    # The texts are the body's own (not copies), the containers new.
    assert normal["execution_plan"]["steps"][0]["note"] is objective
    assert normal["execution_plan"]["steps"][0] is not step
    assert step == {"action": "scrape", "note": objective, "skip": None}


def test_python_values_normalise_as_their_json_round_trip_would() -> None:
    body = {
        "name": "a",
        "urls": ("https://a.example/", Text("https://b.example/")),
        # A key that is no string, and an empty value beside it, at several depths.
        "output_schema": {
            "type": "object",
            "properties": {1: {"type": "string"}, "b": {"x": None}},
        },
        "execution_plan": {"steps": [{"a": (), "b": None, "c": {}}], 2: [{"y": None, "z": "k"}]},
    }
    normal = normalise_task(body)
    assert normal == {
        "name": "a",
        "urls": ["https://a.example/", "https://b.example/"],
        "output_schema": {"type": "object", "properties": {"1": {"type": "string"}}},
        # A tuple is kept even when empty: the round trip makes it a list only afterwards.
        "execution_plan": {"steps": [{"a": []}], "2": [{"z": "k"}]},
    }
    assert types_in(normal) == {dict, list, str}


def test_empty_values_equal_absent_ones() -> None:
    live = {**TASK, "proxy_locations": [], "limits": {}, "schedule": None}
    assert normalise_task(live) == normalise_task(TASK)


def test_schema_key_order_and_required_order_are_not_differences() -> None:
    reordered = {
        "required": ["price", "name"],
        "properties": {"price": {"type": "number"}, "name": {"type": "string"}},
        "type": "object",
    }
    assert normalise_task({**TASK, "output_schema": reordered}) == normalise_task(TASK)


def test_url_order_is_a_difference_shown_as_the_whole_list() -> None:
    swapped = {**TASK, "urls": list(reversed(TASK["urls"]))}
    (change,) = diff_bodies(normalise_task(TASK), normalise_task(swapped))
    assert change.path == "urls"
    assert change.before == TASK["urls"]
    assert change.after == list(reversed(TASK["urls"]))


def test_nested_schema_change_is_reported_at_its_path() -> None:
    changed = {
        **TASK,
        "output_schema": {
            **SCHEMA,
            "properties": {**SCHEMA["properties"], "price": {"type": "string"}},
        },
    }
    (change,) = diff_bodies(normalise_task(TASK), normalise_task(changed))
    assert change.pointer == "/output_schema/properties/price/type"
    assert (change.before, change.after, change.kind) == ("number", "string", "changed")


def test_added_and_removed_fields() -> None:
    before = normalise_task({**TASK, "limits": {"max_results": 5}})
    after = normalise_task({**TASK, "payload": {"k": 1}})
    changes = {c.path: c for c in diff_bodies(before, after)}
    assert changes["limits"].kind == "removed"
    assert changes["payload"].kind == "added"
    assert changes["payload"].after == {"k": 1}


def test_ignored_pointer_is_left_out_of_both_sides() -> None:
    live = normalise_task({**TASK, "limits": {"max_results": 5, "timeout_seconds": 9}})
    desired = {**TASK, "limits": {"max_results": 7, "timeout_seconds": 9}}
    ignore = ("/limits/max_results",)
    assert (
        diff_bodies(
            normalise_task(live, ignore_fields=ignore),
            normalise_task(desired, ignore_fields=ignore),
        )
        == ()
    )


def test_remove_pointer_prunes_emptied_mappings() -> None:
    doc = {"limits": {"max_results": 5}, "name": "x"}
    remove_pointer(doc, "/limits/max_results")
    assert doc == {"name": "x"}


def test_sensitive_pointer_marks_the_field() -> None:
    before = normalise_task({**TASK, "payload": {"api_key": "old"}})
    after = normalise_task({**TASK, "payload": {"api_key": "new"}})
    (change,) = diff_bodies(before, after, sensitive_pointers=frozenset({"/payload/api_key"}))
    assert change.sensitive


def test_breaking_schema_changes_are_classified() -> None:
    new = {
        "type": "object",
        "properties": {
            "price": {"type": "integer"},
            "currency": {"type": "string", "enum": ["EUR"]},
        },
        "required": ["price", "currency"],
    }
    old = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "price": {"type": "number"},
            "currency": {"type": "string", "enum": ["EUR", "USD"]},
        },
        "required": ["price"],
    }
    reasons = classify_schema_change(old, new)
    assert "name: property removed" in reasons
    assert "currency: newly required" in reasons
    assert "price: type narrowed from number to integer" in reasons
    assert "currency: enum values removed: USD" in reasons


def test_adding_an_optional_property_is_compatible() -> None:
    new = {**SCHEMA, "properties": {**SCHEMA["properties"], "sku": {"type": "string"}}}
    assert classify_schema_change(SCHEMA, new) == []


def test_a_create_lists_every_field_not_one_root_change() -> None:
    body = {"name": "a", "urls": ["https://x.example"], "limits": {"max_results": 5}}
    changes = diff_bodies(None, body)
    assert [c.pointer for c in changes] == ["/limits", "/name", "/urls"]
    assert changes[1].after == "a"


def test_a_mostly_rewritten_mapping_is_still_shown_key_by_key() -> None:
    before = {"name": "a", "payload": {"k1": 1, "k2": 2, "k3": 3}}
    after = {"name": "a", "payload": {"k1": 1, "j2": 2, "j3": 3}}
    pointers = [c.pointer for c in diff_bodies(before, after)]
    assert pointers == ["/payload/j2", "/payload/j3", "/payload/k2", "/payload/k3"]


def test_set_pointer_reaches_list_items_by_index() -> None:
    body = {"urls": ["https://a.example", "https://b.example"], "payload": {}}
    set_pointer(body, "/urls/1", "https://c.example")
    set_pointer(body, "/payload/deep/key", 1)
    assert body == {
        "urls": ["https://a.example", "https://c.example"],
        "payload": {"deep": {"key": 1}},
    }


# --- diff_states: matching, normalising, diffing whole states ---------------------------------


def _defined(name: str, **gitops: Any) -> DesiredTask:
    return DesiredTask(name, {**TASK, "name": name}, **gitops)


def _desired(*tasks: DesiredTask) -> DesiredState:
    return DesiredState(tasks, templates={}, project=ProjectConfig(namespace="shop-"))


def _live(name: str, task_id: str, **changed: Any) -> LiveTask:
    body = {**TASK, "name": name, **changed, "id": task_id, "status": "active"}
    return LiveTask(task_id, name, "2026-01-01T00:00:00Z", body)


def test_diff_states_matches_by_name_and_lists_the_field_changes() -> None:
    live = LiveState((_live("shop-a", "id-1", objective="Old"),))
    (diff,) = diff_states(_desired(_defined("shop-a")), live)
    assert diff.live is live.tasks[0]
    assert diff.previous_name is None
    assert [(f.path, f.before, f.after) for f in diff.fields] == [
        ("objective", "Old", TASK["objective"])
    ]
    assert diff.before == normalise_task(live.tasks[0].body)
    assert diff.after == normalise_task({**TASK, "name": "shop-a"})


def test_diff_states_matches_a_previous_name_when_no_live_task_has_the_name() -> None:
    live = LiveState((_live("shop-old", "id-1"),))
    (diff,) = diff_states(_desired(_defined("shop-new", previous_names=("shop-old",))), live)
    assert diff.live is live.tasks[0]
    assert diff.previous_name == "shop-old"
    assert [(f.path, f.before, f.after) for f in diff.fields] == [("name", "shop-old", "shop-new")]


def test_diff_states_prefers_the_name_and_yields_the_previous_holder_unmatched() -> None:
    live = LiveState((_live("shop-old", "id-1"), _live("shop-new", "id-2")))
    new, old = diff_states(_desired(_defined("shop-new", previous_names=("shop-old",))), live)
    assert (new.name, new.live, new.previous_name) == ("shop-new", live.tasks[1], None)
    assert (old.name, old.desired, old.live) == ("shop-old", None, live.tasks[0])


def test_diff_states_leaves_an_ambiguous_rename_unmatched() -> None:
    live = LiveState((_live("shop-x", "id-1"), _live("shop-y", "id-2")))
    desired = _desired(_defined("shop-new", previous_names=("shop-x", "shop-y")))
    diff = diff_states(desired, live)[0]
    assert diff.live is None
    assert diff.fields == ()
    assert [t.task_id for t in diff.rename_candidates] == ["id-1", "id-2"]


def test_diff_states_yields_defined_tasks_in_name_order_then_unmatched_live_ones() -> None:
    live = LiveState((_live("team-z", "id-9"), _live("shop-b", "id-2"), _live("shop-a", "id-3")))
    diffs = diff_states(_desired(_defined("shop-c"), _defined("shop-b")), live)
    assert [(d.name, d.desired is not None) for d in diffs] == [
        ("shop-b", True),
        ("shop-c", True),
        ("shop-a", False),
        ("team-z", False),
    ]
    create, unmatched = diffs[1], diffs[2]
    assert create.live is None
    assert [f.kind for f in create.fields] == ["added"] * len(create.fields)
    assert (unmatched.after, unmatched.fields) == (None, ())
    assert unmatched.before == unmatched.live_normalised == normalise_task(live.tasks[2].body)


def test_diff_states_applies_ignore_fields_to_both_sides_but_not_to_the_fingerprint_body() -> None:
    live = LiveState((_live("shop-a", "id-1", limits={"max_results": 1, "timeout_seconds": 3}),))
    desired = _desired(
        DesiredTask(
            "shop-a",
            {**TASK, "name": "shop-a", "limits": {"max_results": 9, "timeout_seconds": 3}},
            ignore_fields=("/limits/max_results",),
        )
    )
    (diff,) = diff_states(desired, live)
    assert diff.fields == ()
    assert diff.before is not None
    assert diff.before["limits"] == {"timeout_seconds": 3}
    assert diff.live_normalised is not None
    assert diff.live_normalised["limits"] == {"max_results": 1, "timeout_seconds": 3}


def test_canonical_schemas_are_shared_by_exact_text_and_the_memo_stays_bounded() -> None:
    from titan_gitops import diff

    one = {"type": "object", "required": ["b", "a"]}
    first = normalise_task({"name": "x", "output_schema": one})
    # The same text again: the same canonical form, and a copy the caller may change.
    second = normalise_task({"name": "y", "output_schema": dict(one)})
    assert (
        first["output_schema"]
        == second["output_schema"]
        == {
            "type": "object",
            "required": ["a", "b"],
        }
    )
    second["output_schema"]["required"].append("c")
    assert normalise_task({"output_schema": one})["output_schema"]["required"] == ["a", "b"]
    # 1 and 1.0 are different JSON: never one memo entry.
    assert normalise_task({"output_schema": {"maximum": 1}})["output_schema"] == {"maximum": 1}
    floats = normalise_task({"output_schema": {"maximum": 1.0}})["output_schema"]
    assert type(floats["maximum"]) is float
    # Kept until full, then emptied before the next one is kept.
    diff._CANONICAL.clear()
    for n in range(diff._CANONICAL_MAX):
        schema = {"type": ["string", "null"], "maxLength": n}
        out = normalise_task({"output_schema": schema})["output_schema"]
        assert out == {"type": ["null", "string"], "maxLength": n}
        assert len(diff._CANONICAL) == n + 1
    normalise_task({"output_schema": {"maxLength": -1}})
    assert len(diff._CANONICAL) == 1


def test_the_equal_pair_check_holds_however_the_texts_are_shared() -> None:
    # One side holds one text twice (the same object), the other two equal copies: the same
    # JSON, so the same managed fields, whatever the encoding the check compares keeps of sharing.
    text = "".join(["https://a.example/", "1"])
    twice = {"name": "shop-a", "urls": [text, text]}
    copies = {"name": "shop-a", "urls": ["".join(["https://a.example/", "1"]), text]}
    assert same_managed_fields(twice, copies)
    assert same_managed_fields(copies, twice)


def test_the_equal_pair_check_reads_a_subclass_of_str_by_its_json_text() -> None:
    # marshal cannot write a subclass of str: the check falls back to the JSON text.
    assert same_managed_fields({"name": Text("shop-a")}, {"name": "shop-a"})
    assert same_managed_fields({"name": "shop-a"}, {"name": Text("shop-a")})
    assert same_managed_fields(
        {"name": "shop-a", "payload": {"k": Text("v"), "n": 1}},
        {"name": "shop-a", "payload": {"k": "v", "n": 1}},
    )
    assert not same_managed_fields(
        {"name": "shop-a", "payload": {"k": Text("v"), "n": 1}},
        {"name": "shop-a", "payload": {"n": 1, "k": "v"}},
    )
    assert not same_managed_fields(
        {"name": "shop-a", "payload": {"k": Text("v"), "n": 1}},
        {"name": "shop-a", "payload": {"k": "v", "n": 1.0}},
    )


def test_a_tuple_schema_is_normalised_alike_whatever_list_schema_came_before() -> None:
    # A tuple and a list have one JSON text; the canonical-schema cache must not hand the one
    # the other's form. (Only a body built in Python holds a tuple; it is normalised as the
    # JSON round trip of the old code gave it, empty values inside kept.)
    listed = {"name": "a", "output_schema": [{"type": None, "required": ["b", "a"]}]}
    tupled = {"name": "a", "output_schema": ({"type": None, "required": ["b", "a"]},)}
    first = normalise_task(listed)
    assert normalise_task(tupled)["output_schema"] == [{"type": None, "required": ["b", "a"]}]
    assert first["output_schema"] == [{"required": ["a", "b"]}]
    assert normalise_task(listed) == first


def test_a_schema_marshal_cannot_write_is_canonicalised_without_the_cache() -> None:
    body = {"name": "a", "output_schema": {"type": Text("object"), "required": ["b", "a"]}}
    assert normalise_task(body)["output_schema"] == {"type": "object", "required": ["a", "b"]}
