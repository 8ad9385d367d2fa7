"""Render a Plan for a terminal: Terraform-like blocks with only the changed fields. Pure.

Names, ids, values, reasons and paths come from the live service or the definitions: every line
is escaped (`escape_terminal`) before our own colour is put around it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from titan_gitops.escape import escape_output, escape_terminal
from titan_gitops.model import Action, Change, FieldChange, Plan, PlanPreviews, TaskAttribution
from titan_gitops.render import threeway as tw
from titan_gitops.render.fields import NESTED_INDENT, field_lines
from titan_gitops.render.previews import preview_summary_lines, preview_text_lines
from titan_gitops.render.wrap import wrap

Mask = Callable[[str], str]

_COLOURS = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.RENAME: "36",
    Action.DELETE: "31",
    Action.NO_OP: "0",
}


def _unmasked(text: str) -> str:
    return text


def _colour(safe: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{safe}\x1b[0m" if colour and code != "0" else safe


def _paint(text: str, code: str, colour: bool) -> str:
    """A line of ours holding untrusted pieces: escaped, wrapped, then each line coloured."""
    return "\n".join(_colour(line, code, colour) for line in wrap(escape_terminal(text)))


def _plain(text: str) -> str:
    return "\n".join(wrap(escape_terminal(text)))


_SIGN_COLOURS = {"+": "32", "-": "31"}


def _field_lines(field: FieldChange, colour: bool, mask: Mask) -> list[str]:
    lines: list[str] = []
    for line in field_lines(field, field.path, shown=mask):
        indent = " " * (NESTED_INDENT - 2 if line.nested else 6)
        more = "  " if line.continued else ""
        text = f"{indent}{line.sign} {more}{line.text}".rstrip()
        # A nested line of a long text keeps its tabs; nothing else unsafe passes.
        safe = escape_output(text) if line.nested else escape_terminal(text)
        # Escaping can lengthen a line (`\x1b` for one character): wrapped before its colour.
        code = _SIGN_COLOURS.get(line.sign, "0")
        lines.extend(_colour(piece, code, colour) for piece in wrap(safe))
    return lines


_DRIFT_WORDS = {
    Action.CREATE: "missing live",
    Action.UPDATE: "changed outside git",
    Action.RENAME: "still under its previous name",
    Action.DELETE: "unmanaged, inside the namespace",
    Action.NO_OP: "in sync",
}


def _heading(change: Change, drift: bool = False) -> str:
    ident = f"id {change.task_id}" if change.task_id else ""
    if drift:
        words = _DRIFT_WORDS[change.action]
        return f"  {change.action.symbol} {change.name}  ({words}{', ' + ident if ident else ''})"
    if change.action is Action.RENAME:
        detail = f"rename from '{change.previous_name}', {ident}"
    elif change.action is Action.CREATE:
        detail = "create"
    else:
        detail = f"{change.action.value}, {ident}"
    return f"  {change.action.symbol} {change.name}  ({detail})"


def render_change_text(
    change: Change,
    *,
    colour: bool = False,
    drift: bool = False,
    mask: Mask = _unmasked,
    marks: Sequence[str] = (),
) -> list[str]:
    """The lines of one change block; `mask` hides secrets in each value before it is folded.

    `marks` are the `!` sentences of a change that undoes an edit made in Titan (render.threeway),
    already escaped: each goes on its own line right under the heading.
    """
    code = _COLOURS[change.action]
    lines = [_paint(_heading(change, drift), code, colour)]
    lines.extend(_paint(f"      ! {mark}", "1;31", colour) for mark in marks)
    if not drift:
        source = f" ({change.source})" if change.source else ""
        lines.append(_plain(f"      # {change.reason}{source}"))
    for reason in change.breaking:
        lines.append(_paint(f"      ! breaking: {reason}", "1;31", colour))
    if change.action is not Action.DELETE:
        for field in change.fields:
            lines.extend(_field_lines(field, colour, mask))
    return lines


def render_plan_text(
    plan: Plan,
    *,
    colour: bool = False,
    show_no_op: bool = False,
    drift: bool = False,
    mask: Mask = _unmasked,
    previews: PlanPreviews | None = None,
) -> str:
    """The whole plan (or, with `drift`, the drift report) as text, ending in a summary line.

    `mask` is applied to each value whole, before a long one is folded over several lines, so
    a secret is never split where the console's own masking could not find it.
    """
    lines: list[str] = []
    if plan.target:
        lines.append(_plain(f"Target: {plan.target}"))
    if plan.namespace:
        lines.append(_plain(f"Namespace: {plan.namespace}"))
    if plan.filtered:
        lines.append(_plain(f"Filtered plan ({'; '.join(plan.filters)}): nothing is deleted."))
    for warning in plan.warnings:
        lines.append(_plain(f"Warning: {warning}"))
    words = _words(mask)
    lines.extend(_base_lines(plan, words, colour, drift))
    shown = [c for c in plan.changes if show_no_op or c.action is not Action.NO_OP]
    if drift and plan.threeway is not None:
        lines.extend(_threeway_drift(plan, words, colour, mask))
    elif shown:
        lines.append("")
        lines.append(
            "Live tasks differ from the definitions (field: live → definition):"
            if drift
            else "titan-gitops will perform the following actions:"
        )
        attributed = plan.threeway.by_name() if plan.threeway is not None else {}
        for change in shown:
            found = attributed.get(change.name)
            marks = tw.markers(words, found) if found and change.action is not Action.NO_OP else []
            lines.append("")
            lines.extend(
                render_change_text(change, colour=colour, drift=drift, mask=mask, marks=marks)
            )
            if previews is not None:
                lines.extend(preview_text_lines(previews.find(change.name), mask))
    if plan.notes:
        lines.append("")
        for note in plan.notes:
            ident = f" (id {note.task_id})" if note.task_id else ""
            label = f"{note.name}{ident}: " if note.name else ""
            lines.append(_plain(f"  = {label}{note.message}"))
    summary = preview_summary_lines(previews)
    if summary:
        lines.append("")
        lines.extend(summary)
    lines.append("")
    lines.append(drift_summary_line(plan) if drift else summary_line(plan))
    # Coloured lines were wrapped before their colour; every other line is wrapped here.
    text = "\n".join(lines).lstrip("\n")
    return "\n".join(_wrapped(text.split("\n"))) + "\n"


def _wrapped(lines: list[str]) -> list[str]:
    """Each line at most WIDTH columns: a coloured line was wrapped before its colour."""
    return [piece for line in lines for piece in ([line] if "\x1b" in line else wrap(line))]


def summary_line(plan: Plan) -> str:
    """`Plan: 2 to create, ...` or the no-changes sentence."""
    if not plan.has_changes:
        return "No changes. Live tasks match the definitions."
    n = plan.counts()
    reverting = len(tw.reverting(plan))
    said = f" (⚠ {tw.reverting_count(reverting)})" if reverting else ""
    return (
        f"Plan: {n['create']} to create, {n['update']} to update, "
        f"{n['rename']} to rename, {n['delete']} to delete{_breaking(plan)}{said}."
    )


def _breaking(plan: Plan) -> str:
    count = sum(1 for c in plan.actionable if c.breaking)
    return f" (⚠ {count} breaking an output_schema)" if count else ""


def drift_summary_line(plan: Plan) -> str:
    """`Drift: 1 changed outside git, …` or `No drift. …`; with a base, by who changed what."""
    if plan.threeway is not None:
        counted = tw.drift_counts(plan)
        return f"Drift: {counted}." if counted else "No drift. Live tasks match the definitions."
    if not plan.has_changes:
        return "No drift. Live tasks match the definitions."
    n = plan.counts()
    parts = [
        f"{n['update']} changed outside git",
        f"{n['create']} missing live",
        f"{n['rename']} still under a previous name",
        f"{n['delete']} unmanaged in the namespace",
    ]
    return "Drift: " + ", ".join(parts) + "."


def _base_lines(plan: Plan, words: tw.Words, colour: bool, drift: bool) -> list[str]:
    """`Base: a1b2c3d (main~1)` and, for a plan, the warning about the Titan edits it undoes."""
    if plan.threeway is None:
        return []
    lines = [tw.base_line(words, plan.threeway.base)]
    said = "" if drift else tw.reverting_warning(plan)
    if said:
        names = tw.reverting_names(words, plan)
        lines.append(_paint(f"Warning: {said} {names}.", "1;31", colour))
    return lines


def _words(mask: Mask) -> tw.Words:
    """Untrusted pieces for a terminal: masked whole, then cut, then escaped."""

    def shown(text: str, limit: int) -> str:
        return escape_terminal(tw.shorten(mask(text), limit))

    return tw.Words(code=shown, prose=shown)


_CLASS_COLOURS = {"conflict": "1;31", "live_edit": "33", "pending": "36", "converged": "0"}


def _threeway_drift(plan: Plan, words: tw.Words, colour: bool, mask: Mask) -> list[str]:
    """A drift report with a base: each class on its own, most urgent first."""
    assert plan.threeway is not None
    changes = {c.name: c for c in plan.changes}
    lines: list[str] = []
    for kind, tasks in tw.by_class(plan.threeway):
        lines.extend(["", f"{tw.class_heading(kind)}:"])
        for task in tasks:
            lines.append("")
            lines.extend(_task_block(task, changes.get(task.name), words, colour, mask))
    other = tw.unattributed(plan)
    if other:
        lines.extend(["", "Other differences (field: live → definition):"])
        for change in other:
            lines.append("")
            lines.extend(render_change_text(change, colour=colour, drift=True, mask=mask))
    return lines


def _task_block(
    task: TaskAttribution, change: Change | None, words: tw.Words, colour: bool, mask: Mask
) -> list[str]:
    """One attributed task: its story in words, its fields on three sides, who and when."""
    ident = f", id {change.task_id}" if change is not None and change.task_id else ""
    name = words.code(task.name, 120)
    heading = f"  {tw.SYMBOLS[task.attribution]} {name}  ({tw.story_words(words, task)}{ident})"
    lines = [_paint(heading, _CLASS_COLOURS[task.attribution], colour)]
    for part in tw.task_parts(words, task, change):
        if isinstance(part, str):
            lines.append(_plain(f"      {part}"))
            continue
        lines.append(_plain(f"      # {part.heading}"))
        for field in part.changes:
            lines.extend(_field_lines(field, colour, mask))
    return lines
