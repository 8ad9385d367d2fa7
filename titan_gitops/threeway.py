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

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from titan_gitops.diff import diff_bodies, normalise_task
from titan_gitops.errors import LiveEditsRefused
from titan_gitops.fingerprint import sensitive_stand_in
from titan_gitops.model import DesiredState, DesiredTask, FieldChange, LiveTask, Plan, TaskDiff
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
from titan_gitops.pointers import join_pointer, pointers_overlap


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
    # The diff stage made git's body in exactly this form (normalised with its ignore_fields).
    git = diff.after
    if git is None:  # a diff made elsewhere
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
    if base_task.body == task.body:
        # The cheap path: most tasks did not change in git since the base (the base body is
        # normalised with git's ignore_fields either way, so those need not match).
        return git
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
        git_changes = _leaves(key, b, g) if git_moved else ()
        live_changes = _leaves(key, b, v) if live_moved else ()
        out.append(FieldAttribution(key, kind, b, g, v, git_changes, live_changes))
    return tuple(out)


def _leaves(key: str, before: Any, after: Any) -> tuple[FieldChange, ...]:
    """What one side changed in field `key` since the base, down to the leaf, as a plan shows it
    (`execution_plan.steps[0].limits.max_results: 20 → 30`)."""
    old = {} if before is None else {key: before}
    new = {} if after is None else {key: after}
    return diff_bodies(old, new)


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


# --- the apply gate ---------------------------------------------------------------------------

MAX_NAMED = 20


def refuse_live_edits(plan: Plan, *, how_to_overwrite: str) -> None:
    """Refuse a plan whose changes would throw away edits made in Titan since its base, unless
    it was made allowing that (`ThreeWay.overwrite`). A two-way plan is never refused here.

    Raises:
        LiveEditsRefused: naming every such task and what was done to it in Titan.
    """
    threeway = plan.threeway
    if threeway is None or threeway.overwrite:
        return
    acting = {c.name for c in plan.actionable}
    reverting = [t for t in threeway.reverting if t.name in acting]
    if not reverting:
        return
    shown = "; ".join(_what_was_done(t) for t in reverting[:MAX_NAMED])
    more = f"; and {len(reverting) - MAX_NAMED} more" if len(reverting) > MAX_NAMED else ""
    count = len(reverting)
    raise LiveEditsRefused(
        f"refusing to apply: {count} change{'s' * (count != 1)} would throw away edits made in "
        f"Titan since the base ({threeway.base.sha[:7]}): {shown}{more}. Keep an edit by "
        "writing it into the definitions (a live value as drift with the same base shows it; a "
        "task deleted in Titan by removing its definition), or overwrite the edits on purpose: "
        f"{how_to_overwrite}, or set live_edits: overwrite in titan-gitops.yaml"
    )


def _to_the_minute(stamp: str) -> str:
    """`2026-11-24T09:12:33.5Z` as `2026-11-24T09:12Z`; anything else as it is."""
    found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|\+00:00)", stamp)
    return f"{found.group(1)}Z" if found else stamp


def _what_was_done(task: TaskAttribution) -> str:
    """`'shop-a' (objective, url edited in Titan at 2026-11-24T09:12Z)`, for messages."""
    when = f" at {_to_the_minute(task.live_updated_at)}" if task.live_updated_at else ""
    edited = [f.field for f in task.fields if f.attribution in ("live_edit", "conflict")]
    what = {
        "deleted_in_titan": "deleted in Titan",
        "deleted_in_titan_changed_in_git": "deleted in Titan, changed in git",
        "created_in_titan": f"created in Titan{when}",
    }.get(task.story, f"{', '.join(edited) or 'edited'} edited in Titan{when}")
    was = f"was {task.previous_name!r} in Titan; " if task.previous_name else ""
    return f"{task.name!r} ({was}{what})"


# --- the JSON form (plan --output json, drift --output json, saved plans) ----------------------


def threeway_to_dict(threeway: ThreeWay) -> dict[str, Any]:
    """The attribution as JSON-ready data; a secret-holding field is named, its values hidden."""
    return {
        "base": base_to_dict(threeway.base),
        "overwrite_live_edits": threeway.overwrite,
        "counts": threeway.counts(),
        "tasks": [_task_to_dict(t) for t in threeway.tasks],
    }


def base_to_dict(base: BaseInfo) -> dict[str, Any]:
    """The base revision as JSON-ready data."""
    return {"rev": base.rev, "sha": base.sha, "directory_existed": base.directory_existed}


def _task_to_dict(task: TaskAttribution) -> dict[str, Any]:
    commit = task.commit
    return {
        "name": task.name,
        "story": task.story,
        "attribution": task.attribution,
        "reverts_live_edit": task.reverts_live_edit,
        "previous_name": task.previous_name,
        "live_updated_at": task.live_updated_at,
        "path": task.path,
        "commit": None
        if commit is None
        else {
            "sha": commit.sha,
            "author": commit.author,
            "date": commit.date,
            "subject": commit.subject,
        },
        "fields": [_field_to_dict(f, task.sensitive_pointers) for f in task.fields],
    }


def _field_to_dict(field: FieldAttribution, sensitive: frozenset[str]) -> dict[str, Any]:
    pointer = join_pointer([field.field])
    if any(pointers_overlap(pointer, p) for p in sensitive):
        hidden = {side: _stand_in(getattr(field, side)) for side in ("base", "git", "live")}
        return {"field": field.field, "attribution": field.attribution, "sensitive": True, **hidden}
    return {
        "field": field.field,
        "attribution": field.attribution,
        "sensitive": False,
        "base": field.base,
        "git": field.git,
        "live": field.live,
    }


def _stand_in(value: Any) -> Any:
    return None if value is None else sensitive_stand_in()
