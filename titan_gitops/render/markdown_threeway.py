"""Markdown for a plan or drift report made with a base (`--base REV`): who changed what. Pure.

The sentences are render.threeway's; here they are laid out for GitHub. A plan marks each change
that undoes an edit made in Titan; a drift report reads class by class, most urgent first, each
task a folded section with its fields on three sides and who changed them when. Conflicts and live
edits keep at least a one-line entry when the byte budget is cut, like deletes do in a plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from titan_gitops.escape import escape_html, escape_terminal, escape_text
from titan_gitops.model import Action, Change, Plan, TaskAttribution
from titan_gitops.render import threeway as tw
from titan_gitops.render.sections import (
    Style,
    change_section,
    diff_block,
    summary_line,
    utf8_size,
)

# Kept for the class headings, which are placed once the sections are chosen.
_HEADING_ROOM = 600
_URGENT = ("conflict", "live_edit")


def words(style: Style) -> tw.Words:
    """Untrusted pieces in Markdown prose: names and values as inline code, words escaped."""
    return tw.Words(
        code=lambda text, limit: style.code(text, limit),
        prose=lambda text, limit: escape_text(escape_terminal(style.raw(text, limit))),
    )


def html_words(style: Style) -> tw.Words:
    """Untrusted pieces inside raw HTML (a `<summary>` line): entities only."""
    return tw.Words(
        code=lambda text, limit: style.html(text, limit),
        prose=lambda text, limit: escape_html(style.raw(text, limit)),
    )


def marks_for(plan: Plan, style: Style) -> Callable[[Change], list[str]] | None:
    """The marker sentences of each change of a plan made with a base; None without one."""
    if plan.threeway is None:
        return None
    found = plan.threeway.by_name()
    said = words(style)

    def marks(change: Change) -> list[str]:
        task = found.get(change.name)
        if task is None or change.action is Action.NO_OP:
            return []
        return tw.markers(said, task)

    return marks


def reverting_bold(plan: Plan) -> str:
    """The bold start of the warning (verbatim in `must_show`); '' when nothing is reverted."""
    said = tw.reverting_warning(plan)
    return f"**{said}**" if said else ""


def reverting_block(style: Style, plan: Plan) -> list[str]:
    """The warning next to the cautions: how many changes undo Titan edits, and which."""
    bold = reverting_bold(plan)
    if not bold:
        return []
    return [f"> [!WARNING]\n> {bold} {tw.reverting_names(words(style), plan)}."]


def verdict(plan: Plan) -> str:
    """`**Drift: 1 conflict · 2 live edits · …**`, or `**No drift.** …`."""
    counted = tw.drift_counts(plan, " · ")
    return f"**Drift: {counted}**" if counted else "**No drift.** Live tasks match the definitions."


def reports(plan: Plan) -> bool:
    """True when a drift report with a base has anything to say."""
    return bool(plan.threeway is not None and plan.threeway.tasks) or plan.has_changes


def table(plan: Plan) -> str:
    """The non-zero classes, most urgent first, with what the next apply does to each."""
    assert plan.threeway is not None
    counted = plan.threeway.counts()
    rows = ["| | Since the base | Tasks | The next apply |", "|---|---|---:|---|"]
    for kind in tw.CLASS_ORDER:
        if counted[kind]:
            rows.append(
                f"| {tw.SYMBOLS[kind]} | {tw.FIELD_WORDS[kind]} | {counted[kind]:,} "
                f"| {tw.NEXT_APPLY[kind]} |"
            )
    other = len(tw.unattributed(plan))
    if other:
        rows.append(f"| ? | other difference | {other:,} | brings it back to git |")
    return "\n".join(rows)


@dataclass(frozen=True)
class _Entry:
    kind: str  # a class, or "other" for a change no attributed task explains
    line: str  # the one-line entry kept when the section does not fit
    block: str  # the folded section


def _task_section(style: Style, task: TaskAttribution, change: Change | None) -> _Entry:
    symbol = tw.SYMBOLS[task.attribution]
    story = tw.story_words(html_words(style), task)
    summary = f"{symbol} <b>{story}</b> {style.html(task.name)}"
    where = []
    if task.path:
        where.append(f"Defined in {style.code(task.path)}")
    if change is not None and change.task_id:
        where.append(f"id {style.code(change.task_id)}")
    body = [" · ".join(where)] if where else []
    items: list[str] = []
    for part in tw.task_parts(words(style), task, change):
        if isinstance(part, str):
            items.append(f"- {part}")
            continue
        if items:
            body.append("\n".join(items))
            items = []
        body.extend([f"{part.heading}:", diff_block(style, part.changes)])
    if items:
        body.append("\n".join(items))
    block = f"<details>\n<summary>{summary}</summary>\n\n" + "\n\n".join(body) + "\n</details>"
    line = f"- {symbol} <b>{tw.story_words(words(style), task)}</b> {style.code(task.name)}"
    return _Entry(task.attribution, line, block)


def _entries(style: Style, plan: Plan) -> list[_Entry]:
    assert plan.threeway is not None
    changes = {c.name: c for c in plan.changes}
    entries = [
        _task_section(style, task, changes.get(task.name))
        for _kind, tasks in tw.by_class(plan.threeway)
        for task in tasks
    ]
    for change in tw.unattributed(plan):
        line = f"- {summary_line(style, change, markdown=True)}"
        entries.append(_Entry("other", line, change_section(style, change)))
    return entries


def _fit(entries: Sequence[_Entry], room: int) -> tuple[dict[int, str], set[int]]:
    """The blocks chosen by index, and which of them are one-line entries only.

    Every conflict and live edit first gets its line; then sections replace lines, in reading
    order, while they fit."""
    chosen: dict[int, str] = {}
    for index, entry in enumerate(entries):
        if entry.kind in _URGENT and utf8_size(entry.line) + 2 <= room:
            chosen[index] = entry.line
            room -= utf8_size(entry.line) + 2
    brief = set(chosen)
    for index, entry in enumerate(entries):
        had = utf8_size(chosen[index]) + 2 if index in chosen else 0
        extra = utf8_size(entry.block) + 2 - had
        if extra <= room:
            chosen[index] = entry.block
            brief.discard(index)
            room -= extra
    return chosen, brief


def _heading(kind: str, count: int) -> str:
    if kind == "other":
        return f"#### Other differences — {tw.plural(count, 'task')}"
    return f"#### {tw.TITLES[kind]} — {tw.plural(count, 'task')}"


def sections(style: Style, plan: Plan, room: int, full_plan: str) -> list[str]:
    """The class headings and task sections that fit in `room` bytes, then what was left out."""
    entries = _entries(style, plan)
    chosen, brief = _fit(entries, room - _HEADING_ROOM)
    totals = Counter(e.kind for e in entries)
    out: list[str] = []
    last = ""
    for index in sorted(chosen):
        kind = entries[index].kind
        if kind != last:
            out.append(_heading(kind, totals[kind]))
            last = kind
        out.append(chosen[index])
    left = Counter(e.kind for i, e in enumerate(entries) if i not in chosen)
    if left or brief:
        out.append(_left_out(left, len(brief), full_plan))
    return out


def _left_out(left: Counter[str], brief: int, full_plan: str) -> str:
    said: list[str] = []
    if left:
        kinds = "; ".join(
            f"{tw.FIELD_WORDS.get(k, 'other')}: {left[k]:,}"
            for k in (*tw.CLASS_ORDER, "other")
            if left[k]
        )
        total = sum(left.values())
        said.append(f"{tw.plural(total, 'more task')} not shown ({kinds})")
    if brief:
        said.append(f"{brief:,} shown by name only")
    return f"_{'; '.join(said)}: the full report is in {full_plan}._"
