"""Render a Plan (or a drift report) as GitHub Markdown for pull requests and summaries. Pure.

The order is what a reviewer needs in five seconds: the verdict line, then what is dangerous
(deletes, breaking schema changes) in a caution block, the non-zero counts, then one folded section
per change — deletes, breaking changes, updates, renames, creates; a drift report leads with what
changed live — and equal updates (one template change) read once as a group.

Every user string is escaped (no raw HTML, no @-mentions, no breaking out of a code fence) and cut
to a bounded length with a visible marker. The whole is capped in UTF-8 bytes, which are never
fewer than characters, so the cap also holds where GitHub counts characters. The head always fits;
every delete and every breaking change keeps at least its one-line entry before any other section
is shown; the changes left out are counted by kind, with one pointer to the full plan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

from titan_gitops.escape import escape_text
from titan_gitops.model import Action, Change, Plan
from titan_gitops.render import markdown_threeway as md3
from titan_gitops.render import threeway as tw
from titan_gitops.render.sections import (
    DRIFT_TITLES,
    TEXT_CHARS,
    TITLES,
    Link,
    Mask,
    Style,
    change_section,
    cut_bytes,
    cut_lines,
    cut_text,
    group_key,
    group_section,
    summary_line,
    utf8_size,
)

__all__ = [
    "MAX_CHARS",
    "MIN_CHARS",
    "Mask",
    "counts_table",
    "cut_lines",
    "cut_markdown",
    "cut_text",
    "must_show",
    "render_plan_markdown",
    "utf8_size",
    "verdict_line",
]

# The default cap, in UTF-8 bytes: a PR comment, with room under GitHub's 65,536 characters for
# the approval markers and the footer.
MAX_CHARS = 60_000
# The head (title, verdict, cautions, warnings, counts table, notes) is built to fit in this many.
MIN_CHARS = 24_000
# Byte budget of the names in one caution line, the warnings, the notes.
LIST_BYTES = 4_000
# Kept free at the end for the note that counts what was left out.
NOTE_ROOM = 600
# Which sections come first and get room first.
_PLAN_ORDER = {Action.DELETE: 0, Action.UPDATE: 2, Action.RENAME: 3, Action.CREATE: 4}
_DRIFT_ORDER = {Action.UPDATE: 0, Action.CREATE: 1, Action.RENAME: 2, Action.DELETE: 3}
_PLAN_ROWS = (Action.DELETE, Action.UPDATE, Action.RENAME, Action.CREATE)
_DRIFT_ROWS = (Action.UPDATE, Action.CREATE, Action.RENAME, Action.DELETE)
# What the next apply does to each kind of drift.
_NEXT_APPLY = {
    Action.UPDATE: "sets the git values again",
    Action.CREATE: "creates it again",
    Action.RENAME: "renames it back",
    Action.DELETE: "deletes it",
}
_FENCE_LINE = re.compile(r"^(`{3,})(.*)$")


def _closing(head: str) -> str:
    """What closes the code fence and the <details> blocks left open at the end of `head`.

    A tag inside a fence is a value's text (a diff may show `</details>`), so it is not counted.
    """
    open_fence = ""
    opened = 0
    for line in head.split("\n"):
        found = _FENCE_LINE.match(line)
        if not found:
            if not open_fence:
                opened += line.count("<details>") - line.count("</details>")
            continue
        if not open_fence:
            open_fence = found.group(1)
        elif found.group(1).startswith(open_fence) and not found.group(2).strip():
            open_fence = ""
    closing = f"\n{open_fence}" if open_fence else ""
    return closing + "\n</details>" * max(opened, 0)


def cut_markdown(text: str, *, limit: int, note: str) -> str:
    """`text` within `limit` UTF-8 bytes, ending with `note` when it had to be cut.

    The start is kept (so are the markers and banners placed there); the cut falls on a line
    boundary when one is near, and open fences and <details> are closed so the note shows.
    """
    if utf8_size(text) <= limit:
        return text
    room = limit - utf8_size(note) - 2
    while room > 0:
        head = cut_bytes(text, room)
        line_end = head.rfind("\n")
        if line_end > len(head) // 2:
            head = head[:line_end]
        closing = _closing(head)
        total = utf8_size(head) + utf8_size(closing) + 2 + utf8_size(note)
        if total <= limit:
            return f"{head}{closing}\n\n{note}"
        room -= total - limit
    return cut_bytes(note, limit)


def verdict_line(plan: Plan, *, drift: bool = False) -> str:
    """The one line that comes first: `**Plan: 1 to create · 2 to update · …**`."""
    n = plan.counts()
    if drift and plan.threeway is not None:
        return md3.verdict(plan)
    if drift:
        if not plan.has_changes:
            return "**No drift.** Live tasks match the definitions."
        kinds = [f"{n[a.value]} {DRIFT_TITLES[a]}" for a in _DRIFT_ROWS if n[a.value]]
        return f"**Drift: {' · '.join(kinds)}**"
    if not plan.has_changes:
        return "**No changes.** Live tasks match the definitions."
    line = (
        f"**Plan: {n['create']} to create · {n['update']} to update · "
        f"{n['rename']} to rename · {n['delete']} to delete**"
    )
    breaking = sum(1 for c in plan.actionable if c.breaking)
    reverting = len(tw.reverting(plan))
    line += f" · **⚠️ {breaking} breaking**" if breaking else ""
    return line + (f" · **⚠️ {tw.reverting_count(reverting)}**" if reverting else "")


def counts_table(plan: Plan, *, drift: bool = False) -> str:
    """The non-zero counts, most dangerous first (the approval guard looks for it verbatim)."""
    counts = plan.counts()
    if drift and plan.threeway is not None:
        return md3.table(plan)
    if drift:
        rows = ["| | Live | Tasks | The next apply |", "|---|---|---:|---|"]
        for action in _DRIFT_ROWS:
            if counts[action.value]:
                rows.append(
                    f"| {action.symbol} | {DRIFT_TITLES[action]} | {counts[action.value]} "
                    f"| {_NEXT_APPLY[action]} |"
                )
        return "\n".join(rows)
    rows = ["| | Change | Tasks |", "|---|---|---:|"]
    for action in _PLAN_ROWS:
        if counts[action.value]:
            rows.append(f"| {action.symbol} | {TITLES[action]} | {counts[action.value]} |")
    return "\n".join(rows)


def _deletes_caution(count: int) -> str:
    return f"**{count} task{'s' * (count != 1)} will be deleted:**"


def must_show(plan: Plan, *, drift: bool = False) -> list[str]:
    """What a capped comment of `plan` must still hold, verbatim: refuse to post it otherwise."""
    if not _reports(plan, drift):
        return []
    shown = [verdict_line(plan, drift=drift), counts_table(plan, drift=drift)]
    deletes = plan.counts()["delete"]
    if deletes and not drift:
        shown.append(_deletes_caution(deletes))
    reverting = "" if drift else md3.reverting_bold(plan)
    return shown + ([reverting] if reverting else [])


def _reports(plan: Plan, drift: bool) -> bool:
    """True when the render has counts to show (a drift report with a base: any class)."""
    return md3.reports(plan) if drift and plan.threeway is not None else plan.has_changes


def _name_list(style: Style, names: Sequence[str]) -> str:
    """Names as inline code, comma separated, within LIST_BYTES, then how many more."""
    shown: list[str] = []
    size = 0
    for name in names:
        item = style.code(name)
        if shown and size + utf8_size(item) + 2 > LIST_BYTES:
            break
        shown.append(item)
        size += utf8_size(item) + 2
    text = ", ".join(shown)
    if len(shown) < len(names):
        text += f" and {len(names) - len(shown):,} more"
    return text


def _bounded_lines(lines: Sequence[str], what: str, prefix: str = "") -> list[str]:
    """The first `lines` within LIST_BYTES, then one line saying how many more."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if kept and size + utf8_size(line) + 2 > LIST_BYTES:
            kept.append(f"{prefix}_… and {len(lines) - len(kept):,} more {what}._")
            break
        kept.append(line)
        size += utf8_size(line) + 2
    return kept


