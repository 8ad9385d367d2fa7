"""build_plan: ownership, renames, protection, guards, fingerprints. Pure, no service needed."""

from __future__ import annotations

from typing import Any

import pytest

from titan_gitops.diff import diff_states
from titan_gitops.errors import PlanError
from titan_gitops.model import (
    Action,
    Change,
    DesiredState,
    DesiredTask,
    LiveState,
    LiveTask,
    Plan,
    SourceLocation,
)
from titan_gitops.plan import (
    PlanOptions,
    build_plan,
    check_delete_limit,
    check_rename,
    decide_change,
    decide_unclaimed,
    managed_names_of,
)
from titan_gitops.planfile import plan_to_dict, render_plan_json
from titan_gitops.render.text import render_plan_text
from titan_gitops.spec import ProjectConfig

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}}
SOURCE = SourceLocation("defs/t.yaml", 1)


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/"],
        "objective": "Extract product names",
        "output_schema": SCHEMA,
        "execution_type": "single",
        **extra,
    }


def defined(name: str, task_body: dict[str, Any] | None = None, **gitops: Any) -> DesiredTask:
    """A desired task; `gitops` are its previous_names, ignore_fields or sensitive_paths."""
    return DesiredTask(
        name, body(name) if task_body is None else task_body, source=SOURCE, **gitops
    )


def task(name: str, **extra: Any) -> DesiredTask:
    return defined(name, body(name, **extra))


def definitions(
    *tasks: DesiredTask,
    namespace: str | None = "shop-",
    protected: tuple[str, ...] = (),
    max_deletes: int = 10,
    secrets: frozenset[str] = frozenset(),
) -> DesiredState:
    project = ProjectConfig(namespace=namespace, protected=protected, max_deletes=max_deletes)
    return DesiredState(tasks, templates={}, project=project, secrets=secrets)


def live(
    name: str, task_id: str | None = None, created_at: str | None = None, **extra: Any
) -> LiveTask:
    tid = task_id or f"id-{name}"
    server = {"id": tid, "status": "active"} | ({"created_at": created_at} if created_at else {})
    return LiveTask(
        task_id=tid,
        name=name,
        updated_at="2026-11-28T00:00:00Z",
        body={**body(name, **extra), **server},
    )


def plan_of(
    desired: DesiredState, live_state: LiveState, options: PlanOptions | None = None
) -> Plan:
    """The pipeline's diff → plan stages."""
    return build_plan(desired, live_state, diff_states(desired, live_state), options)


def actions(plan: Plan) -> list[tuple[str, str]]:
    return [(c.action.value, c.name) for c in plan.changes]


def test_first_plan_creates_everything_in_name_order() -> None:
    plan = plan_of(definitions(task("shop-b"), task("shop-a")), LiveState(()))
    assert actions(plan) == [("create", "shop-a"), ("create", "shop-b")]
    assert plan.changes[0].request_body == body("shop-a")
    assert render_plan_text(plan).endswith(
        "Plan: 2 to create, 0 to update, 0 to rename, 0 to delete.\n"
    )


def test_matching_live_task_is_a_no_op_and_plan_is_empty() -> None:
    plan = plan_of(definitions(task("shop-a")), LiveState((live("shop-a"),)))
    assert actions(plan) == [("no-op", "shop-a")]
    assert not plan.has_changes
    assert "No changes. Live tasks match the definitions." in render_plan_text(plan)


def test_one_field_changed_is_an_update_with_only_that_field() -> None:
    plan = plan_of(
        definitions(task("shop-a", objective="Extract names and prices")),
        LiveState((live("shop-a"),)),
    )
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert [f.path for f in change.fields] == ["objective"]
    assert change.request_body == {"objective": "Extract names and prices"}
    assert change.task_id == "id-shop-a"


