"""build_plan at the edges of its guards: duplicates, templates, ignored fields, breaking schema."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from tests.unit.test_plan import actions, body, defined, definitions, live, plan_of, task
from titan_gitops.diff import diff_states
from titan_gitops.errors import PlanError
from titan_gitops.model import Action, LiveState
from titan_gitops.plan import PlanOptions, decide_duplicates, managed_names_of


def test_plan_options_are_values_that_cannot_change_under_a_plan() -> None:
    options = PlanOptions(only=("shop-*",), allow_deletes=3)
    assert hash(options) == hash(PlanOptions(only=("shop-*",), allow_deletes=3))
    with pytest.raises(FrozenInstanceError):
        options.allow_deletes = 99  # type: ignore[misc]


# --- duplicate live names ----------------------------------------------------------------------


def test_duplicates_of_a_defined_task_outside_the_namespace_are_refused_not_deleted() -> None:
    state = LiveState((live("team-a", "y1"), live("team-a", "y2"), live("shop-a")))
    with pytest.raises(PlanError) as err:
        plan_of(definitions(task("shop-a"), task("team-a")), state)
    assert (
        "two or more live tasks are named 'team-a' (ids y1, y2) and it lies outside the "
        "namespace 'shop-'; titan-gitops identifies tasks by name" in str(err.value)
    )


def test_duplicates_without_a_namespace_are_refused_because_nothing_is_ever_deleted() -> None:
    state = LiveState((live("a", "x1"), live("a", "x2")))
    with pytest.raises(PlanError, match="no namespace is declared, so titan-gitops never deletes"):
        plan_of(definitions(task("a"), namespace=None), state)


def test_duplicates_are_refused_when_the_definition_matched_a_younger_copy() -> None:
    # The live list is not oldest first here: the definition matched x2, but x1 is older, so
    # keeping the oldest would delete the very task the definition describes.
    state = LiveState(
        (
            live("shop-a", "x2", created_at="2026-11-28T00:00:02Z"),
            live("shop-a", "x1", created_at="2026-11-28T00:00:01Z"),
        )
    )
    with pytest.raises(PlanError, match=r"\(ids x1, x2\) and the copy to keep could not be told"):
        plan_of(definitions(task("shop-a")), state)


def test_a_filtered_plan_leaves_duplicates_of_unselected_names_alone() -> None:
    state = LiveState(
        (
            live("shop-a", "x1", created_at="2026-11-28T00:00:01Z"),
            live("shop-a", "x2", created_at="2026-11-28T00:00:02Z"),
            live("shop-b", objective="old"),
        )
    )
    desired = definitions(task("shop-a"), task("shop-b"))
    plan = plan_of(desired, state, PlanOptions(only=("shop-b",)))
    assert actions(plan) == [("update", "shop-b")]
    unfiltered = plan_of(desired, state)
    assert [(c.action, c.task_id) for c in unfiltered.actionable] == [
        (Action.UPDATE, "id-shop-b"),
        (Action.DELETE, "x2"),
    ]


def test_a_duplicate_of_a_previous_name_is_deleted_with_the_oldest_copy_renamed() -> None:
    state = LiveState(
        (
            live("shop-old", "x1", created_at="2026-11-28T00:00:01Z"),
            live("shop-old", "x2", created_at="2026-11-28T00:00:02Z"),
        )
    )
    plan = plan_of(definitions(defined("shop-new", previous_names=("shop-old",))), state)
    assert [(c.action, c.name, c.task_id) for c in plan.changes] == [
        (Action.RENAME, "shop-new", "x1"),
        (Action.DELETE, "shop-old", "x2"),
    ]


def test_decide_duplicates_refuses_a_group_it_may_not_repair_without_deleting_any_of_it() -> None:
    desired = definitions(task("team-a"), task("shop-b"))
    state = LiveState(
        (
            live("team-a", "y1", created_at="2026-11-28T00:00:01Z"),
            live("team-a", "y2", created_at="2026-11-28T00:00:02Z"),
            live("shop-b", "x1", created_at="2026-11-28T00:00:01Z"),
            live("shop-b", "x2", created_at="2026-11-28T00:00:02Z"),
        )
    )
    managed = frozenset(managed_names_of(desired))
    diffs = diff_states(desired, state)
    errors, deletes = decide_duplicates(diffs, desired.project, managed, PlanOptions())
    assert len(errors) == 1
    assert "'team-a' (ids y1, y2)" in errors[0]
    assert [(c.name, c.task_id) for c in deletes] == [("shop-b", "x2")]


# --- renames -------------------------------------------------------------------------------------


def test_a_plan_with_an_ambiguous_rename_is_refused() -> None:
    desired = definitions(defined("shop-new", previous_names=("shop-x", "shop-y")))
    state = LiveState((live("shop-x", "id-x"), live("shop-y", "id-y")))
    with pytest.raises(PlanError, match="'shop-new' has several previous names live"):
        plan_of(desired, state)


def test_a_plan_renaming_a_task_from_outside_the_namespace_is_refused() -> None:
    desired = definitions(defined("shop-new", previous_names=("team-old",)))
    with pytest.raises(PlanError, match=r"previous name 'team-old' .* it is not ours to rename"):
        plan_of(desired, LiveState((live("team-old"),)))


def test_a_rename_sends_the_new_name_even_when_the_name_is_an_ignored_field() -> None:
    # The name is the task's identity: ignoring it hides no difference from a rename, whose
    # whole point is to send it (without it apply would plan the same rename forever).
    desired = definitions(
        defined("shop-new", previous_names=("shop-old",), ignore_fields=("/name",))
    )
    (change,) = plan_of(desired, LiveState((live("shop-old", "uuid-1"),))).changes
    assert (change.action, change.task_id) == (Action.RENAME, "uuid-1")
    assert change.request_body == {"name": "shop-new"}


# --- template references -----------------------------------------------------------------------


def test_an_unknown_template_id_is_a_plan_error_naming_the_task() -> None:
    desired = definitions(task("shop-a", template_id="tpl-9"))
    state = LiveState((), template_ids=frozenset({"tpl-1"}), template_slugs=frozenset())
    with pytest.raises(PlanError, match="shop-a: template_id 'tpl-9' does not exist"):
        plan_of(desired, state)
    known = LiveState((), template_ids=frozenset({"tpl-9"}), template_slugs=frozenset())
    assert actions(plan_of(desired, known)) == [("create", "shop-a")]


def test_template_references_inside_plan_steps_are_checked_too() -> None:
    steps = [
        {"action_type": "search", "template_slug": "known"},
        {"action_type": "scrape", "template_slug": "gone", "template_id": "tpl-0"},
    ]
    desired = definitions(task("shop-a", execution_plan={"steps": steps}))
    state = LiveState((), template_ids=frozenset({"tpl-1"}), template_slugs=frozenset({"known"}))
    with pytest.raises(PlanError) as err:
        plan_of(desired, state)
    assert "shop-a: template_slug 'gone' does not exist" in str(err.value)
    assert "shop-a: template_id 'tpl-0' does not exist" in str(err.value)
    assert "'known'" not in str(err.value)


def test_template_references_are_not_checked_when_the_service_lists_no_templates() -> None:
    desired = definitions(task("shop-a", template_slug="any", template_id="tpl-any"))
    assert actions(plan_of(desired, LiveState(()))) == [("create", "shop-a")]


# --- ignored fields in the request body ---------------------------------------------------------


def test_an_ignored_top_level_field_is_never_sent() -> None:
    desired = definitions(
        defined(
            "shop-a",
            body("shop-a", objective="new", proxy_locations=["us"]),
            ignore_fields=("/proxy_locations",),
        )
    )
    state = LiveState((live("shop-a", proxy_locations=["de"]),))
    (change,) = plan_of(desired, state).changes
    assert change.request_body == {"objective": "new"}


def test_an_ignored_field_the_live_task_lacks_takes_the_desired_value() -> None:
    desired = definitions(
        defined(
            "shop-a",
            body("shop-a", limits={"max_results": 9, "timeout_seconds": 5}),
            ignore_fields=("/limits/max_results", "/payload/token"),
        )
    )
    state = LiveState((live("shop-a", limits={"timeout_seconds": 3}),))
    (change,) = plan_of(desired, state).changes
    # Nothing live to keep, so the definition's value goes out; the ignored pointer under a
    # parent (payload) neither side has adds nothing.
    assert change.request_body == {"limits": {"max_results": 9, "timeout_seconds": 5}}


def test_keeping_a_deep_ignored_live_value_leaves_the_definition_untouched() -> None:
    # The request body gets the live value; the definition (read again by a later plan in the
    # same run, such as apply --plan's fresh derivation) must keep its own.
    definition = defined(
        "shop-a",
        body("shop-a", payload={"auth": {"token": "mine", "user": "u2"}}),
        ignore_fields=("/payload/auth/token",),
    )
    state = LiveState((live("shop-a", payload={"auth": {"token": "live", "user": "u1"}}),))
    (change,) = plan_of(definitions(definition), state).changes
    assert change.request_body == {"payload": {"auth": {"token": "live", "user": "u2"}}}
    assert definition.body["payload"] == {"auth": {"token": "mine", "user": "u2"}}


def test_removing_the_parent_of_an_ignored_field_keeps_the_ignored_live_value() -> None:
    # The definition drops limits altogether, but max_results is the service's to keep: the
    # update replaces limits with just that value rather than sending null, which would wipe it.
    desired = definitions(
        defined("shop-a", body("shop-a"), ignore_fields=("/limits/max_results",)),
    )
    state = LiveState((live("shop-a", limits={"max_results": 1, "timeout_seconds": 3}),))
    (change,) = plan_of(desired, state).changes
    assert [f.path for f in change.fields] == ["limits"]
    assert change.request_body == {"limits": {"max_results": 1}}


def test_an_ignored_field_inside_a_plan_step_keeps_its_live_value_in_the_update() -> None:
    def steps(cursor: str, query: str) -> dict[str, object]:
        step = {"action_type": "scrape", "payload": {"cursor": cursor, "q": query}}
        return {"steps": [{"action_type": "search"}, step]}

    ignored = ("/execution_plan/steps/1/payload/cursor",)
    state = LiveState((live("shop-a", execution_plan=steps("live", "x")),))
    same = defined(
        "shop-a", body("shop-a", execution_plan=steps("mine", "x")), ignore_fields=ignored
    )
    assert actions(plan_of(definitions(same), state)) == [("no-op", "shop-a")]
    edited = defined(
        "shop-a", body("shop-a", execution_plan=steps("mine", "y")), ignore_fields=ignored
    )
    (change,) = plan_of(definitions(edited), state).changes
    assert change.action is Action.UPDATE
    assert change.request_body == {"execution_plan": steps("live", "y")}
    assert edited.body["execution_plan"] == steps("mine", "y")


# --- breaking output schemas --------------------------------------------------------------------


def _schema_change(old: dict[str, object], new: dict[str, object]) -> tuple[str, ...]:
    wrap = {"type": "object", "properties": {"price": old}}
    wrapped = {"type": "object", "properties": {"price": new}}
    plan = plan_of(
        definitions(task("shop-a", output_schema=wrapped)),
        LiveState((live("shop-a", output_schema=wrap),)),
    )
    (change,) = plan.changes
    return change.breaking


def test_a_type_list_losing_a_member_is_breaking_and_gaining_one_is_not() -> None:
    assert _schema_change({"type": ["number", "null"]}, {"type": ["number"]}) == (
        "output_schema price: type changed from null|number to number",
    )
    assert _schema_change({"type": ["number"]}, {"type": ["null", "number", "string"]}) == ()


def test_a_type_list_narrowed_from_number_to_integer_says_narrowed() -> None:
    assert _schema_change({"type": ["number", "null"]}, {"type": ["integer", "null"]}) == (
        "output_schema price: type narrowed from null|number to integer|null",
    )


def test_a_new_enum_is_breaking() -> None:
    assert _schema_change({"type": "string"}, {"type": "string", "enum": ["EUR"]}) == (
        "output_schema price: values newly restricted to an enum",
    )


def test_a_schema_added_where_there_was_none_is_not_breaking() -> None:
    plan = plan_of(
        definitions(task("shop-a", objective="new")),
        LiveState((live("shop-a", output_schema=None),)),
    )
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert change.breaking == ()
