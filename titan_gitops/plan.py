"""Stage: TaskDiffs → Plan (ownership, renames, protection, guards, fingerprints), in decisions.

Pure: no network. Ownership follows DESIGN.md: with a `namespace`, live tasks whose name starts
with it are ours and unclaimed ones are deleted (never protected ones, never beyond the guards);
without one, tasks are adopted by exact name and nothing is ever deleted.
"""

from __future__ import annotations

import copy
import fnmatch
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import PlanError, format_listing, list_names
from titan_gitops.fingerprint import (
    change_digest,
    fingerprint,
    in_namespace,
    scope_digest,
    scope_of,
)
from titan_gitops.model import (
    Action,
    Change,
    DesiredState,
    DesiredTask,
    Fingerprint,
    LiveState,
    LiveTask,
    Note,
    Plan,
    TaskDiff,
)

# Re-exported: PlanOptions lives in the model, and callers name it from here.
from titan_gitops.model.options import PlanOptions as PlanOptions
from titan_gitops.pointers import get_pointer, set_pointer, split_pointer
from titan_gitops.reserved import oldest_first
from titan_gitops.schema_compat import find_breaking_changes

if TYPE_CHECKING:
    from titan_gitops.spec import ProjectConfig


def is_protected(name: str, patterns: Iterable[str]) -> bool:
    """True when `name` matches a `protected` entry (exact name or glob)."""
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def managed_names_of(desired: DesiredState) -> tuple[str, ...]:
    """Every name the definitions claim: task names and their previous names."""
    names = {t.name for t in desired.tasks}
    for task in desired.tasks:
        names.update(task.previous_names)
    return tuple(sorted(names))


def build_plan(
    desired: DesiredState,
    live: LiveState,
    diffs: Sequence[TaskDiff],
    options: PlanOptions | None = None,
    *,
    target: str = "",
) -> Plan:
    """Turn the diffs of `desired` against `live` (diff.diff_states) into a plan.

    Raises:
        PlanError: duplicate live names, a collision with a task outside the namespace, a
            missing template, or a deletion guard tripped; every problem is listed at once.
    """
    options = options or PlanOptions()
    namespace = desired.project.namespace
    managed = managed_names_of(desired)
    errors, duplicates = decide_duplicates(diffs, desired.project, frozenset(managed), options)
    by_fold = _index_by_fold(live)
    changes: list[Change] = []
    for diff in sorted(diffs, key=lambda d: d.name):
        task = diff.desired
        if task is None or not options.selects(task.name):
            continue
        errors.extend(check_template_references(task, live))
        errors.extend(check_collisions(task, by_fold, namespace))
        errors.extend(check_rename(diff, task, namespace))
        if len(diff.rename_candidates) <= 1:
            changes.append(decide_change(diff, task))
    notes, deletes = decide_unclaimed(diffs, desired.project, frozenset(managed), options)
    deletes.extend(duplicates)
    errors.extend(check_deletion_guards(desired, live, len(deletes), options))
    source = desired.project.max_deletes_source(desired.project_path)
    errors.extend(check_delete_limit(deletes, desired.project.max_deletes, options, source))
    if errors:
        raise PlanError(format_listing("the plan cannot be made safely", errors))

    ordered = sorted(changes + deletes, key=lambda c: (c.action.step, c.name))
    fingerprints, digest = record_scope(namespace, managed, live, diffs)
    return Plan(
        changes=tuple(ordered),
        notes=tuple(notes),
        namespace=namespace,
        filtered=options.filtered,
        filters=tuple(f"only {g}" for g in options.only)
        + tuple(f"exclude {g}" for g in options.exclude),
        fingerprints=fingerprints,
        scope_digest=digest,
        change_digest=change_digest(ordered),
        target=target,
        warnings=tuple(live.warnings),  # a filtered plan says so in its own header line
        managed_names=managed,
    )


# --- checks: each returns the problems it found, in the order they are reported ----------------


