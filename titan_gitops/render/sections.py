"""The folded sections of a Markdown plan: one per change, or one per group of equal changes. Pure.

A section is a `<details>` block. Its `<summary>` line sits inside an HTML block, where Markdown is
not applied, so what goes there is HTML-escaped only; the body after the blank line is Markdown.
Every untrusted string is masked first, then cut, then escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from titan_gitops.escape import escape_code, escape_html, escape_text, fence
from titan_gitops.model import Action, Change, FieldChange
from titan_gitops.render.cron_words import schedule_comment
from titan_gitops.render.fields import WIDTH, field_lines, fold, yaml_lines, yaml_scalar
from titan_gitops.render.values import SENSITIVE

Mask = Callable[[str], str]
Link = Callable[[str], "str | None"]

# How much of one user string is shown, in characters, before the cut marker.
NAME_CHARS = 120  # a name, an id, the target, a path: in headings and lists
TEXT_CHARS = 500  # a title, a reason, a warning, a note
VALUE_CHARS = 2_000  # one side of one field in a diff
DIFF_BYTES = 16_000  # one section's diff
MAX_REASONS = 20
# A group lists this many names in its body before folding the rest.
GROUP_NAMES = 10
# The folded rest of a group's names is bounded too, so a template change to thousands of tasks
# still fits, diff and all; the names past this many bytes are counted.
GROUP_NAME_BYTES = 16_000
# A created value over this many YAML lines is folded into its own block.
FOLD_LINES = 12
# A created task's YAML keeps a part on one line up to this width: narrower than a diff line,
# so a schema reads as the block YAML people write.
CREATE_WIDTH = 80

TITLES = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.RENAME: "rename",
    Action.DELETE: "delete",
    Action.NO_OP: "no change",
}
DRIFT_TITLES = {
    Action.CREATE: "missing live",
    Action.UPDATE: "edited live",
    Action.RENAME: "still under its previous name",
    Action.DELETE: "created outside git",
    Action.NO_OP: "in sync",
}
_SOURCE = re.compile(r"^(?P<path>[^:]+):(?P<line>[0-9]+)$")


def cut_text(text: str, limit: int) -> str:
    """`text` if at most `limit` characters, else its start and `… (N more characters)`."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def utf8_size(text: str) -> int:
    """The length of `text` in UTF-8 bytes: what the caps measure."""
    return len(text.encode("utf-8"))


