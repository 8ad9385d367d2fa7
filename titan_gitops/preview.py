"""`plan --preview`: a sample of real output for each created or changed task, checked against
its new output_schema.

A task is previewed when it is created, or when its urls, objective, output_schema or steps
changed, in plan order, at most `limit` per plan. Previews read nothing back into the plan:
a spent daily quota or a failed preview becomes a note, never a failed plan, and what apply
does is the same with or without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from titan_gitops.errors import ApiError, PreviewQuotaExceeded
from titan_gitops.model import Action, Change, Plan, PlanPreviews, TaskPreview
from titan_gitops.run import check_records

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient

DEFAULT_PREVIEW_LIMIT = 3
# Records kept per preview for display; the rest are counted and checked, not shown.
SHOWN_RECORDS = 3
_DAY_SECONDS = 24 * 3600
# A change under one of these pointers changes what the task produces.
_OUTPUT_POINTERS = ("/urls", "/objective", "/output_schema", "/execution_plan/steps")


def wants_preview(change: Change) -> bool:
    """True for a create, or a change whose urls, objective, output_schema or steps changed."""
    if change.after is None:
        return False
    if change.action is Action.CREATE:
        return True
    if change.action not in (Action.UPDATE, Action.RENAME):
        return False
    return any(_changes_output(field.pointer) for field in change.fields)


def _changes_output(pointer: str) -> bool:
    if pointer == "/execution_plan":
        return True
    return any(pointer == p or pointer.startswith(f"{p}/") for p in _OUTPUT_POINTERS)


def preview_plan(plan: Plan, client: TitanClient, *, limit: int) -> PlanPreviews:
    """Preview the first `limit` changes that want one; the rest are named as skipped.

    Once the daily quota is spent the remaining chosen tasks are not sent (each would meet the
    same answer); every other failure is a note on its task and the next one is tried.
    """
    wanted = [change for change in plan.changes if wants_preview(change)]
    chosen = wanted[: max(limit, 0)]
    previews: list[TaskPreview] = []
    notes: list[str] = []
    spent: str | None = None
    for change in chosen:
        if spent is not None:
            previews.append(TaskPreview(change.name, note=spent))
            continue
        assert change.after is not None
        try:
            answer = client.preview_task(change.after)
        except PreviewQuotaExceeded as exc:
            spent = f"not previewed: the service's daily preview quota is used up{_renews(exc)}"
            previews.append(TaskPreview(change.name, note=spent))
            done = sum(1 for p in previews if p.note is None)
            notes.append(
                f"The daily preview quota ran out after {done} of {len(chosen)} previews; "
                "the plan is complete without them."
            )
            continue
        except ApiError as exc:
            previews.append(TaskPreview(change.name, note=f"the preview failed: {exc}"))
            continue
        previews.append(read_preview(change, answer))
    skipped = tuple(change.name for change in wanted[len(chosen) :])
    return PlanPreviews(limit, tuple(previews), skipped, tuple(notes))


def read_preview(change: Change, answer: dict[str, Any]) -> TaskPreview:
    """The preview of `change` from the service's answer: its records, checked."""
    records = answer.get("records")
    if not isinstance(records, list):
        return TaskPreview(change.name, note="the service's preview held no list of records")
    schema = (change.after or {}).get("output_schema")
    checked = isinstance(schema, dict) and bool(schema)
    violation = None
    if checked:
        found = check_records(records, schema, limit=1)
        if found:
            first = found[0]
            # Counted from 1, as the records are shown.
            violation = f"record {first.record + 1}: {first.pointer or '/'}: {first.message}"
    return TaskPreview(
        change.name,
        records=tuple(records[:SHOWN_RECORDS]),
        total=len(records),
        checked=checked,
        violation=violation,
    )


def _renews(error: PreviewQuotaExceeded) -> str:
    # A daily quota renews within a day: a later time (Retry-After: 1e300) is not worth quoting.
    if error.resets_in is None or error.resets_in > _DAY_SECONDS:
        return ""
    minutes = max(1, round(error.resets_in / 60))
    if minutes < 120:
        return f" (it renews in about {minutes} min)"
    return f" (it renews in about {round(minutes / 60)} h)"