def test_removed_field_is_sent_as_null() -> None:
    plan = plan_of(definitions(task("shop-a")), LiveState((live("shop-a", limits={"x": 1}),)))
    assert plan.changes[0].request_body == {"limits": None}


def test_order_is_creates_then_updates_and_renames_then_deletes() -> None:
    desired = definitions(
        task("shop-z-new"),
        task("shop-a", objective="changed"),
        defined("shop-renamed", previous_names=("shop-old",)),
    )
    state = LiveState((live("shop-a"), live("shop-old"), live("shop-gone")))
    plan = plan_of(desired, state)
    assert actions(plan) == [
        ("create", "shop-z-new"),
        ("update", "shop-a"),
        ("rename", "shop-renamed"),
        ("delete", "shop-gone"),
    ]


def test_rename_keeps_the_id_and_sends_the_new_name() -> None:
    desired = definitions(defined("shop-new", previous_names=("shop-old",)))
    plan = plan_of(desired, LiveState((live("shop-old", "uuid-1"),)))
    (change,) = plan.changes
    assert change.action is Action.RENAME
    assert change.task_id == "uuid-1"
    assert change.request_body == {"name": "shop-new"}
    assert change.previous_name == "shop-old"


def test_tasks_outside_the_namespace_are_never_touched() -> None:
    plan = plan_of(definitions(task("shop-a")), LiveState((live("shop-a"), live("team-b"))))
    assert actions(plan) == [("no-op", "shop-a")]


def test_protected_tasks_are_kept_and_noted() -> None:
    desired = definitions(task("shop-a"), protected=("shop-keep-*",))
    plan = plan_of(desired, LiveState((live("shop-a"), live("shop-keep-1"))))
    assert actions(plan) == [("no-op", "shop-a")]
    assert [n.name for n in plan.notes] == ["shop-keep-1"]
    assert "kept (protected)" in render_plan_text(plan)


def test_without_a_namespace_nothing_is_deleted() -> None:
    desired = definitions(task("a"), namespace=None)
    plan = plan_of(desired, LiveState((live("a"), live("b"), live("c"))))
    assert actions(plan) == [("no-op", "a")]
    assert "2 live tasks not in the definitions were left in place" in plan.notes[0].message


def test_duplicate_live_names_keep_the_oldest_and_delete_the_others() -> None:
    state = LiveState(
        (
            live("shop-a", "x1", created_at="2026-11-28T00:00:01Z", objective="Old"),
            live("shop-a", "x2", created_at="2026-11-28T00:00:02Z"),
            live("shop-a", "x0", created_at="2026-11-28T00:00:03Z"),
        )
    )
    plan = plan_of(definitions(task("shop-a")), state)
    assert [(c.action.value, c.task_id) for c in plan.changes] == [
        ("update", "x1"),
        ("delete", "x2"),
        ("delete", "x0"),
    ]
    assert all(c.reason.startswith("duplicate of x1") for c in plan.changes[1:])


def test_equal_creation_times_keep_the_smallest_id() -> None:
    stamp = "2026-11-28T00:00:01.000000Z"
    state = LiveState(
        (live("shop-a", "x1", created_at=stamp), live("shop-a", "x2", created_at=stamp))
    )
    plan = plan_of(definitions(task("shop-a")), state)
    assert sorted((c.action.value, c.task_id) for c in plan.changes) == [
        ("delete", "x2"),
        ("no-op", "x1"),
    ]


def test_duplicate_deletes_count_against_the_deletion_guard() -> None:
    state = LiveState(
        tuple(live("shop-a", f"x{i}", created_at=f"2026-01-0{i + 1}") for i in range(4))
    )
    with pytest.raises(PlanError, match="deletes 3 tasks, more than the 2 allowed"):
        plan_of(definitions(task("shop-a"), max_deletes=2), state)


def test_duplicates_outside_the_namespace_and_undefined_are_left_alone() -> None:
    state = LiveState((live("shop-a"), live("team-b", "y1"), live("team-b", "y2")))
    plan = plan_of(definitions(task("shop-a")), state)
    assert actions(plan) == [("no-op", "shop-a")]