def cut_bytes(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-8 bytes (never half a character)."""
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", "ignore")


def cut_lines(text: str, limit: int) -> str:
    """`text` within about `limit` bytes, cut at a line boundary, with a line saying how much."""
    if utf8_size(text) <= limit:
        return text
    head = cut_bytes(text, limit)
    if "\n" in head:
        head = head[: head.rindex("\n")]
    return f"{head}\n… ({len(text) - len(head):,} more characters)"


@dataclass(frozen=True)
class Style:
    """How one render shows untrusted strings, and where a definition's source links to."""

    titles: dict[Action, str]
    mask: Mask
    drift: bool = False
    # `path` of a definition → the URL of that file at the reviewed commit, or None.
    link: Link | None = None
    # More blocks at the end of a change's section (`plan --preview`'s sample), or None.
    extra: Callable[[Change], list[str]] | None = None
    # The `!` sentences of a change that undoes an edit made in Titan, escaped for Markdown
    # (a plan made with a base), or None.
    marks: Callable[[Change], list[str]] | None = None

    def raw(self, text: str, limit: int) -> str:
        # Masked before the cut: a cut through a secret would leave a prefix no mask recognises.
        return cut_text(self.mask(text), limit)

    def code(self, text: str, limit: int = NAME_CHARS) -> str:
        """Inline `<code>` in Markdown prose."""
        return f"<code>{escape_code(self.raw(text, limit))}</code>"

    def html(self, text: str, limit: int = NAME_CHARS) -> str:
        """Inline `<code>` inside raw HTML (a summary line)."""
        return f"<code>{escape_html(self.raw(text, limit))}</code>"


def badge(change: Change, style: Style | None = None) -> str:
    said = " ⚠️ <b>breaking</b>" if change.breaking else ""
    if style is not None and style.marks is not None and style.marks(change):
        said += " ⚠️ <b>reverts a live edit</b>"
    return said


def summary_line(style: Style, change: Change, *, markdown: bool = False) -> str:
    """`~ <b>update</b> <code>shop-a</code>`, no id (it is in the body): HTML only for a
    <summary>; with `markdown`, a list item's text, where names are parsed as Markdown (so are
    escaped as Markdown too) and a leading `-` or `+` would start a nested list."""
    code = style.code if markdown else style.html
    extra = ""
    if change.action is Action.RENAME and change.previous_name:
        extra = f" from {code(change.previous_name)}"
    sign = change.action.symbol
    if markdown and sign in "-+":
        sign = "\\" + sign
    title = style.titles[change.action]
    return f"{sign} <b>{title}</b> {code(change.name)}{extra}{badge(change, style)}"


def _details(summary: str, body: Sequence[str]) -> str:
    return f"<details>\n<summary>{summary}</summary>\n\n" + "\n\n".join(body) + "\n</details>"


def _where(style: Style, change: Change) -> str:
    """`Defined in [tasks/a.yaml:3](…) · id <code>…</code>`, as far as known."""
    parts = []
    if change.source:
        parts.append(f"Defined in {_source(style, change.source)}")
    if change.task_id:
        parts.append(f"id {style.code(change.task_id)}")
    return " · ".join(parts)


def _source(style: Style, source: str) -> str:
    shown = style.code(source, TEXT_CHARS)
    found = _SOURCE.match(source)
    url = style.link(found["path"]) if style.link and found else None
    if not url or found is None or style.mask(source) != source:
        return shown
    return f"[{shown}]({url}#L{found['line']})"


def link_to(base: str) -> Link:
    """Links into a repository at one commit (`https://github.com/o/r/blob/SHA/`), for relative
    paths that stay inside it; None for any other path."""

    def link(path: str) -> str | None:
        parts = path.split("/")
        if path.startswith("/") or ".." in parts or "\\" in path:
            return None
        return base + quote(path, safe="/")

    return link


def _body(style: Style, change: Change) -> list[str]:
    body: list[str] = []
    where = _where(style, change)
    if where:
        body.append(where)
    marks = style.marks(change) if style.marks is not None else []
    if marks:
        body.append("\n".join(f"- ⚠️ {mark}" for mark in marks))
    # Creates and updates say nothing a reader needs beyond the diff; renames and deletes do.
    if change.action in (Action.RENAME, Action.DELETE) and not style.drift:
        body.append(f"_{escape_text(style.raw(change.reason, TEXT_CHARS))}_")
    body.extend(_breaking(style, change))
    if change.action is Action.CREATE and not style.drift:
        body.extend(_created(style, change.fields))
    elif change.action is not Action.DELETE and change.fields:
        body.append(diff_block(style, change.fields))
    if style.extra is not None:
        body.extend(style.extra(change))
    return body


def _breaking(style: Style, change: Change) -> list[str]:
    """The breaking reasons as one list (empty when there are none)."""
    lines = [
        f"- **Breaking:** {escape_text(style.raw(reason, TEXT_CHARS))}"
        for reason in change.breaking[:MAX_REASONS]
    ]
    if len(change.breaking) > MAX_REASONS:
        lines.append(f"- **Breaking:** … and {len(change.breaking) - MAX_REASONS:,} more")
    return ["\n".join(lines)] if lines else []


def diff_block(style: Style, fields: Sequence[FieldChange]) -> str:
    """The lines of a `diff` block: the sign first, so GitHub colours added and removed lines."""
    lines: list[str] = []
    for f in fields:
        path = style.raw(f.path, TEXT_CHARS)
        for line in field_lines(f, path, arrows=False, shown=lambda t: style.raw(t, VALUE_CHARS)):
            indent = "    " if line.nested and line.sign != "#" else "  " if line.continued else ""
            lines.append(f"{line.sign} {indent}{line.text}".rstrip())
    return fence(cut_lines("\n".join(lines), DIFF_BYTES), "diff")


def _created(style: Style, fields: Sequence[FieldChange]) -> list[str]:
    """A created task as the YAML a reviewer writes; a long value folded into its own block."""
    shown = lambda text: style.raw(text, VALUE_CHARS)  # noqa: E731
    main: list[str] = []
    folded: list[str] = []
    for f in fields:
        key = yaml_scalar(f.path)
        if f.sensitive:
            main.append(f"{key}: {SENSITIVE}")
            continue
        lines = fold(yaml_lines({f.path: f.after}, shown, CREATE_WIDTH), WIDTH)
        if f.path == "schedule" and isinstance(f.after, str):
            lines[0] += f"  # {schedule_comment(None, f.after)}"
        if len(lines) > FOLD_LINES:
            text = cut_lines("\n".join(lines), DIFF_BYTES)
            summary = f"{escape_html(f.path)} ({len(lines):,} lines)"
            folded.append(_details(summary, [fence(text, "yaml")]))
        else:
            main.extend(lines)
    blocks = [fence(cut_lines("\n".join(main), DIFF_BYTES), "yaml")] if main else []
    return blocks + folded


def change_section(style: Style, change: Change) -> str:
    """One change as a folded section."""
    return _details(summary_line(style, change), _body(style, change))


def group_key(change: Change) -> str | None:
    """Equal keys: updates a reviewer can read once (the same fields, values and breaks)."""
    if change.action is not Action.UPDATE or not change.fields:
        return None
    fields = [[f.pointer, f.sensitive, f.before, f.after] for f in change.fields]
    return json.dumps([fields, list(change.breaking)], sort_keys=True, default=str)


def group_section(style: Style, changes: Sequence[Change]) -> str:
    """Several updates with the same diff: the names, then the diff once."""
    first = changes[0]
    title = style.titles[first.action]
    shown = ", ".join(style.html(c.name) for c in changes[:3])
    more = f" and {len(changes) - 3:,} more" if len(changes) > 3 else ""
    summary = (
        f"{first.action.symbol} <b>{title}</b> {len(changes):,} tasks, the same change: "
        f"{shown}{more}{badge(first)}"
    )
    names = [style.code(c.name) for c in changes]
    body = [", ".join(names[:GROUP_NAMES])]
    if len(names) > GROUP_NAMES:
        rest = len(names) - GROUP_NAMES
        body.append(_details(f"{rest:,} more", [_joined(names[GROUP_NAMES:], GROUP_NAME_BYTES)]))
    body.extend(_breaking(style, first))
    body.append(diff_block(style, first.fields))
    return _details(summary, body)


def _joined(items: Sequence[str], limit: int) -> str:
    """`items` comma separated within about `limit` bytes, then how many more there are."""
    size = 0
    for count, item in enumerate(items):
        size += utf8_size(item) + 2
        if size > limit and count:
            return ", ".join(items[:count]) + f" and {len(items) - count:,} more"
    return ", ".join(items)
