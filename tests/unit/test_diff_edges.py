"""Normalise and diff at the edges: empty nested values, list items, schema lists, matching."""

from __future__ import annotations

from typing import Any

from titan_gitops.diff import diff_bodies, diff_states, normalise_task
from titan_gitops.model import DesiredState, DesiredTask, LiveState, LiveTask
from titan_gitops.spec import ProjectConfig

TASK: dict[str, Any] = {
    "name": "shop-a",
    "urls": ["https://a.example/1"],
    "objective": "Extract names",
    "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
    "execution_type": "single",
}


def _desired(*tasks: DesiredTask) -> DesiredState:
    return DesiredState(tasks, templates={}, project=ProjectConfig(namespace="shop-"))


def _live(name: str, task_id: str, **changed: Any) -> LiveTask:
    body = {**TASK, "name": name, **changed, "id": task_id, "status": "active"}
    return LiveTask(task_id, name, "2026-01-01T00:00:00Z", body)


# --- empty values ------------------------------------------------------------------------------


def test_empty_nested_values_are_user_data_in_payload_and_limits_only() -> None:
    body = {
        **TASK,
        "payload": {"filters": {}, "tags": [], "cursor": None},
        "execution_plan": {"steps": [{"action_type": "search", "payload": {}, "limits": None}]},
        "output_schema": {"type": "object", "properties": {"name": {}}, "required": []},
    }
    normalised = normalise_task(body)
    assert normalised["payload"] == {"filters": {}, "tags": [], "cursor": None}
    assert normalised["execution_plan"] == {"steps": [{"action_type": "search"}]}
    assert normalised["output_schema"] == {"type": "object"}


def test_an_empty_value_inside_payload_differs_from_an_absent_one() -> None:
    before = normalise_task({**TASK, "payload": {"q": "shoes"}})
    after = normalise_task({**TASK, "payload": {"q": "shoes", "filters": {}}})
    (change,) = diff_bodies(before, after)
    assert (change.pointer, change.before, change.after) == ("/payload/filters", None, {})


def test_normalising_copies_so_later_edits_never_reach_the_definition() -> None:
    body = {**TASK, "payload": {"auth": {"user": "u1"}}}
    normalised = normalise_task(body)
    normalised["payload"]["auth"]["user"] = "changed"
    assert body["payload"] == {"auth": {"user": "u1"}}


# --- schema lists ------------------------------------------------------------------------------


def test_type_lists_are_sets_at_every_depth_but_enum_order_is_kept() -> None:
    def schema(types: list[str], enum: list[str]) -> dict[str, Any]:
        item = {"type": types, "enum": enum}
        return {"type": "object", "properties": {"tags": {"type": "array", "items": item}}}

    first = normalise_task({**TASK, "output_schema": schema(["string", "null"], ["a", "b"])})
    again = normalise_task(
        {**TASK, "output_schema": schema(["null", "string", "null"], ["a", "b"])}
    )
    assert diff_bodies(first, again) == ()
    reordered = normalise_task({**TASK, "output_schema": schema(["string", "null"], ["b", "a"])})
    assert [c.pointer for c in diff_bodies(first, reordered)] == [
        "/output_schema/properties/tags/items/enum"
    ]


def test_a_property_named_type_or_required_is_not_taken_for_a_keyword() -> None:
    # Under `properties`, `type` and `required` are property names holding subschemas.
    schema = {
        "type": "object",
        "properties": {"type": {"type": "string"}, "required": {"type": ["null", "boolean"]}},
        "required": ["type", "required"],
    }
    normalised = normalise_task({**TASK, "output_schema": schema})["output_schema"]
    assert normalised["properties"] == {
        "type": {"type": "string"},
        "required": {"type": ["boolean", "null"]},
    }
    assert normalised["required"] == ["required", "type"]


def test_a_type_list_holding_a_non_string_is_left_as_written() -> None:
    schema = {"type": "object", "properties": {"x": {"type": ["string", {"odd": 1}]}}}
    normalised = normalise_task({**TASK, "output_schema": schema})
    assert normalised["output_schema"]["properties"]["x"]["type"] == ["string", {"odd": 1}]


# --- list items --------------------------------------------------------------------------------


def _steps_diff(before: list[Any], after: list[Any]) -> list[tuple[str, Any, Any]]:
    old = normalise_task({**TASK, "execution_plan": {"steps": before}})
    new = normalise_task({**TASK, "execution_plan": {"steps": after}})
    return [(c.pointer, c.before, c.after) for c in diff_bodies(old, new)]


