"""Render a Plan (or a drift report) as GitHub Markdown for pull requests and summaries. Pure.

Every user string is escaped: no raw HTML, no @-mentions, no breaking out of a code fence. The
output is capped below GitHub's comment limit with a note of what was cut.
"""

from __future__ import annotations

from collections.abc import Iterable

from titan_gitops.escape import escape_code, escape_text, fence
from titan_gitops.model import Action, Change, FieldChange, Plan
from titan_gitops.render.cron_words import describe_cron
from titan_gitops.render.values import SENSITIVE, show_value

MAX_CHARS = 60_000
_TITLES = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.RENAME: "rename",
    Action.DELETE: "delete",
    Action.NO_OP: "no change",
}
_DRIFT_TITLES = {
    Action.CREATE: "missing live",
    Action.UPDATE: "changed outside git",
    Action.RENAME: "still under its previous name",
    Action.DELETE: "unmanaged, inside the namespace",
    Action.NO_OP: "in sync",
}


def _value(field: FieldChange, value: object) -> str:
    return SENSITIVE if field.sensitive else show_value(value)


def _diff_lines(fields: Iterable[FieldChange]) -> list[str]:
    lines: list[str] = []
    for f in fields:
        if f.kind == "added":
            lines.append(f"+ {f.path}: {_value(f, f.after)}")
        elif f.kind == "removed":
            lines.append(f"- {f.path}: {_value(f, f.before)}")
        elif (
            not f.sensitive
            and isinstance(f.before, str)
            and isinstance(f.after, str)
            and ("\n" in f.before or "\n" in f.after or len(f.before) > 80)
        ):
            lines.append(f"  {f.path}:")
            lines.extend(f"-   {line}" for line in f.before.splitlines())
            lines.extend(f"+   {line}" for line in f.after.splitlines())
        else:
            lines.append(f"- {f.path}: {_value(f, f.before)}")
            lines.append(f"+ {f.path}: {_value(f, f.after)}")
        if f.path == "schedule" and isinstance(f.after, str) and not f.sensitive:
            lines.append(f"# {f.after} = {describe_cron(f.after)}")
    return lines


def _change_block(change: Change, titles: dict[Action, str]) -> str:
    title = titles[change.action]
    ident = f" (id <code>{escape_code(change.task_id)}</code>)" if change.task_id else ""
    extra = ""
    if change.action is Action.RENAME and change.previous_name:
        extra = f" from <code>{escape_code(change.previous_name)}</code>"
    badge = " — **breaking**" if change.breaking else ""
    summary = (
        f"<summary>{change.action.symbol} <b>{title}</b> "
        f"<code>{escape_code(change.name)}</code>{extra}{ident}{badge}</summary>"
    )
    body: list[str] = [f"_{escape_text(change.reason)}_"]
    if change.source:
        body.append(f"Defined in <code>{escape_code(change.source)}</code>.")
    for reason in change.breaking:
        body.append(f"- **Breaking:** {escape_text(reason)}")
    if change.action is not Action.DELETE and change.fields:
        body.append(fence("\n".join(_diff_lines(change.fields)), "diff"))
    schedule = (change.after or {}).get("schedule")
    if change.action is Action.CREATE and isinstance(schedule, str):
        body.append(
            f"Schedule <code>{escape_code(schedule)}</code>: {escape_text(describe_cron(schedule))}"
        )
    return "<details>\n" + summary + "\n\n" + "\n\n".join(body) + "\n</details>"


def _table(plan: Plan, titles: dict[Action, str]) -> list[str]:
    counts = plan.counts()
    rows = ["| | Change | Tasks |", "|---|---|---:|"]
    for action in (Action.CREATE, Action.UPDATE, Action.RENAME, Action.DELETE):
        rows.append(f"| {action.symbol} | {titles[action]} | {counts[action.value]} |")
    return rows


def render_plan_markdown(
    plan: Plan,
    *,
    title: str = "titan-gitops plan",
    drift: bool = False,
    max_chars: int = MAX_CHARS,
) -> str:
    """The plan (or, with `drift`, the drift report) as Markdown, at most `max_chars` long."""
    titles = _DRIFT_TITLES if drift else _TITLES
    head: list[str] = [f"### {escape_text(title)}"]
    if plan.target:
        head.append(f"Target: <code>{escape_code(plan.target)}</code>")
    if plan.namespace:
        head.append(f"Namespace: <code>{escape_code(plan.namespace)}</code>")
    if plan.filtered:
        head.append(
            f"**Filtered plan** ({escape_text('; '.join(plan.filters))}): nothing is deleted."
        )
    deletes = [c for c in plan.changes if c.action is Action.DELETE]
    breaking = [c for c in plan.changes if c.breaking]
    if deletes and not drift:
        names = ", ".join(f"<code>{escape_code(c.name)}</code>" for c in deletes)
        head.append(
            f"**⚠️ {len(deletes)} task{'s' * (len(deletes) != 1)} will be deleted:** {names}"
        )
    if deletes and drift:
        head.append(
            f"**{len(deletes)} unmanaged task{'s' * (len(deletes) != 1)} in the namespace.**"
        )
    if breaking:
        names = ", ".join(f"<code>{escape_code(c.name)}</code>" for c in breaking)
        head.append(f"**⚠️ Breaking output_schema change in:** {names}")
    for warning in plan.warnings:
        head.append(f"> {escape_text(warning)}")
    if plan.has_changes:
        head.append("\n".join(_table(plan, titles)))
    else:
        head.append(
            "**No drift.** Live tasks match the definitions."
            if drift
            else "**No changes.** Live tasks match the definitions."
        )
    for note in plan.notes:
        label = f"<code>{escape_code(note.name)}</code>: " if note.name else ""
        head.append(f"- {label}{escape_text(note.message)}")
    text = "\n\n".join(head)
    blocks = [_change_block(c, titles) for c in plan.actionable]
    footer_room = 300
    shown = 0
    parts = [text]
    size = len(text)
    for block in blocks:
        if size + len(block) + 2 + footer_room > max_chars:
            break
        parts.append(block)
        size += len(block) + 2
        shown += 1
    if shown < len(blocks):
        parts.append(
            f"_{len(blocks) - shown} more change{'s' * (len(blocks) - shown != 1)} not shown "
            f"to stay under {max_chars:,} characters; see the full plan (plan JSON or the "
            "job log)._"
        )
    return "\n\n".join(parts) + "\n"
