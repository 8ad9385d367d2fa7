"""Render a Plan for a terminal: Terraform-like blocks with only the changed fields. Pure."""

from __future__ import annotations

import difflib
from typing import Any

from titan_gitops.changes import Action, Change, FieldChange, Plan
from titan_gitops.render.values import SENSITIVE, mask_text, show_value

_COLOURS = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.RENAME: "36",
    Action.DELETE: "31",
    Action.NO_OP: "0",
}
_LONG_STRING = 80


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code != "0" else text


def _is_long_text(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > _LONG_STRING)


def _field_lines(field: FieldChange, colour: bool) -> list[str]:
    if field.sensitive:
        symbol = {"added": "+", "removed": "-", "changed": "~"}[field.kind]
        return [f"      {symbol} {field.path}: {SENSITIVE}"]
    if field.kind == "added":
        return [_paint(f"      + {field.path}: {show_value(field.after)}", "32", colour)]
    if field.kind == "removed":
        return [_paint(f"      - {field.path}: {show_value(field.before)}", "31", colour)]
    if _is_long_text(field.before) and _is_long_text(field.after):
        lines = [f"      ~ {field.path}:"]
        diff = difflib.ndiff(
            str(field.before).splitlines() or [""], str(field.after).splitlines() or [""]
        )
        for line in diff:
            if line.startswith("- "):
                lines.append(_paint(f"          - {line[2:]}", "31", colour))
            elif line.startswith("+ "):
                lines.append(_paint(f"          + {line[2:]}", "32", colour))
            elif line.startswith("  "):
                lines.append(f"            {line[2:]}")
        return lines
    return [f"      ~ {field.path}: {show_value(field.before)} → {show_value(field.after)}"]


def _heading(change: Change) -> str:
    ident = f"id {change.task_id}" if change.task_id else ""
    if change.action is Action.RENAME:
        detail = f"rename from '{change.previous_name}', {ident}"
    elif change.action is Action.CREATE:
        detail = "create"
    else:
        detail = f"{change.action.value}, {ident}"
    return f"  {change.action.symbol} {change.name}  ({detail})"


def render_change_text(change: Change, *, colour: bool = False) -> list[str]:
    """The lines of one change block."""
    code = _COLOURS[change.action]
    lines = [_paint(_heading(change), code, colour)]
    lines.append(f"      # {change.reason}" + (f" ({change.source})" if change.source else ""))
    for reason in change.breaking:
        lines.append(_paint(f"      ! breaking: {reason}", "1;31", colour))
    if change.action is not Action.DELETE:
        for field in change.fields:
            lines.extend(_field_lines(field, colour))
    return lines


def render_plan_text(plan: Plan, *, colour: bool = False, show_no_op: bool = False) -> str:
    """The whole plan as text, ending in the one-line summary."""
    lines: list[str] = []
    if plan.target:
        lines.append(f"Target: {plan.target}")
    if plan.namespace:
        lines.append(f"Namespace: {plan.namespace}")
    if plan.filtered:
        lines.append(f"Filtered plan ({'; '.join(plan.filters)}): nothing is deleted.")
    for warning in plan.warnings:
        lines.append(f"Warning: {warning}")
    shown = [c for c in plan.changes if show_no_op or c.action is not Action.NO_OP]
    if shown:
        lines.append("")
        lines.append("titan-gitops will perform the following actions:")
        for change in shown:
            lines.append("")
            lines.extend(render_change_text(change, colour=colour))
    if plan.notes:
        lines.append("")
        for note in plan.notes:
            ident = f" (id {note.task_id})" if note.task_id else ""
            label = f"{note.name}{ident}: " if note.name else ""
            lines.append(f"  = {label}{note.message}")
    lines.append("")
    lines.append(summary_line(plan))
    return mask_text("\n".join(lines).lstrip("\n"), plan.secrets) + "\n"


def summary_line(plan: Plan) -> str:
    """`Plan: 2 to create, ...` or the no-changes sentence."""
    if not plan.has_changes:
        return "No changes. Live tasks match the definitions."
    n = plan.counts()
    return (
        f"Plan: {n['create']} to create, {n['update']} to update, "
        f"{n['rename']} to rename, {n['delete']} to delete."
    )
