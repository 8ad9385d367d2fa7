"""Stage: desired state + live state → Plan (ownership, renames, protection, guards, fingerprints).

Pure: no network. Ownership follows DESIGN.md: with a `namespace`, live tasks whose name starts
with it are ours and unclaimed ones are deleted (never protected ones, never beyond the guards);
without one, tasks are adopted by exact name and nothing is ever deleted.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from titan_gitops.diff import diff_bodies, normalise_task
from titan_gitops.errors import PlanError
from titan_gitops.fingerprint import (
    change_digest,
    fingerprint,
    in_namespace,
    scope_digest,
    scope_of,
)
from titan_gitops.model import Action, Change, LiveState, LiveTask, Note, Plan
from titan_gitops.pointers import get_pointer, set_pointer, split_pointer
from titan_gitops.schema_compat import find_breaking_changes


class _Source(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def line(self) -> int: ...


class DesiredTaskLike(Protocol):
    """What the plan needs of a desired task (validate.DesiredTask has it)."""

    @property
    def name(self) -> str: ...

    @property
    def body(self) -> dict[str, Any]: ...

    @property
    def previous_names(self) -> tuple[str, ...]: ...

    @property
    def ignore_fields(self) -> tuple[str, ...]: ...

    @property
    def sensitive_paths(self) -> frozenset[str]: ...

    @property
    def source(self) -> _Source: ...


class ProjectLike(Protocol):
    """What the plan needs of the project file."""

    @property
    def namespace(self) -> str | None: ...

    @property
    def protected(self) -> tuple[str, ...]: ...

    @property
    def max_deletes(self) -> int: ...


class DesiredStateLike(Protocol):
    """What the plan needs of the desired state."""

    @property
    def tasks(self) -> Sequence[DesiredTaskLike]: ...

    @property
    def project(self) -> ProjectLike: ...

    @property
    def secrets(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: filters and the explicit allowances that lift the deletion guards."""

    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_deletes: int | None = None
    allow_empty: bool = False

    @property
    def filtered(self) -> bool:
        """True when the plan covers only some task names."""
        return bool(self.only or self.exclude)

    def selects(self, name: str) -> bool:
        """True when `name` passes the --only / --exclude globs."""
        if self.only and not any(fnmatch.fnmatchcase(name, g) for g in self.only):
            return False
        return not any(fnmatch.fnmatchcase(name, g) for g in self.exclude)


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip().casefold()


def is_protected(name: str, patterns: Iterable[str]) -> bool:
    """True when `name` matches a `protected` entry (exact name or glob)."""
    return any(name == p or fnmatch.fnmatchcase(name, p) for p in patterns)


def managed_names_of(desired: DesiredStateLike) -> tuple[str, ...]:
    """Every name the definitions claim: task names and their previous names."""
    names = {t.name for t in desired.tasks}
    for task in desired.tasks:
        names.update(task.previous_names)
    return tuple(sorted(names))


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
        if not segments or segments[0] not in body:
            continue
        live_value = get_pointer(live_body, pointer)
        if len(segments) == 1:
            del body[segments[0]]
        elif isinstance(body[segments[0]], dict) and live_value is not None:
            body[segments[0]] = dict(body[segments[0]])
            set_pointer(body, pointer, live_value)
    return body


def _template_problems(task: DesiredTaskLike, live: LiveState) -> list[str]:
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


def _where(task: DesiredTaskLike) -> str:
    return f"{task.source.path}:{task.source.line}"