def decide_duplicates(
    diffs: Iterable[TaskDiff], project: ProjectConfig, managed: frozenset[str], options: PlanOptions
) -> tuple[list[str], list[Change]]:
    """Live tasks sharing a name the plan manages: the oldest is kept, the others deleted.

    Only inside the namespace and for unprotected names (without a namespace nothing is ever
    deleted); elsewhere the duplicates are refused as before. The kept copy must be the one the
    diff matched (fetch lists live tasks oldest first), or the plan refuses.
    """
    groups: dict[str, list[tuple[LiveTask, TaskDiff]]] = {}
    for diff in diffs:
        if diff.live is not None and diff.live.name in managed and options.selects(diff.name):
            groups.setdefault(diff.live.name, []).append((diff.live, diff))
    errors: list[str] = []
    deletes: list[Change] = []
    for name, group in sorted(groups.items()):
        same = sorted(group, key=lambda pair: oldest_first(pair[0]))
        why = _not_ours_to_repair(name, project, [d for _, d in same]) if len(same) > 1 else ""
        if why:
            ids = list_names(sorted(t.task_id for t, _ in same))
            errors.append(
                f"two or more live tasks are named '{name}' (ids {ids}) and {why}; titan-gitops "
                "identifies tasks by name: rename or delete the extra ones first"
            )
            continue
        keep = same[0][0].task_id
        reason = f"duplicate of {keep}, the oldest live task with this name, which is kept"
        deletes.extend(
            Change(Action.DELETE, name, reason, task_id=t.task_id, before=d.live_normalised)
            for t, d in same[1:]
        )
    return errors, deletes


def _not_ours_to_repair(name: str, project: ProjectConfig, same: Sequence[TaskDiff]) -> str:
    if project.namespace is None:
        return "no namespace is declared, so titan-gitops never deletes"
    if not in_namespace(name, project.namespace):
        return f"it lies outside the namespace '{project.namespace}'"
    if is_protected(name, project.protected):
        return "it is protected"
    if any(d.desired is not None for d in same[1:]):
        return "the copy to keep could not be told"
    return ""


def check_template_references(task: DesiredTask, live: LiveState) -> list[str]:
    """Template slugs and ids (of the task and its steps) the service does not have."""
    problems: list[str] = []
    bodies = [task.body]
    plan = task.body.get("execution_plan")
    if isinstance(plan, dict) and isinstance(plan.get("steps"), list):
        bodies.extend(s for s in plan["steps"] if isinstance(s, dict))
    for body in bodies:
        slug, tid = body.get("template_slug"), body.get("template_id")
        if slug and live.template_slugs is not None and slug not in live.template_slugs:
            problems.append(f"{task.name}: template_slug '{slug}' does not exist on the service")
        if tid and live.template_ids is not None and tid not in live.template_ids:
            problems.append(f"{task.name}: template_id '{tid}' does not exist on the service")
    return problems


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


def _index_by_fold(live: LiveState) -> dict[str, list[LiveTask]]:
    by_fold: dict[str, list[LiveTask]] = {}
    for task in live.tasks:
        by_fold.setdefault(_fold(task.name), []).append(task)
    return by_fold


def check_collisions(
    task: DesiredTask, by_fold: Mapping[str, list[LiveTask]], namespace: str | None
) -> list[str]:
    """Live tasks outside the namespace whose name differs from the task's only by case/space."""
    return [
        f"{_where(task)}: '{task.name}' collides with live task '{other.name}' "
        f"(id {other.task_id}), which differs only by case or spacing"
        for other in by_fold.get(_fold(task.name), [])
        if other.name != task.name and not in_namespace(other.name, namespace)
    ]


def check_rename(diff: TaskDiff, task: DesiredTask, namespace: str | None) -> list[str]:
    """A rename must be unambiguous and must take a task from inside the namespace."""
    if len(diff.rename_candidates) > 1:
        found = ", ".join(f"'{t.name}' (id {t.task_id})" for t in diff.rename_candidates)
        return [
            f"{_where(task)}: '{task.name}' has several previous names live: {found}; "
            "delete all but one first"
        ]
    previous, other = diff.previous_name, diff.live
    if previous is None or other is None or namespace is None or in_namespace(previous, namespace):
        return []
    return [
        f"{_where(task)}: previous name '{previous}' (id {other.task_id}) is "
        f"outside the namespace '{namespace}': it is not ours to rename"
    ]


