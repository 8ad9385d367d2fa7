"""Render a Plan (or a drift report) as GitHub Markdown for pull requests and summaries. Pure.

Every user string is escaped (no raw HTML, no @-mentions, no breaking out of a code fence) and cut
to a bounded length with a visible marker, so no single value can push the rest out. The whole is
capped in UTF-8 bytes, which are never fewer than characters, so the cap also holds where GitHub
counts characters. The warning banners and the counts table come first and always fit; change
sections follow, deletes chosen before any other; the changes left out are counted by kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from titan_gitops.escape import escape_code, escape_text, fence
from titan_gitops.model import Action, Change, FieldChange, Plan
from titan_gitops.render.fields import field_lines

Mask = Callable[[str], str]

# The default cap, in UTF-8 bytes: a PR comment, with room under GitHub's 65,536 characters for
# the approval markers and the footer.
MAX_CHARS = 60_000
# The head (title, banners, warnings, counts table, notes) is built to fit in this many bytes.
MIN_CHARS = 24_000
# How much of one user string is shown, in characters, before the cut marker.
NAME_CHARS = 120  # a name, an id, the target, a path: in headings and lists
TEXT_CHARS = 500  # a title, a reason, a warning, a note
VALUE_CHARS = 2_000  # one side of one field in a diff
# Byte budgets: one change's diff; the names in one banner; the warnings; the notes.
DIFF_BYTES = 16_000
LIST_BYTES = 4_000
MAX_REASONS = 20
# Kept free at the end for the note that counts what was left out.
NOTE_ROOM = 600
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
_SHOWN_ACTIONS = (Action.CREATE, Action.UPDATE, Action.RENAME, Action.DELETE)
# The note on what was left out names the most dangerous kinds first.
_LEFT_OUT_ORDER = (Action.DELETE, Action.RENAME, Action.UPDATE, Action.CREATE)
_FENCE_LINE = re.compile(r"^(`{3,})(.*)$")


def utf8_size(text: str) -> int:
    """The length of `text` in UTF-8 bytes: what the caps here measure."""
    return len(text.encode("utf-8"))


def cut_text(text: str, limit: int) -> str:
    """`text` if at most `limit` characters, else its start and `… (N more characters)`."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _cut_bytes(text: str, limit: int) -> str:
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", "ignore")


def cut_lines(text: str, limit: int) -> str:
    """`text` within about `limit` bytes, cut at a line boundary, with a line saying how much."""
    if utf8_size(text) <= limit:
        return text
    head = _cut_bytes(text, limit)
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return f"{head}\n… ({len(text) - len(head):,} more characters)"


def _closing(head: str) -> str:
    """What closes the code fence and the <details> blocks left open at the end of `head`."""
    open_fence = ""
    for line in head.split("\n"):
        found = _FENCE_LINE.match(line)
        if not found:
            continue
        if not open_fence:
            open_fence = found.group(1)
        elif found.group(1).startswith(open_fence) and not found.group(2).strip():
            open_fence = ""
    closing = f"\n{open_fence}" if open_fence else ""
    opened = head.count("<details>") - head.count("</details>")
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
        head = _cut_bytes(text, room)
        line_end = head.rfind("\n")
        if line_end > len(head) // 2:
            head = head[:line_end]
        closing = _closing(head)
        total = utf8_size(head) + utf8_size(closing) + 2 + utf8_size(note)
        if total <= limit:
            return f"{head}{closing}\n\n{note}"
        room -= total - limit
    return _cut_bytes(note, limit)


@dataclass(frozen=True)
class _Style:
    """How one render shows untrusted strings: masked first, then cut, then escaped."""

    titles: dict[Action, str]
    mask: Mask

    def short(self, text: str, limit: int = NAME_CHARS) -> str:
        # Masked before the cut: a cut through a secret would leave a prefix no mask recognises.
        return escape_code(cut_text(self.mask(text), limit))

    def raw(self, text: str, limit: int) -> str:
        return cut_text(self.mask(text), limit)


def _diff_lines(style: _Style, fields: Iterable[FieldChange]) -> list[str]:
    """The lines of a `diff` block: the sign first, so GitHub colours added and removed lines."""
    lines: list[str] = []
    for f in fields:
        path = style.raw(f.path, TEXT_CHARS)
        for line in field_lines(f, path, arrows=False, shown=lambda t: style.raw(t, VALUE_CHARS)):
            indent = "    " if line.nested and line.sign != "#" else ""
            lines.append(f"{line.sign} {indent}{line.text}".rstrip())
    return lines