def test_duplicates_without_a_namespace_are_refused_naming_both_ids() -> None:
    state = LiveState((live("a", "x1"), live("a", "x2")))
    with pytest.raises(PlanError) as err:
        plan_of(definitions(task("a"), namespace=None), state)
    assert "x1" in str(err.value)
    assert "x2" in str(err.value)


def test_protected_duplicates_are_refused_not_deleted() -> None:
    state = LiveState((live("shop-a", "x1"), live("shop-a", "x2")))
    with pytest.raises(PlanError, match="protected"):
        plan_of(definitions(task("shop-a"), protected=("shop-a",)), state)


def test_mass_delete_is_refused_unless_allowed() -> None:
    desired = definitions(task("shop-a"), max_deletes=2)
    state = LiveState((live("shop-a"), *(live(f"shop-old-{i}") for i in range(3))))
    with pytest.raises(PlanError, match="deletes 3 tasks, more than the 2 allowed"):
        plan_of(desired, state)
    plan = plan_of(desired, state, PlanOptions(allow_deletes=3))
    assert plan.counts()["delete"] == 3


def test_empty_directory_with_live_tasks_is_refused_unless_allowed() -> None:
    state = LiveState((live("shop-a"),))
    with pytest.raises(PlanError, match="hold no tasks"):
        plan_of(definitions(), state)
    plan = plan_of(definitions(), state, PlanOptions(allow_empty=True))
    assert actions(plan) == [("delete", "shop-a")]


def test_filtered_plan_never_deletes_and_says_so() -> None:
    desired = definitions(task("shop-a", objective="new"), task("shop-b", objective="new"))
    state = LiveState((live("shop-a"), live("shop-b"), live("shop-orphan")))
    plan = plan_of(desired, state, PlanOptions(only=("shop-a",)))
    assert actions(plan) == [("update", "shop-a")]
    assert "Filtered plan (only shop-a): nothing is deleted." in render_plan_text(plan)


def test_collision_with_a_foreign_task_differing_only_by_case() -> None:
    desired = definitions(task("Report"), namespace=None)
    with pytest.raises(PlanError, match="collides with live task 'report'"):
        plan_of(desired, LiveState((live("report"),)))


def test_unknown_template_slug_is_a_plan_error() -> None:
    desired = definitions(task("shop-a", template_slug="nope"))
    state = LiveState((), template_ids=frozenset(), template_slugs=frozenset({"known"}))
    with pytest.raises(PlanError, match="template_slug 'nope' does not exist"):
        plan_of(desired, state)


def test_breaking_schema_change_is_flagged() -> None:
    narrowed = {"type": "object", "properties": {}}
    plan = plan_of(
        definitions(task("shop-a", output_schema=narrowed)), LiveState((live("shop-a"),))
    )
    assert plan.has_breaking
    assert "! breaking: output_schema name: property removed" in render_plan_text(plan)


def test_sensitive_values_are_masked_in_every_render() -> None:
    secret = "canary-S3cr3t-value"
    desired = definitions(
        defined(
            "shop-a",
            body("shop-a", payload={"api_key": secret}),
            sensitive_paths=frozenset({"/payload/api_key"}),
        ),
        secrets=frozenset({secret}),
    )
    plan = plan_of(desired, LiveState((live("shop-a", payload={"api_key": "old"}),)))
    assert secret not in render_plan_text(plan)
    assert secret not in render_plan_json(plan)
    assert "(sensitive value)" in render_plan_text(plan)


def test_fingerprints_and_digests_are_recorded_even_for_an_empty_scope() -> None:
    empty = plan_of(definitions(task("shop-a")), LiveState(()))
    assert empty.scope_digest
    data = plan_to_dict(plan_of(definitions(task("shop-a")), LiveState((live("shop-a"),))))
    assert data["fingerprints"][0]["id"] == "id-shop-a"
    assert data["scope_digest"] != empty.scope_digest
    assert data["format_version"] == "2"


