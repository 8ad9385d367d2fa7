"""Stage: the base, the diffs (git against live) → who changed each field since the base. Pure.

Every body is compared in the diff's normalised form (`diff.normalise_task`), with the ignore_fields
of the definition in git, so a field the diff calls equal is never attributed. Per top-level field:

- git differs from the base, live does not: `pending` (merged, not yet applied);
- live differs from the base, git does not: `live_edit`;
- both differ from the base: `converged` when they agree, else `conflict`.

A task takes the most urgent class of its fields; a task missing on one side has a story instead
("deleted in Titan", "added in git, not yet applied", ...) and the class that story implies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from titan_gitops.diff import normalise_task
from titan_gitops.model import DesiredState, DesiredTask, LiveTask, TaskDiff
from titan_gitops.model.threeway import (
    STORY_ATTRIBUTION,
    URGENCY,
    Attribution,
    BaseInfo,
    CommitInfo,
    FieldAttribution,
    Story,
    TaskAttribution,
    ThreeWay,
)


def attribute(
    base_info: BaseInfo,
    base: DesiredState,
    diffs: Sequence[TaskDiff],
    *,
    in_scope: Callable[[str], bool],
    overwrite: bool = False,
) -> ThreeWay:
    """Attribute every task of `diffs` (git against live) and every base task, against `base`.

    `in_scope(name)` says whether a live task no definition claims is the plan's to manage (its
    namespace, its --only/--exclude); a live task outside the scope is not attributed unless the
    base held it. `commits` maps a definition file to the newest commit after the base that
    changed it.
    """
    base_by_name = {task.name: task for task in base.tasks}
    git_by_name = {d.desired.name: d.desired for d in diffs if d.desired is not None}
    tasks: list[TaskAttribution] = []
    for diff in diffs:
        if diff.desired is not None:
            found = _attribute_defined(diff, diff.desired, _base_of(diff.desired, base_by_name))
        elif diff.live is not None and in_scope(diff.live.name):
            found = _attribute_unclaimed(diff.live, base_by_name.get(diff.live.name))
        else:
            continue  # not the plan's to manage: never deleted, so nothing to attribute
        if found is not None:
            tasks.append(_with_path(found, diff))
    tasks = [_with_secrets(t, git_by_name.get(t.name), base_by_name) for t in tasks]
    # A base task that neither git nor live holds any more was deleted on both sides: converged,
    # and nothing any command would do, so it is not listed.
    return ThreeWay(base_info, tuple(sorted(tasks, key=lambda t: t.name)), overwrite)


def _base_of(task: DesiredTask, base_by_name: Mapping[str, DesiredTask]) -> DesiredTask | None:
    """The base task a definition continues: its own name, else one of its previous names."""
    found = base_by_name.get(task.name)
    if found is not None:
        return found
    return next((base_by_name[p] for p in task.previous_names if p in base_by_name), None)


def _attribute_defined(
    diff: TaskDiff, task: DesiredTask, base_task: DesiredTask | None
) -> TaskAttribution | None:
    """A task git defines: compared field by field when it is live, else by its story."""
    git = normalise_task(task.body, ignore_fields=task.ignore_fields)
    base = _base_body(task, base_task, git)
    previous = base_task.name if base_task is not None and base_task.name != task.name else None
    if diff.live is None or diff.before is None:
        if base is None:
            return _story(task.name, "added_in_git", previous)
        story: Story = "deleted_in_titan_changed_in_git" if base != git else "deleted_in_titan"
        return _story(task.name, story, previous)
    fields = compare_fields(base or {}, git, diff.before)
    updated_at = diff.live.updated_at
    if base is None:
        # Created on both sides: every field either side set was "changed since the base".
        return _task(task.name, "added_in_both", fields, updated_at, previous, default="converged")
    # `name` is a field like any other: a rename git made is pending until live follows.
    if not fields:
        return None
    return _task(task.name, "changed", fields, updated_at, previous, default="pending")


def _base_body(
    task: DesiredTask, base_task: DesiredTask | None, git: dict[str, Any]
) -> dict[str, Any] | None:
    """The base body in the form git's is compared in; git's own when the two are the same."""
    if base_task is None:
        return None
    if base_task.body == task.body and base_task.ignore_fields == task.ignore_fields:
        return git  # the cheap path: most tasks did not change in git since the base
    return normalise_task(base_task.body, ignore_fields=task.ignore_fields)


def _attribute_unclaimed(live: LiveTask, base_task: DesiredTask | None) -> TaskAttribution:
    """A live task no definition claims, in the plan's scope: removed in git, or created in
    Titan."""
    if base_task is None:
        return TaskAttribution(
            live.name,
            "created_in_titan",
            STORY_ATTRIBUTION["created_in_titan"],
            live_updated_at=live.updated_at,
        )
    base = normalise_task(base_task.body, ignore_fields=base_task.ignore_fields)
    now = normalise_task(live.body, ignore_fields=base_task.ignore_fields)
    story: Story = "removed_in_git" if base == now else "removed_in_git_edited_in_titan"
    # Git removed the whole task; the fields listed are the ones edited in the service.
    fields = compare_fields(base, base, now)
    return TaskAttribution(
        live.name,
        story,
        STORY_ATTRIBUTION[story],
        fields,
        live_updated_at=live.updated_at,
    )


def compare_fields(
    base: Mapping[str, Any], git: Mapping[str, Any], live: Mapping[str, Any]
) -> tuple[FieldAttribution, ...]:
    """Every top-level field that is not in sync on all three sides, in name order."""
    out: list[FieldAttribution] = []
    for key in sorted(base.keys() | git.keys() | live.keys()):
        b, g, v = base.get(key), git.get(key), live.get(key)
        git_moved, live_moved = g != b, v != b
        if not git_moved and not live_moved:
            continue
        kind: Attribution
        if git_moved and live_moved:
            kind = "converged" if g == v else "conflict"
        else:
            kind = "pending" if git_moved else "live_edit"
        out.append(FieldAttribution(key, kind, b, g, v))
    return tuple(out)


def _story(name: str, story: Story, previous: str | None) -> TaskAttribution:
    return TaskAttribution(name, story, STORY_ATTRIBUTION[story], previous_name=previous)


def _task(
    name: str,
    story: Story,
    fields: tuple[FieldAttribution, ...],
    updated_at: str | None,
    previous: str | None,
    *,
    default: Attribution,
) -> TaskAttribution:
    """A task of `fields`, its class the most urgent of theirs (`default` when it has none: a
    rename alone is pending, a task created alike on both sides has converged)."""
    kinds: list[Attribution] = [f.attribution for f in fields] or [default]
    return TaskAttribution(
        name,
        story,
        max(kinds, key=URGENCY.__getitem__),
        fields,
        live_updated_at=updated_at,
        previous_name=previous,
    )


def _with_path(found: TaskAttribution, diff: TaskDiff) -> TaskAttribution:
    """The attribution with the file that defines its task in git."""
    task = diff.desired
    if task is None or not task.source.path:
        return found
    return replace(found, path=task.source.path)


def git_side_paths(threeway: ThreeWay) -> tuple[str, ...]:
    """The definition files of the tasks git changed since the base: the ones whose history
    says who changed them."""
    moved = {"pending", "conflict", "converged"}
    paths = {
        t.path
        for t in threeway.tasks
        if t.path and (t.story == "added_in_git" or any(f.attribution in moved for f in t.fields))
    }
    return tuple(sorted(paths))


def attach_commits(threeway: ThreeWay, commits: Mapping[str, CommitInfo]) -> ThreeWay:
    """Each task with the newest commit after the base that changed its definition file."""
    tasks = tuple(
        replace(t, commit=commits[t.path]) if t.path and t.path in commits else t
        for t in threeway.tasks
    )
    return replace(threeway, tasks=tasks)


def _with_secrets(
    found: TaskAttribution, git: DesiredTask | None, base_by_name: Mapping[str, DesiredTask]
) -> TaskAttribution:
    """The attribution with the secret-holding pointers of its task in git and in the base."""
    base = base_by_name.get(found.previous_name or found.name)
    pointers = frozenset().union(*(t.sensitive_paths for t in (git, base) if t is not None))
    return replace(found, sensitive_pointers=pointers) if pointers else found