def _summary_line(style: _Style, change: Change) -> str:
    title = style.titles[change.action]
    ident = f" (id <code>{style.short(change.task_id)}</code>)" if change.task_id else ""
    extra = ""
    if change.action is Action.RENAME and change.previous_name:
        extra = f" from <code>{style.short(change.previous_name)}</code>"
    badge = " — **breaking**" if change.breaking else ""
    return (
        f"{change.action.symbol} <b>{title}</b> "
        f"<code>{style.short(change.name)}</code>{extra}{ident}{badge}"
    )


def _change_block(style: _Style, change: Change) -> str:
    summary = f"<summary>{_summary_line(style, change)}</summary>"
    body: list[str] = [f"_{escape_text(style.raw(change.reason, TEXT_CHARS))}_"]
    if change.source:
        body.append(f"Defined in <code>{style.short(change.source, TEXT_CHARS)}</code>.")
    for reason in change.breaking[:MAX_REASONS]:
        body.append(f"- **Breaking:** {escape_text(style.raw(reason, TEXT_CHARS))}")
    if len(change.breaking) > MAX_REASONS:
        body.append(f"- **Breaking:** … and {len(change.breaking) - MAX_REASONS:,} more")
    if change.action is not Action.DELETE and change.fields:
        diff = cut_lines("\n".join(_diff_lines(style, change.fields)), DIFF_BYTES)
        body.append(fence(diff, "diff"))
    return "<details>\n" + summary + "\n\n" + "\n\n".join(body) + "\n</details>"


def counts_table(plan: Plan, *, drift: bool = False) -> str:
    """The counts table every render opens with (the approval guard looks for it verbatim)."""
    titles = _DRIFT_TITLES if drift else _TITLES
    counts = plan.counts()
    rows = ["| | Change | Tasks |", "|---|---|---:|"]
    for action in _SHOWN_ACTIONS:
        rows.append(f"| {action.symbol} | {titles[action]} | {counts[action.value]} |")
    return "\n".join(rows)


def _name_list(style: _Style, names: Sequence[str]) -> str:
    """Names as inline code, comma separated, within LIST_BYTES, then how many more."""
    shown: list[str] = []
    size = 0
    for name in names:
        item = f"<code>{style.short(name)}</code>"
        if shown and size + utf8_size(item) + 2 > LIST_BYTES:
            break
        shown.append(item)
        size += utf8_size(item) + 2
    text = ", ".join(shown)
    if len(shown) < len(names):
        text += f" and {len(names) - len(shown):,} more"
    return text