def _cautions(style: Style, plan: Plan) -> list[str]:
    """The caution block: what this plan would delete or break, by name."""
    # A drift report's deletes are tasks created outside git: its verdict and table say so.
    deletes = [] if style.drift else [c.name for c in plan.actionable if c.action is Action.DELETE]
    breaking = [c.name for c in plan.actionable if c.breaking]
    lines = []
    if deletes:
        lines.append(f"> - {_deletes_caution(len(deletes))} {_name_list(style, deletes)}")
    if breaking:
        lines.append(
            f"> - **Breaking output_schema change in {len(breaking)} "
            f"task{'s' * (len(breaking) != 1)}:** {_name_list(style, breaking)}"
        )
    return ["> [!CAUTION]\n" + "\n".join(lines)] if lines else []


def _head(style: Style, plan: Plan, title: str, checked_at: str | None) -> list[str]:
    """Everything before the sections; bounded whatever the plan holds."""
    head: list[str] = [f"### {escape_text(style.raw(title, TEXT_CHARS))}"]
    head.append(verdict_line(plan, drift=style.drift))
    head.extend(_cautions(style, plan))
    if not style.drift:
        head.extend(md3.reverting_block(style, plan))
    where = []
    if plan.target:
        where.append(f"Target {style.code(plan.target)}")
    if plan.namespace:
        where.append(f"namespace {style.code(plan.namespace)}")
    if checked_at:
        where.append(f"checked at {escape_text(checked_at)}")
    if where:
        head.append(" · ".join(where))
    if plan.threeway is not None:
        head.append(tw.base_line(md3.words(style), plan.threeway.base))
    if plan.filtered:
        filters = escape_text(style.raw("; ".join(plan.filters), TEXT_CHARS))
        head.append(f"**Filtered plan** ({filters}): nothing is deleted.")
    warnings = [f"> - {escape_text(style.raw(w, TEXT_CHARS))}" for w in plan.warnings]
    if warnings:
        head.append("> [!WARNING]\n" + "\n".join(_bounded_lines(warnings, "warnings", "> ")))
    if _reports(plan, style.drift):
        head.append(counts_table(plan, drift=style.drift))
    if style.drift and plan.threeway is not None and md3.reports(plan):
        head.append("Each field shows what git and what Titan changed in it since the base.")
    elif style.drift and plan.has_changes:
        head.append("In each diff, `-` is the live value and `+` the value in git.")
    notes: list[str] = []
    for note in plan.notes:
        label = f"{style.code(note.name)}: " if note.name else ""
        notes.append(f"- {label}{escape_text(style.raw(note.message, TEXT_CHARS))}")
    head.extend(_bounded_lines(notes, "notes"))
    return head