def test_a_changed_step_is_shown_down_to_the_changed_leaf() -> None:
    steps = [
        {"action_type": "search", "payload": {"q": "a"}},
        {"action_type": "scrape", "limits": {"max_results": 10}},
    ]
    changed = [steps[0], {"action_type": "scrape", "limits": {"max_results": 20}}]
    assert _steps_diff(steps, changed) == [("/execution_plan/steps/1/limits/max_results", 10, 20)]


def test_an_inserted_step_is_one_added_item_and_shifts_no_other() -> None:
    one, two, three = ({"action_type": t} for t in ("search", "scrape", "extract"))
    inserted = {"action_type": "filter", "payload": {"q": "x"}}
    assert _steps_diff([one, two, three], [one, inserted, two, three]) == [
        ("/execution_plan/steps/1", None, inserted)
    ]


def test_a_removed_step_is_shown_whole_at_its_live_index() -> None:
    one, two, three = ({"action_type": t} for t in ("search", "scrape", "extract"))
    assert _steps_diff([one, two, three], [one, three]) == [("/execution_plan/steps/1", two, None)]


def test_a_replaced_run_of_steps_pairs_items_then_adds_the_rest() -> None:
    one, two = {"action_type": "search"}, {"action_type": "scrape", "payload": {"q": "a"}}
    changed = {"action_type": "scrape", "payload": {"q": "b"}}
    extra = {"action_type": "extract"}
    assert _steps_diff([one, two], [one, changed, extra]) == [
        ("/execution_plan/steps/1/payload/q", "a", "b"),
        ("/execution_plan/steps/2", None, extra),
    ]
    assert _steps_diff([one, changed, extra], [one, two]) == [
        ("/execution_plan/steps/1/payload/q", "b", "a"),
        ("/execution_plan/steps/2", extra, None),
    ]


def test_list_indices_sort_as_numbers() -> None:
    steps = [{"action_type": "search", "payload": {"n": n}} for n in range(12)]
    changed = [
        {"action_type": "search", "payload": {"n": n + 100 * (n in (2, 10))}} for n in range(12)
    ]
    pointers = [pointer for pointer, _, _ in _steps_diff(steps, changed)]
    assert pointers == ["/execution_plan/steps/2/payload/n", "/execution_plan/steps/10/payload/n"]


def test_a_list_of_plain_values_stays_one_change() -> None:
    before = {"proxy_locations": ["us", "de"]}
    after = {"proxy_locations": ["us", "fr", "de"]}
    (change,) = diff_bodies(before, after)
    assert (change.pointer, change.before, change.after) == (
        "/proxy_locations",
        ["us", "de"],
        ["us", "fr", "de"],
    )


def test_a_secret_inside_one_step_masks_that_step_only() -> None:
    before = {"steps": [{"payload": {"token": "old", "q": "a"}}, {"q": "x"}]}
    after = {"steps": [{"payload": {"token": "new", "q": "a"}}, {"q": "y"}]}
    changes = diff_bodies(before, after, sensitive_pointers=frozenset({"/steps/0/payload/token"}))
    assert [(c.pointer, c.sensitive) for c in changes] == [
        ("/steps/0/payload/token", True),
        ("/steps/1/q", False),
    ]


def test_an_ignored_field_inside_a_plan_step_is_left_out_of_the_diff() -> None:
    ignored = "/execution_plan/steps/1/payload/cursor"
    live = LiveState(
        (
            _live(
                "shop-a",
                "id-1",
                execution_plan={
                    "steps": [
                        {"action_type": "search"},
                        {"action_type": "scrape", "payload": {"cursor": "live", "q": "x"}},
                    ]
                },
            ),
        )
    )
    plan = {
        "steps": [
            {"action_type": "search"},
            {"action_type": "scrape", "payload": {"cursor": "mine", "q": "x"}},
        ]
    }
    task = DesiredTask("shop-a", {**TASK, "execution_plan": plan}, ignore_fields=(ignored,))
    (diff,) = diff_states(_desired(task), live)
    assert diff.fields == ()
    assert diff.after is not None
    assert diff.after["execution_plan"]["steps"][1] == {
        "action_type": "scrape",
        "payload": {"q": "x"},
    }


# --- added and removed mappings ----------------------------------------------------------------


def test_a_mapping_added_inside_a_mapping_is_one_change_not_one_per_key() -> None:
    before = {"payload": {"q": "x"}}
    after = {"payload": {"q": "x", "auth": {"user": "u", "token": "t"}}}
    (added,) = diff_bodies(before, after)
    assert (added.pointer, added.before, added.after) == (
        "/payload/auth",
        None,
        {"user": "u", "token": "t"},
    )
    (removed,) = diff_bodies(after, before)
    assert (removed.pointer, removed.before, removed.after) == (
        "/payload/auth",
        {"user": "u", "token": "t"},
        None,
    )