def build_plan(
    desired: DesiredStateLike,
    live: LiveState,
    options: PlanOptions | None = None,
    *,
    target: str = "",
) -> Plan:
    """Compute the plan turning `live` into `desired`.

    Raises:
        PlanError: duplicate live names, a collision with a task outside the namespace, a
            missing template, or a deletion guard tripped; every problem is listed at once.
    """
    options = options or PlanOptions()
    project = desired.project
    namespace = project.namespace
    errors: list[str] = []
    # Each live body is normalised once, for the diff, the delete and the fingerprint alike.
    normalised: dict[str, dict[str, Any]] = {}

    def normal_of(live_task: LiveTask, ignore_fields: tuple[str, ...] = ()) -> dict[str, Any]:
        if ignore_fields:
            return normalise_task(live_task.body, ignore_fields=ignore_fields)
        if live_task.task_id not in normalised:
            normalised[live_task.task_id] = normalise_task(live_task.body)
        return normalised[live_task.task_id]

    by_name: dict[str, list[LiveTask]] = {}
    by_fold: dict[str, list[LiveTask]] = {}
    for lt in live.tasks:
        by_name.setdefault(lt.name, []).append(lt)
        by_fold.setdefault(_fold(lt.name), []).append(lt)

    managed = set(managed_names_of(desired))
    for name in sorted(by_name):
        same = by_name[name]
        if len(same) > 1 and (name in managed or in_namespace(name, namespace)):
            ids = ", ".join(sorted(t.task_id for t in same))
            errors.append(
                f"two or more live tasks are named '{name}' (ids {ids}); titan-gitops "
                "identifies tasks by name: rename or delete the extra ones first"
            )

    selected = [t for t in desired.tasks if options.selects(t.name)]
    claimed: set[str] = set()
    changes: list[Change] = []
    for task in desired.tasks:
        # Claims come from every definition, so a filtered plan never sees a task as orphaned.
        for name in (task.name, *task.previous_names):
            claimed.update(t.task_id for t in by_name.get(name, []))

    for task in sorted(selected, key=lambda t: t.name):
        errors.extend(_template_problems(task, live))
        for other in by_fold.get(_fold(task.name), []):
            if other.name != task.name and not in_namespace(other.name, namespace):
                errors.append(
                    f"{_where(task)}: '{task.name}' collides with live task '{other.name}' "
                    f"(id {other.task_id}), which differs only by case or spacing"
                )
        after = normalise_task(task.body, ignore_fields=task.ignore_fields)
        current = by_name.get(task.name, [])
        renamed_from = [
            (p, by_name[p][0]) for p in task.previous_names if p in by_name and not current
        ]
        if len(renamed_from) > 1:
            found = ", ".join(f"'{p}' (id {t.task_id})" for p, t in renamed_from)
            errors.append(
                f"{_where(task)}: '{task.name}' has several previous names live: {found}; "
                "delete all but one first"
            )
            continue
        for previous, other in renamed_from:
            if namespace is not None and not in_namespace(previous, namespace):
                errors.append(
                    f"{_where(task)}: previous name '{previous}' (id {other.task_id}) is "
                    f"outside the namespace '{namespace}': it is not ours to rename"
                )
        if current:
            live_task = current[0]
            action, previous_name = Action.UPDATE, None
        elif renamed_from:
            previous_name, live_task = renamed_from[0]
            action = Action.RENAME
        else:
            changes.append(
                Change(
                    action=Action.CREATE,
                    name=task.name,
                    reason="no live task has this name",
                    after=after,
                    request_body=dict(task.body),
                    fields=diff_bodies(None, after, sensitive_pointers=task.sensitive_paths),
                    source=_where(task),
                    sensitive_pointers=task.sensitive_paths,
                    ignore_fields=task.ignore_fields,
                )
            )
            continue
        before = normal_of(live_task, task.ignore_fields)
        fields = diff_bodies(before, after, sensitive_pointers=task.sensitive_paths)
        if action is Action.UPDATE and not fields:
            changes.append(
                Change(
                    action=Action.NO_OP,
                    name=task.name,
                    reason="live task matches the definition",
                    task_id=live_task.task_id,
                    before=before,
                    after=after,
                    source=_where(task),
                )
            )
            continue
        changed_keys = sorted({f.pointer.split("/")[1] for f in fields})
        if action is Action.RENAME and "name" not in changed_keys:
            changed_keys = sorted({*changed_keys, "name"})
        n = len(fields)
        reason = (
            f"renamed from '{previous_name}' (previous_names); keeps id and history"
            if action is Action.RENAME
            else f"{n} field{'s' * (n != 1)} differ{'s' * (n == 1)} from the definition"
        )
        changes.append(
            Change(
                action=action,
                name=task.name,
                reason=reason,
                task_id=live_task.task_id,
                previous_name=previous_name,
                before=before,
                after=after,
                request_body=_update_body(
                    task.body, live_task.body, changed_keys, task.ignore_fields
                ),
                fields=fields,
                breaking=find_breaking_changes(before, after),
                source=_where(task),
                sensitive_pointers=task.sensitive_paths,
                ignore_fields=task.ignore_fields,
            )
        )

    notes: list[Note] = []
    deletes: list[Change] = []
    if namespace is not None and not options.filtered:
        for live_task in sorted(live.tasks, key=lambda t: (t.name, t.task_id)):
            if not in_namespace(live_task.name, namespace) or live_task.task_id in claimed:
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
                    before=normal_of(live_task),
                )
            )
    elif namespace is None:
        unmanaged = [t for t in live.tasks if t.task_id not in claimed]
        if unmanaged:
            n = len(unmanaged)
            notes.append(
                Note(
                    name="",
                    message=f"{n} live task{'s' * (n != 1)} not in the definitions "
                    f"{'were' if n != 1 else 'was'} left in place (no namespace is declared, "
                    "so titan-gitops never deletes)",
                )
            )

    in_scope = [t for t in live.tasks if in_namespace(t.name, namespace)]
    if not desired.tasks and in_scope and not options.allow_empty:
        errors.append(
            f"the definitions hold no tasks but {len(in_scope)} live task"
            f"{'s' * (len(in_scope) != 1)} exist in namespace '{namespace}': refusing to plan "
            "their deletion; pass --allow-empty if that is really meant"
        )
    limit = project.max_deletes if options.allow_deletes is None else options.allow_deletes
    if len(deletes) > limit:
        errors.append(
            f"the plan deletes {len(deletes)} tasks, more than the {limit} allowed "
            f"(max_deletes in titan-gitops.yaml); pass --allow-deletes {len(deletes)} to "
            "allow it: " + ", ".join(c.name for c in deletes)
        )
    if errors:
        raise PlanError("the plan cannot be made safely:\n  " + "\n  ".join(errors))

    ordered = sorted(changes + deletes, key=lambda c: (c.action.step, c.name))
    scope = scope_of(namespace, managed, live.tasks)
    warnings = list(live.warnings)  # a filtered plan says so in its own header line
    return Plan(
        changes=tuple(ordered),
        notes=tuple(notes),
        namespace=namespace,
        filtered=options.filtered,
        filters=tuple(f"only {g}" for g in options.only)
        + tuple(f"exclude {g}" for g in options.exclude),
        fingerprints=tuple(fingerprint(t, normal_of(t)) for t in scope),
        scope_digest=scope_digest(scope),
        change_digest=change_digest(ordered),
        target=target,
        warnings=tuple(warnings),
        secrets=frozenset(desired.secrets),
        managed_names=tuple(sorted(managed)),
    )