def _bounded_lines(lines: Sequence[str], what: str) -> list[str]:
    """The first `lines` within LIST_BYTES, then one line saying how many more."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if kept and size + utf8_size(line) + 2 > LIST_BYTES:
            kept.append(f"_… and {len(lines) - len(kept):,} more {what}; see the full plan._")
            break
        kept.append(line)
        size += utf8_size(line) + 2
    return kept


def _danger_lines(style: _Style, plan: Plan, drift: bool) -> list[str]:
    deletes = [c.name for c in plan.changes if c.action is Action.DELETE]
    breaking = [c.name for c in plan.changes if c.breaking]
    lines: list[str] = []
    plural = "s" * (len(deletes) != 1)
    if deletes and not drift:
        names = _name_list(style, deletes)
        lines.append(f"**⚠️ {len(deletes)} task{plural} will be deleted:** {names}")
    if deletes and drift:
        lines.append(f"**{len(deletes)} unmanaged task{plural} in the namespace.**")
    if breaking:
        lines.append(f"**⚠️ Breaking output_schema change in:** {_name_list(style, breaking)}")
    return lines


def _head(style: _Style, plan: Plan, title: str, drift: bool) -> list[str]:
    """Everything before the change sections; bounded whatever the plan holds."""
    head: list[str] = [f"### {escape_text(style.raw(title, TEXT_CHARS))}"]
    if plan.target:
        head.append(f"Target: <code>{style.short(plan.target)}</code>")
    if plan.namespace:
        head.append(f"Namespace: <code>{style.short(plan.namespace)}</code>")
    if plan.filtered:
        filters = escape_text(style.raw("; ".join(plan.filters), TEXT_CHARS))
        head.append(f"**Filtered plan** ({filters}): nothing is deleted.")
    head.extend(_danger_lines(style, plan, drift))
    warnings = [f"> {escape_text(style.raw(w, TEXT_CHARS))}" for w in plan.warnings]
    head.extend(_bounded_lines(warnings, "warnings"))
    if plan.has_changes:
        head.append(counts_table(plan, drift=drift))
    else:
        head.append(
            "**No drift.** Live tasks match the definitions."
            if drift
            else "**No changes.** Live tasks match the definitions."
        )
    notes: list[str] = []
    for note in plan.notes:
        label = f"<code>{style.short(note.name)}</code>: " if note.name else ""
        notes.append(f"- {label}{escape_text(style.raw(note.message, TEXT_CHARS))}")
    head.extend(_bounded_lines(notes, "notes"))
    return head


def _priority(change: Change) -> int:
    """Which sections get room first: deletes, then breaking changes, then what edits live."""
    if change.action is Action.DELETE:
        return 0
    if change.breaking:
        return 1
    return 3 if change.action is Action.CREATE else 2


def _fit_sections(
    style: _Style, changes: Sequence[Change], room: int
) -> tuple[list[str], list[Change], int]:
    """The sections that fit in `room` bytes, in plan order; the changes left out; how many
    deletes are shown by their one-line entry only.

    Every delete first gets a one-line entry, so as many deletes as possible stay visible; then
    sections are filled in by priority (deletes, breaking changes, edits, creates).
    """
    chosen: dict[int, str] = {}
    for index, change in enumerate(changes):
        if change.action is Action.DELETE:
            line = f"- {_summary_line(style, change)}"
            if utf8_size(line) + 2 <= room:
                chosen[index] = line
                room -= utf8_size(line) + 2
    brief = set(chosen)
    for index in sorted(range(len(changes)), key=lambda i: _priority(changes[i])):
        change = changes[index]
        if change.action is Action.DELETE and index not in chosen:
            continue
        block = _change_block(style, change)
        extra = utf8_size(block) + 2 - (utf8_size(chosen[index]) + 2 if index in chosen else 0)
        if extra <= room:
            chosen[index] = block
            brief.discard(index)
            room -= extra
    left_out = [c for i, c in enumerate(changes) if i not in chosen]
    return [chosen[i] for i in sorted(chosen)], left_out, len(brief)


def _left_out_note(style: _Style, left_out: Sequence[Change], brief: int, max_chars: int) -> str:
    counted = Counter(c.action for c in left_out)
    kinds = "; ".join(f"{style.titles[a]}: {counted[a]:,}" for a in _LEFT_OUT_ORDER if counted[a])
    said: list[str] = []
    if left_out:
        said.append(
            f"{len(left_out):,} more change{'s' * (len(left_out) != 1)} not shown ({kinds})"
        )
    if brief:
        said.append(f"{brief:,} {style.titles[Action.DELETE]} shown by name only")
    return (
        f"_{'; '.join(said)} to stay under {max_chars:,} bytes; see the full plan "
        "(plan JSON or the job log)._"
    )


def render_plan_markdown(
    plan: Plan,
    *,
    title: str = "titan-gitops plan",
    drift: bool = False,
    max_chars: int = MAX_CHARS,
    mask: Mask | None = None,
) -> str:
    """The plan (or, with `drift`, the drift report) as Markdown, at most `max_chars` bytes.

    `max_chars` counts UTF-8 bytes (at least MIN_CHARS). `mask` is applied to every untrusted
    string before it is cut, so a cut never leaves part of a secret the caller masks.

    Raises:
        ValueError: `max_chars` is below MIN_CHARS, too small for the head.
    """
    if max_chars < MIN_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_CHARS:,} bytes")
    style = _Style(_DRIFT_TITLES if drift else _TITLES, mask or (lambda text: text))
    head = "\n\n".join(_head(style, plan, title, drift))
    room = max_chars - utf8_size(head) - NOTE_ROOM - 1
    sections, left_out, brief = _fit_sections(style, plan.actionable, room)
    parts = [head, *sections]
    if left_out or brief:
        parts.append(_left_out_note(style, left_out, brief, max_chars))
    return cut_markdown(
        "\n\n".join(parts) + "\n", limit=max_chars, note="_The plan was cut to fit._\n"
    )
