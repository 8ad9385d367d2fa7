"""threeway.attribute: who changed each field since the base — git, the service, or both. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from titan_gitops.diff import diff_states
from titan_gitops.model import (
    BaseInfo,
    CommitInfo,
    DesiredState,
    DesiredTask,
    LiveState,
    LiveTask,
    SourceLocation,
    ThreeWay,
)
from titan_gitops.spec import ProjectConfig
from titan_gitops.threeway import attach_commits, attribute, compare_fields, git_side_paths

BASE = BaseInfo("main~1", "a" * 40)


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/"],
        "objective": "Extract product names",
        "output_schema": {"type": "object"},
        "execution_type": "single",
        **extra,
    }


def task(name: str, *, path: str = "defs/t.yaml", **extra: Any) -> DesiredTask:
    gitops = {k: extra.pop(k) for k in ("previous_names", "ignore_fields") if k in extra}
    return DesiredTask(name, body(name, **extra), source=SourceLocation(path, 1), **gitops)


def state(*tasks: DesiredTask, namespace: str | None = "shop-") -> DesiredState:
    return DesiredState(tasks=tasks, templates={}, project=ProjectConfig(namespace=namespace))


def live(
    name: str, task_id: str = "", updated_at: str = "2026-11-24T09:12:00Z", **extra: Any
) -> LiveTask:
    return LiveTask(task_id or f"id-{name}", name, updated_at, body(name, **extra))


def run(
    base: DesiredState,
    git: DesiredState,
    *lives: LiveTask,
    in_scope: Any = None,
    commits: dict[str, CommitInfo] | None = None,
) -> ThreeWay:
    diffs = diff_states(git, LiveState(tuple(lives)))
    scope = in_scope or (lambda name: name.startswith("shop-"))
    return attach_commits(attribute(BASE, base, diffs, in_scope=scope), commits or {})


def only(result: ThreeWay) -> Any:
    assert len(result.tasks) == 1, result.tasks
    return result.tasks[0]


def test_every_side_equal_is_in_sync_and_not_listed() -> None:
    same = task("shop-a")
    result = run(state(same), state(same), live("shop-a"))
    assert result.tasks == ()
    assert result.counts() == {"converged": 0, "pending": 0, "live_edit": 0, "conflict": 0}


def test_git_moved_live_did_not_is_pending() -> None:
    result = run(state(task("shop-a")), state(task("shop-a", objective="New")), live("shop-a"))
    found = only(result)
    assert (found.story, found.attribution) == ("changed", "pending")
    (field,) = found.fields
    assert (field.field, field.attribution) == ("objective", "pending")
    assert (field.base, field.git, field.live) == (
        "Extract product names",
        "New",
        "Extract product names",
    )
    assert not found.reverts_live_edit
    assert result.reverting == ()


def test_live_moved_git_did_not_is_a_live_edit_with_its_time() -> None:
    result = run(
        state(task("shop-a")),
        state(task("shop-a")),
        live("shop-a", objective="Console fix", updated_at="2026-11-24T09:12:00Z"),
    )
    found = only(result)
    assert found.attribution == "live_edit"
    assert found.live_updated_at == "2026-11-24T09:12:00Z"
    assert found.field("objective") is not None
    assert found.field("objective").live == "Console fix"
    assert found.field("urls") is None
    assert found.reverts_live_edit
    assert result.reverting == (found,)


def test_both_moved_apart_is_a_conflict_and_alike_is_converged() -> None:
    apart = run(
        state(task("shop-a")),
        state(task("shop-a", objective="Git")),
        live("shop-a", objective="Console"),
    )
    assert only(apart).attribution == "conflict"
    alike = run(
        state(task("shop-a")),
        state(task("shop-a", objective="Same")),
        live("shop-a", objective="Same"),
    )
    found = only(alike)
    assert (found.attribution, found.fields[0].attribution) == ("converged", "converged")
    assert not found.reverts_live_edit


def test_a_task_takes_its_most_urgent_field() -> None:
    result = run(
        state(task("shop-a")),
        state(task("shop-a", objective="Git", urls=["https://git.example/"])),
        live("shop-a", objective="Console"),
    )
    found = only(result)
    kinds = {f.field: f.attribution for f in found.fields}
    assert kinds == {"objective": "conflict", "urls": "pending"}
    assert found.attribution == "conflict"
    mixed = run(
        state(task("shop-a")),
        state(task("shop-a", urls=["https://git.example/"])),
        live("shop-a", objective="Console"),
    )
    assert only(mixed).attribution == "live_edit"


def test_a_field_the_diff_calls_equal_is_never_attributed() -> None:
    # key order, an empty list for an absent field, set-like schema lists: all normalised away
    base = task("shop-a", output_schema={"type": "object", "required": ["a", "b"]})
    now = task("shop-a", output_schema={"required": ["b", "a"], "type": "object"}, tags=[])
    result = run(
        state(base),
        state(now),
        live("shop-a", output_schema={"type": "object", "required": ["a", "b"]}),
    )
    assert result.tasks == ()


def test_ignore_fields_of_the_definition_in_git_hide_a_field_on_every_side() -> None:
    base = task("shop-a")
    now = task("shop-a", ignore_fields=("/objective",))
    result = run(state(base), state(now), live("shop-a", objective="Console"))
    assert result.tasks == ()


def test_added_in_git_is_pending_and_deleted_in_titan_is_a_live_edit() -> None:
    added = run(state(), state(task("shop-new")))
    assert (only(added).story, only(added).attribution) == ("added_in_git", "pending")
    deleted = run(state(task("shop-a")), state(task("shop-a")))
    assert (only(deleted).story, only(deleted).attribution) == ("deleted_in_titan", "live_edit")
    both = run(state(task("shop-a")), state(task("shop-a", objective="Git")))
    assert (only(both).story, only(both).attribution) == (
        "deleted_in_titan_changed_in_git",
        "conflict",
    )


def test_removed_in_git_is_pending_unless_live_was_edited() -> None:
    removed = run(state(task("shop-a")), state(), live("shop-a"))
    assert (only(removed).story, only(removed).attribution) == ("removed_in_git", "pending")
    assert only(removed).fields == ()
    edited = run(state(task("shop-a")), state(), live("shop-a", objective="Console"))
    found = only(edited)
    assert (found.story, found.attribution) == ("removed_in_git_edited_in_titan", "conflict")
    assert [f.field for f in found.fields] == ["objective"]
    assert found.fields[0].attribution == "live_edit"


def test_created_in_titan_inside_the_scope_only() -> None:
    inside = run(state(), state(), live("shop-console"))
    assert (only(inside).story, only(inside).attribution) == ("created_in_titan", "live_edit")
    outside = run(state(), state(), live("other-console"))
    assert outside.tasks == ()
    # Out of the scope even though the base held it: nothing will delete it.
    kept = run(state(task("shop-a")), state(), live("shop-a"), in_scope=lambda _name: False)
    assert kept.tasks == ()


def test_created_on_both_sides_converges_or_conflicts() -> None:
    alike = run(state(), state(task("shop-a")), live("shop-a"))
    assert (only(alike).story, only(alike).attribution) == ("added_in_both", "converged")
    apart = run(state(), state(task("shop-a", objective="Git")), live("shop-a"))
    assert (only(apart).story, only(apart).attribution) == ("added_in_both", "conflict")


def test_renamed_in_git_while_edited_live() -> None:
    base = task("shop-old")
    now = task("shop-new", previous_names=("shop-old",))
    result = run(state(base), state(now), live("shop-old", objective="Console"))
    found = only(result)
    assert found.name == "shop-new"
    assert found.previous_name == "shop-old"
    assert found.attribution == "live_edit"
    assert [(f.field, f.attribution) for f in found.fields] == [
        ("name", "pending"),
        ("objective", "live_edit"),
    ]
    # The rename alone is pending; once live follows, both sides made it: converged.
    pending = run(state(base), state(now), live("shop-old"))
    assert only(pending).attribution == "pending"
    assert [(f.field, f.base, f.git, f.live) for f in only(pending).fields] == [
        ("name", "shop-old", "shop-new", "shop-old")
    ]
    done = run(state(base), state(now), live("shop-new"))
    assert (only(done).attribution, only(done).reverts_live_edit) == ("converged", False)


def test_base_without_the_directory_makes_everything_new() -> None:
    info = BaseInfo("HEAD~3", "b" * 40, directory_existed=False)
    diffs = diff_states(state(task("shop-a")), LiveState(()))
    result = attribute(info, state(), diffs, in_scope=lambda _n: True)
    assert result.base is info
    assert only(result).story == "added_in_git"


def test_the_commit_that_last_changed_the_file_is_attached() -> None:
    commit = CommitInfo("c" * 40, "Ada", "2026-11-20T10:00:00+00:00", "raise the limit")
    result = run(
        state(task("shop-a", path="defs/a.yaml")),
        state(task("shop-a", path="defs/a.yaml", objective="New")),
        live("shop-a"),
        commits={"defs/a.yaml": commit},
    )
    found = only(result)
    assert (found.path, found.commit) == ("defs/a.yaml", commit)
    assert commit.short == "ccccccc"
    assert git_side_paths(result) == ("defs/a.yaml",)


def test_only_files_git_changed_are_looked_up_in_history() -> None:
    edited = run(
        state(task("shop-a", path="defs/a.yaml")),
        state(task("shop-a", path="defs/a.yaml")),
        live("shop-a", objective="Console"),
    )
    assert git_side_paths(edited) == ()
    added = run(state(), state(task("shop-b", path="defs/b.yaml")))
    assert git_side_paths(added) == ("defs/b.yaml",)
    deleted = run(
        state(task("shop-c", path="defs/c.yaml")), state(task("shop-c", path="defs/c.yaml"))
    )
    assert git_side_paths(deleted) == ()


@pytest.mark.parametrize(
    ("base", "git", "live_value", "expected"),
    [
        (1, 1, 1, None),
        (1, 2, 1, "pending"),
        (1, 1, 2, "live_edit"),
        (1, 2, 3, "conflict"),
        (1, 2, 2, "converged"),
        (None, 2, None, "pending"),
        (None, None, 2, "live_edit"),
        (1, None, 1, "pending"),
        (1, 1, None, "live_edit"),
    ],
)
def test_compare_fields_truth_table(
    base: Any, git: Any, live_value: Any, expected: str | None
) -> None:
    def side(value: Any) -> dict[str, Any]:
        return {} if value is None else {"f": value}

    found = compare_fields(side(base), side(git), side(live_value))
    assert [f.attribution for f in found] == ([] if expected is None else [expected])


def test_secret_holding_pointers_come_from_git_and_the_base() -> None:
    base = DesiredTask(
        "shop-a",
        body("shop-a", payload={"key": "s3cret"}),
        source=SourceLocation("defs/t.yaml", 1),
        sensitive_paths=frozenset({"/payload/key"}),
    )
    now = DesiredTask(
        "shop-a",
        body("shop-a", payload={"key": "s3cret"}, objective="New"),
        source=SourceLocation("defs/t.yaml", 1),
    )
    result = run(state(base), state(now), live("shop-a", payload={"key": "s3cret"}))
    assert only(result).sensitive_pointers == frozenset({"/payload/key"})
    plain = run(state(task("shop-a")), state(task("shop-a", objective="New")), live("shop-a"))
    assert only(plain).sensitive_pointers == frozenset()


def test_attribution_allows_no_overwrite_unless_told() -> None:
    diffs = diff_states(state(task("shop-a")), LiveState((live("shop-a", objective="X"),)))
    told = attribute(BASE, state(task("shop-a")), diffs, in_scope=lambda _n: True, overwrite=True)
    assert told.overwrite is True
    assert (
        attribute(BASE, state(task("shop-a")), diffs, in_scope=lambda _n: True).overwrite is False
    )


def test_the_attribution_is_the_same_whether_the_diff_carries_gits_normalised_body() -> None:
    base = state(
        task("shop-a"),
        task("shop-b", ignore_fields=["/objective"]),
        task("shop-c", objective="Old"),
        task("shop-d"),
    )
    git = state(
        task("shop-a", objective="Git"),
        task("shop-b", objective="Git", ignore_fields=["/objective"]),
        task("shop-c", objective="Old", urls=["https://c.example/"]),
        task("shop-e"),
    )
    lives = (live("shop-a", objective="Live"), live("shop-b"), live("shop-c"), live("shop-d"))
    diffs = diff_states(git, LiveState(lives))
    assert all(d.after is not None for d in diffs if d.desired is not None)
    bare = tuple(replace(d, after=None) for d in diffs)
    scope = lambda name: name.startswith("shop-")  # noqa: E731
    found = attribute(BASE, base, diffs, in_scope=scope)
    assert found == attribute(BASE, base, bare, in_scope=scope)
    assert {t.name: t.attribution for t in found.tasks} == {
        "shop-a": "conflict",
        "shop-c": "live_edit",
        "shop-d": "pending",
        "shop-e": "pending",
    }