def test_ignore_fields_keep_the_live_value_inside_a_changed_mapping() -> None:
    desired = definitions(
        defined(
            "shop-a",
            body("shop-a", limits={"max_results": 9, "timeout_seconds": 5}),
            ignore_fields=("/limits/max_results",),
        )
    )
    state = LiveState((live("shop-a", limits={"max_results": 1, "timeout_seconds": 3}),))
    (change,) = plan_of(desired, state).changes
    assert [f.path for f in change.fields] == ["limits.timeout_seconds"]
    assert change.request_body == {"limits": {"max_results": 1, "timeout_seconds": 5}}


# --- the named decisions, one at a time --------------------------------------------------------


def test_check_rename_refuses_an_ambiguous_rename_and_a_foreign_previous_name() -> None:
    ambiguous = defined("shop-new", previous_names=("shop-x", "shop-y"))
    live_state = LiveState((live("shop-x", "id-x"), live("shop-y", "id-y")))
    diff = diff_states(definitions(ambiguous), live_state)[0]
    (problem,) = check_rename(diff, ambiguous, "shop-")
    assert problem == (
        "defs/t.yaml:1: 'shop-new' has several previous names live: 'shop-x' (id id-x), "
        "'shop-y' (id id-y); delete all but one first"
    )

    foreign = defined("shop-new", previous_names=("team-old",))
    diff = diff_states(definitions(foreign), LiveState((live("team-old", "id-t"),)))[0]
    (problem,) = check_rename(diff, foreign, "shop-")
    assert "previous name 'team-old' (id id-t) is outside the namespace 'shop-'" in problem
    assert check_rename(diff, foreign, None) == []


def test_decide_change_renames_with_the_new_name_even_when_nothing_else_differs() -> None:
    renamed = defined("shop-new", previous_names=("shop-old",))
    live_state = LiveState((live("shop-old", "id-1"),))
    diff = diff_states(definitions(renamed), live_state)[0]
    change = decide_change(diff, renamed)
    assert (change.action, change.task_id, change.previous_name) == (
        Action.RENAME,
        "id-1",
        "shop-old",
    )
    assert change.request_body == {"name": "shop-new"}
    assert change.reason == "renamed from 'shop-old' (previous_names); keeps id and history"


def test_decide_unclaimed_deletes_orphans_but_keeps_protected_and_claimed_tasks() -> None:
    desired = definitions(
        defined("shop-new", previous_names=("shop-old",)), protected=("shop-keep",)
    )
    live_state = LiveState(
        (
            live("shop-new"),
            live("shop-old"),  # claimed as a previous name: never deleted
            live("shop-keep"),
            live("shop-gone"),
            live("team-x"),  # outside the namespace
        )
    )
    diffs = diff_states(desired, live_state)
    managed = frozenset(managed_names_of(desired))
    notes, deletes = decide_unclaimed(diffs, desired.project, managed, PlanOptions())
    assert [(c.action, c.name) for c in deletes] == [(Action.DELETE, "shop-gone")]
    assert [n.name for n in notes] == ["shop-keep"]
    assert decide_unclaimed(diffs, desired.project, managed, PlanOptions(only=("x",))) == ([], [])


def test_check_delete_limit_names_every_delete_and_yields_to_allow_deletes() -> None:
    deletes = [Change(Action.DELETE, f"shop-{i}", "orphan", task_id=str(i)) for i in range(3)]
    (problem,) = check_delete_limit(deletes, 2, PlanOptions())
    assert problem.endswith("pass --allow-deletes 3 to allow it: shop-0, shop-1, shop-2")
    assert check_delete_limit(deletes, 2, PlanOptions(allow_deletes=3)) == []