def test_a_mapping_turned_into_a_scalar_is_one_change_at_its_key() -> None:
    before = {"payload": {"q": {"text": "x"}}}
    after = {"payload": {"q": "x"}}
    (change,) = diff_bodies(before, after)
    assert (change.pointer, change.before, change.after) == ("/payload/q", {"text": "x"}, "x")


def test_a_list_changed_inside_a_mapping_is_shown_whole() -> None:
    before = {"payload": {"ids": [1, 2, 3], "q": "x"}}
    after = {"payload": {"ids": [1, 3, 2], "q": "x"}}
    (change,) = diff_bodies(before, after)
    assert (change.pointer, change.before, change.after) == ("/payload/ids", [1, 2, 3], [1, 3, 2])


def test_a_deep_change_in_a_mapping_is_reported_at_its_own_pointer() -> None:
    before = {"limits": {"a": {"b": {"c": 1, "d": 2}}}}
    after = {"limits": {"a": {"b": {"c": 5, "d": 2}}}}
    (change,) = diff_bodies(before, after)
    assert (change.pointer, change.before, change.after) == ("/limits/a/b/c", 1, 5)


def test_a_sensitive_pointer_marks_the_enclosing_change_and_no_other() -> None:
    before = {"payload": {"auth": {"token": "old"}, "q": "a"}}
    after = {"payload": {"auth": {"token": "new"}, "q": "b"}}
    changes = diff_bodies(before, after, sensitive_pointers=frozenset({"/payload/auth"}))
    assert [(c.pointer, c.sensitive) for c in changes] == [
        ("/payload/auth/token", True),
        ("/payload/q", False),
    ]


# --- matching live tasks -----------------------------------------------------------------------


def test_a_duplicate_live_name_matches_the_first_listed_copy_and_yields_the_other() -> None:
    live = LiveState((_live("shop-a", "id-2"), _live("shop-a", "id-1")))
    matched, other = diff_states(_desired(DesiredTask("shop-a", dict(TASK))), live)
    assert matched.live is live.tasks[0]
    assert (other.desired, other.live) == (None, live.tasks[1])


def test_a_rename_matches_the_first_listed_copy_of_the_previous_name() -> None:
    live = LiveState((_live("shop-old", "id-2"), _live("shop-old", "id-1")))
    task = DesiredTask("shop-new", {**TASK, "name": "shop-new"}, previous_names=("shop-old",))
    renamed, other = diff_states(_desired(task), live)
    assert (renamed.live, renamed.previous_name) == (live.tasks[0], "shop-old")
    assert other.live is live.tasks[1]


def test_a_create_of_an_ambiguous_rename_lists_no_fields_and_both_candidates() -> None:
    live = LiveState((_live("shop-x", "id-1"), _live("shop-y", "id-2"), _live("shop-y", "id-3")))
    task = DesiredTask("shop-new", dict(TASK), previous_names=("shop-y", "shop-x", "shop-z"))
    diff = diff_states(_desired(task), live)[0]
    assert (diff.live, diff.fields) == (None, ())
    assert [t.task_id for t in diff.rename_candidates] == ["id-2", "id-1"]


def test_a_step_inserted_before_many_identical_steps_is_the_only_change() -> None:
    # A list this long is where a matcher that skips frequent items would pair the wrong steps.
    same = {"action_type": "scrape", "input_source": "previous_step"}
    first = {"action_type": "search", "input_source": "static_urls"}
    assert _steps_diff([same] * 250, [first, *[same] * 250]) == [
        ("/execution_plan/steps/0", None, first)
    ]


def test_a_plain_value_kept_in_a_list_of_objects_is_no_change() -> None:
    before = {"payload": {"mixed": ["keep", {"n": 1}]}}
    after = {"payload": {"mixed": ["keep", {"n": 2}]}}
    changes = diff_bodies(before, after)
    assert [(c.pointer, c.before, c.after) for c in changes] == [("/payload/mixed/1/n", 1, 2)]


def test_a_list_of_objects_turned_into_plain_values_is_one_change() -> None:
    before = {"payload": {"items": [{"n": 1}]}}
    after = {"payload": {"items": ["n"]}}
    (change,) = diff_bodies(before, after)
    assert (change.pointer, change.before, change.after) == ("/payload/items", [{"n": 1}], ["n"])


def test_a_removal_is_listed_before_an_addition_at_the_same_index() -> None:
    a, b, k, c, d = ({"action_type": t} for t in ("search", "crawl", "scrape", "api_call", "x"))
    assert _steps_diff([a, b, k], [k, c, d]) == [
        ("/execution_plan/steps/0", a, None),
        ("/execution_plan/steps/1", b, None),
        ("/execution_plan/steps/1", None, c),
        ("/execution_plan/steps/2", None, d),
    ]