def _entries(
    changes: Sequence[Change], drift: bool, reverting: frozenset[str] = frozenset()
) -> list[list[Change]]:
    """The sections in reading order: each a change, or a group of equal updates; a change that
    undoes a Titan edit (`reverting`, by name) is read with the breaking ones, on its own."""
    order = _DRIFT_ORDER if drift else _PLAN_ORDER

    def rank(change: Change) -> int:
        if drift:
            return order.get(change.action, 5)
        if change.breaking or (change.name in reverting and change.action is not Action.DELETE):
            return 1
        return order.get(change.action, 5)

    groups: dict[str, list[Change]] = {}
    entries: list[list[Change]] = []
    for change in sorted(changes, key=rank):
        key = None if drift or change.name in reverting else group_key(change)
        if key is None:
            entries.append([change])
        elif key in groups:
            groups[key].append(change)
        else:
            groups[key] = [change]
            entries.append(groups[key])
    return entries


def _must_keep(entry: Sequence[Change], reverting: frozenset[str] = frozenset()) -> bool:
    """A delete (in a drift report: what the next apply deletes), a breaking change, or one that
    undoes an edit made in Titan."""
    return any(c.action is Action.DELETE or c.breaking or c.name in reverting for c in entry)


def _fit_sections(
    style: Style,
    entries: Sequence[list[Change]],
    room: int,
    reverting: frozenset[str] = frozenset(),
) -> tuple[list[str], list[Change], int]:
    """The sections that fit in `room` bytes, in reading order; the changes left out; how many
    deletes and breaking changes are shown by their one-line entry only.

    Every delete and breaking change first gets a one-line entry, so as many as possible stay
    visible; then full sections replace entries, in reading order, while they fit.
    """
    chosen: dict[int, str] = {}
    for index, entry in enumerate(entries):
        if _must_keep(entry, reverting):
            line = "\n".join(f"- {summary_line(style, c, markdown=True)}" for c in entry)
            if utf8_size(line) + 2 <= room:
                chosen[index] = line
                room -= utf8_size(line) + 2
    brief = set(chosen)
    for index, entry in enumerate(entries):
        # A group's section names its tasks within a bound: it may fit where one line for each
        # of its tasks did not.
        block = group_section(style, entry) if len(entry) > 1 else change_section(style, entry[0])
        extra = utf8_size(block) + 2 - (utf8_size(chosen[index]) + 2 if index in chosen else 0)
        if extra <= room:
            chosen[index] = block
            brief.discard(index)
            room -= extra
    left_out = [c for i, entry in enumerate(entries) if i not in chosen for c in entry]
    briefly = sum(len(entries[i]) for i in brief)
    return [chosen[i] for i in sorted(chosen)], left_out, briefly