def check_deletion_guards(
    desired: DesiredState, live: LiveState, deletes: int, options: PlanOptions
) -> list[str]:
    """An empty definitions directory never deletes a namespace's live tasks unless allowed."""
    namespace = desired.project.namespace
    in_scope = [t for t in live.tasks if in_namespace(t.name, namespace)]
    if desired.tasks or not in_scope or options.allow_empty:
        return []
    return [
        f"the definitions hold no tasks but {len(in_scope)} live task"
        f"{'s' * (len(in_scope) != 1)} exist in namespace '{namespace}': refusing to plan "
        f"their deletion; {options.ask('allow-empty', verb=True)} if that is really meant"
    ]


def check_delete_limit(
    deletes: Sequence[Change], max_deletes: int, options: PlanOptions, source: str = ""
) -> list[str]:
    """More deletes than max_deletes (or --allow-deletes) is refused, naming where the limit
    comes from (`source`, unless --allow-deletes set it) and the deletes (the first ten), in the
    words of whoever runs it (PlanOptions.ask)."""
    limit = max_deletes if options.allow_deletes is None else options.allow_deletes
    if len(deletes) <= limit:
        return []
    if options.allow_deletes is not None:
        source = options.ask("allow-deletes", str(options.allow_deletes))
    lift = options.ask("allow-deletes", str(len(deletes)), verb=True)
    return [
        f"the plan deletes {len(deletes)} tasks, more than the {limit} allowed "
        f"({source or 'max_deletes'}); {lift} to allow it: " + list_names([c.name for c in deletes])
    ]


def _where(task: DesiredTask) -> str:
    return f"{task.source.path}:{task.source.line}"


# --- decisions ---------------------------------------------------------------------------------


def decide_change(diff: TaskDiff, task: DesiredTask) -> Change:
    """Create, update, rename or no-op: what one defined task needs."""
    live_task = diff.live
    if live_task is None:
        return Change(
            action=Action.CREATE,
            name=task.name,
            reason="no live task has this name",
            after=diff.after,
            request_body=dict(task.body),
            fields=diff.fields,
            source=_where(task),
            sensitive_pointers=task.sensitive_paths,
            ignore_fields=task.ignore_fields,
        )
    previous_name, fields = diff.previous_name, diff.fields
    if previous_name is None and not fields:
        return Change(
            action=Action.NO_OP,
            name=task.name,
            reason="live task matches the definition",
            task_id=live_task.task_id,
            before=diff.before,
            after=diff.after,
            source=_where(task),
            # Kept on a no-op too: the saved plan hides these values in `before` and `after`,
            # whatever their length (the masker skips values too short to mask).
            sensitive_pointers=task.sensitive_paths,
        )
    changed_keys = sorted({f.pointer.split("/")[1] for f in fields})
    if previous_name is not None and "name" not in changed_keys:
        changed_keys = sorted({*changed_keys, "name"})
    n = len(fields)
    reason = (
        f"renamed from '{previous_name}' (previous_names); keeps id and history"
        if previous_name is not None
        else f"{n} field{'s' * (n != 1)} differ{'s' * (n == 1)} from the definition"
    )
    return Change(
        action=Action.UPDATE if previous_name is None else Action.RENAME,
        name=task.name,
        reason=reason,
        task_id=live_task.task_id,
        previous_name=previous_name,
        before=diff.before,
        after=diff.after,
        request_body=_update_body(task.body, live_task.body, changed_keys, task.ignore_fields),
        fields=fields,
        breaking=find_breaking_changes(diff.before, diff.after or {}),
        source=_where(task),
        sensitive_pointers=task.sensitive_paths,
        ignore_fields=task.ignore_fields,
    )