def _left_out_note(style: Style, left_out: Sequence[Change], brief: int, full_plan: str) -> str:
    counted = Counter(c.action for c in left_out)
    kinds = "; ".join(f"{style.titles[a]}: {counted[a]:,}" for a in _PLAN_ROWS if counted[a])
    said: list[str] = []
    if left_out:
        said.append(
            f"{len(left_out):,} more change{'s' * (len(left_out) != 1)} not shown ({kinds})"
        )
    if brief:
        said.append(f"{brief:,} shown by name only")
    return f"_{'; '.join(said)}: the full plan is in {full_plan}._"


def render_plan_markdown(
    plan: Plan,
    *,
    title: str = "titan-gitops plan",
    drift: bool = False,
    max_chars: int = MAX_CHARS,
    mask: Mask | None = None,
    full_plan: str = "the output of `titan-gitops plan`",
    link: Link | None = None,
    checked_at: str | None = None,
    extra: Callable[[Change], list[str]] | None = None,
) -> str:
    """The plan (or, with `drift`, the drift report) as Markdown, at most `max_chars` bytes.

    `max_chars` counts UTF-8 bytes (at least MIN_CHARS). `mask` is applied to every untrusted
    string before it is cut, so a cut never leaves part of a secret the caller masks.
    `full_plan` says where the whole plan is when this one is cut (Markdown, ours); `link` maps
    a definition's path to its URL at the reviewed commit; `checked_at` is said in a drift report;
    `extra` adds blocks to a change's section (a preview).

    Raises:
        ValueError: `max_chars` is below MIN_CHARS, too small for the head.
    """
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS:,} bytes")
    style = Style(
        DRIFT_TITLES if drift else TITLES,
        mask or (lambda text: text),
        drift=drift,
        link=link,
        extra=extra,
    )
    if not drift:
        style = replace(style, marks=md3.marks_for(plan, style))
    head = "\n\n".join(_head(style, plan, title, checked_at))
    room = max_chars - utf8_size(head) - NOTE_ROOM - 1
    if drift and plan.threeway is not None:
        parts = [head, *md3.sections(style, plan, room, full_plan)]
    else:
        reverting = frozenset(c.name for c, _task in tw.reverting(plan))
        entries = _entries(plan.actionable, drift, reverting)
        sections, left_out, brief = _fit_sections(style, entries, room, reverting)
        parts = [head, *sections]
        if left_out or brief:
            parts.append(_left_out_note(style, left_out, brief, full_plan))
    return cut_markdown(
        "\n\n".join(parts) + "\n",
        limit=max_chars,
        note=f"_The plan was cut to fit: the full plan is in {full_plan}._\n",
    )