def _update_body(
    desired_body: dict[str, Any],
    live_body: dict[str, Any],
    changed_keys: Iterable[str],
    ignore_fields: Iterable[str],
) -> dict[str, Any]:
    """The PATCH body: each changed top-level key with its desired value (null removes it).

    Ignored pointers keep their live value, even inside a changed mapping.
    """
    body: dict[str, Any] = {}
    for key in changed_keys:
        value = desired_body.get(key)
        body[key] = None if value in (None, [], {}) else value
    ignored = list(ignore_fields)
    for pointer in ignored:
        segments = split_pointer(pointer)
        # An ignored top-level field differs from nothing, so only the name a rename must send
        # can be in the body: it stays.
        if len(segments) < 2 or segments[0] not in body:
            continue
        live_value = get_pointer(live_body, pointer)
        if isinstance(body[segments[0]], dict | None) and live_value is not None:
            # A copy at every depth: the definition's own body is never written to. A parent the
            # definition removes (None) still keeps the ignored live value inside it.
            body[segments[0]] = copy.deepcopy(body[segments[0]] or {})
            set_pointer(body, pointer, live_value)
    return body


def decide_unclaimed(
    diffs: Iterable[TaskDiff],
    project: ProjectConfig,
    managed: frozenset[str],
    options: PlanOptions,
) -> tuple[list[Note], list[Change]]:
    """Live tasks no definition claims: deleted, kept (protected) or left in place, with notes."""
    unclaimed = _unclaimed(diffs, managed)
    namespace = project.namespace
    if namespace is None:
        return ([_left_in_place(len(unclaimed))] if unclaimed else []), []
    if options.filtered:  # a filtered plan never sees a task as orphaned
        return [], []
    notes: list[Note] = []
    deletes: list[Change] = []
    for live_task, normalised in unclaimed:
        if not in_namespace(live_task.name, namespace):
            continue
        if is_protected(live_task.name, project.protected):
            notes.append(
                Note(
                    name=live_task.name,
                    task_id=live_task.task_id,
                    message="kept (protected): no definition claims it, "
                    "but titan-gitops.yaml protects it",
                )
            )
            continue
        deletes.append(
            Change(
                action=Action.DELETE,
                name=live_task.name,
                reason=f"inside namespace '{namespace}' and no definition claims it",
                task_id=live_task.task_id,
                before=normalised,
            )
        )
    return notes, deletes


def _unclaimed(
    diffs: Iterable[TaskDiff], managed: frozenset[str]
) -> list[tuple[LiveTask, dict[str, Any] | None]]:
    """Live tasks no definition claims, with their normalised bodies, in (name, id) order.

    A live task holding a name the definitions claim (a previous name, say) is never unclaimed,
    even when no definition matched it.
    """
    found = [
        (d.live, d.before)
        for d in diffs
        if d.desired is None and d.live is not None and d.name not in managed
    ]
    return sorted(found, key=lambda pair: (pair[0].name, pair[0].task_id))


def _left_in_place(n: int) -> Note:
    return Note(
        name="",
        message=f"{n} live task{'s' * (n != 1)} not in the definitions "
        f"{'were' if n != 1 else 'was'} left in place (no namespace is declared, "
        "so titan-gitops never deletes)",
    )


def record_scope(
    namespace: str | None,
    managed: tuple[str, ...],
    live: LiveState,
    diffs: Iterable[TaskDiff],
) -> tuple[tuple[Fingerprint, ...], str]:
    """The fingerprint of every live task in the plan's scope, and the digest of that scope."""
    normalised: dict[str, dict[str, Any]] = {}
    hidden: dict[str, frozenset[str]] = {}
    for d in diffs:
        if d.live is not None and d.live_normalised is not None:
            normalised[d.live.task_id] = d.live_normalised
            if d.desired is not None:
                hidden[d.live.task_id] = d.desired.sensitive_paths
    # Copies sharing a name are listed oldest first, the order in which duplicates are decided.
    scope = sorted(
        scope_of(namespace, managed, live.tasks), key=lambda t: (t.name, oldest_first(t))
    )
    # diff_states normalises every live task, so each one in scope has its normalised body.
    fingerprints = tuple(
        fingerprint(t, normalised[t.task_id], hidden=hidden.get(t.task_id, ())) for t in scope
    )
    return fingerprints, scope_digest(scope)
