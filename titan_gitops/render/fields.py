"""One field change as lines a reviewer can read, for the text and Markdown renderers alike. Pure.

Short values stay on the field's line (`limits.max_results: 10 → 20`); long ones are pretty-printed
over indented lines; a list of plain values (`urls`) shows the items added and removed; a long or
multi-line text shows a line diff; a schedule gets its cron in words and its runs per month. No
line is longer than WIDTH columns: longer ones are folded, the rest indented under their start.

Values are turned into text and passed through `shown` (the caller's mask, and cut) whole, before
any folding, so a secret is never split across lines where no mask would find it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from titan_gitops.model import FieldChange
from titan_gitops.render.cron_words import schedule_comment
from titan_gitops.render.values import SENSITIVE, show_value

# The widest line a renderer writes, in columns, counting its own indentation.
WIDTH = 120
# A line nested under a field starts this many columns in (the text renderer's indentation).
NESTED_INDENT = 12
_LONG_TEXT = 80
_CONTEXT_LINES = 3

Shown = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a field's diff: `sign` is +, -, ~, | (an unchanged line of a text), # (a
    comment) or a space (our own `…`).

    Every line holding text from a value starts with a sign that is not a space: a line of
    untrusted text at the start of an output line (after spaces) could act as a CI workflow
    command such as `::error::`.
    """

    sign: str
    text: str
    nested: bool = False
    # The rest of a path too long for one line: shown under it, two columns further in, with
    # the sign of the line it belongs to.
    continued: bool = False


def _identity(text: str) -> str:
    return text


def field_lines(
    field: FieldChange, path: str, *, arrows: bool = True, shown: Shown = _identity
) -> list[Line]:
    """The lines of one field change. `path` is the field's path as the caller shows it.

    With `arrows`, a short change is one `~ path: old → new` line; without, a `-` and a `+` line
    (the form a Markdown `diff` block colours). A path too long for its line is broken before a
    `.` or `[` (at the limit if a segment is longer still): its first part goes on a line of
    its own, the rest on `continued` lines, and the last part carries the value.
    """
    head = split_path(path)
    if len(head) == 1:
        return _field_lines(field, path, arrows, shown)
    sign = {"added": "+", "removed": "-", "changed": "~"}[field.kind]
    lines = [Line(sign, head[0]), *(Line(sign, part, continued=True) for part in head[1:-1])]
    for line in _field_lines(field, head[-1], arrows, shown):
        nested = line.nested or line.sign == "#"
        lines.append(line if nested else Line(line.sign, line.text, continued=True))
    return lines


# The room, in columns, for one part of a long path (on its line or a continuation line), and
# what is kept free after its last part: the longest word a field line puts after its path
# (`: (sensitive value)`, `: (order changed)`).
PATH_ROOM = WIDTH - NESTED_INDENT - 2
_AFTER_PATH = 20


def split_path(path: str, room: int = PATH_ROOM) -> list[str]:
    """`path` in parts: `[path]` when it fits with room to spare after it; else parts of at most
    `room` columns, the last one leaving that room spare, each part but the first starting at a
    `.` or `[` where one allows (cut at the limit inside a longer segment)."""
    last = room - _AFTER_PATH
    if len(path) <= last:
        return [path]
    parts: list[str] = []
    rest = path
    while len(rest) > last:
        limit = min(room, len(rest) - 1)
        cut = max(rest.rfind(".", 1, limit + 1), rest.rfind("[", 1, limit + 1))
        cut = limit if cut <= 0 else cut
        parts.append(rest[:cut])
        rest = rest[cut:]
    return [*parts, rest]


def _field_lines(field: FieldChange, path: str, arrows: bool, shown: Shown) -> list[Line]:
    if field.sensitive:
        sign = {"added": "+", "removed": "-", "changed": "~"}[field.kind]
        return [Line(sign, f"{path}: {SENSITIVE}")]
    if field.kind == "added":
        lines = _whole("+", path, field.after, shown)
    elif field.kind == "removed":
        lines = _whole("-", path, field.before, shown)
    elif _plain_list(field.before) and _plain_list(field.after):
        lines = _list_lines(path, field.before, field.after, shown)
    elif _texts(field.before, field.after):
        lines = _text_lines(path, field.before, field.after, shown)
    else:
        lines = _changed(path, field.before, field.after, shown, arrows)
    if path == "schedule":
        comment = schedule_comment(_cron(field.before), _cron(field.after))
        if comment:
            lines.extend(Line("#", text, nested=True) for text in fold([shown(comment)]))
    return lines


def _cron(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _plain_list(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)


def _texts(before: Any, after: Any) -> bool:
    """Two texts, one of them long or over several lines: worth a line diff."""
    if not (isinstance(before, str) and isinstance(after, str)):
        return False
    return any("\n" in t or len(t) > _LONG_TEXT for t in (before, after))


def _fits(*parts: str) -> bool:
    return NESTED_INDENT + sum(len(p) for p in parts) <= WIDTH and not any("\n" in p for p in parts)


def _whole(sign: str, path: str, value: Any, shown: Shown) -> list[Line]:
    """An added or removed value: on its field's line when short, else pretty and indented."""
    compact = shown(show_value(value))
    if _fits(path, compact):
        return [Line(sign, f"{path}: {compact}")]
    return [Line(sign, f"{path}:"), *(Line(sign, t, True) for t in _block(value, shown))]


def _block(value: Any, shown: Shown) -> list[str]:
    """A long value over several lines: a text line by line, anything else as YAML."""
    if isinstance(value, str):
        return fold(shown(value).split("\n"))
    return fold(yaml_lines(value, shown))


# A string shown without quotes: it starts with a letter, `/` or `_` and holds nothing YAML
# would read as syntax (`: `, ` #`, flow brackets, quotes) nor a trailing space.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_ ./:@+=?&%~()-]*")
# Words YAML 1.1 or 1.2 reads as booleans or null: shown quoted.
_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})


def _plain(text: str) -> bool:
    return (
        _PLAIN.fullmatch(text) is not None
        and ": " not in text
        and not text.endswith((" ", ":"))
        and text.lower() not in _WORDS
    )


def yaml_scalar(value: Any, shown: Shown = _identity) -> str:
    """A scalar as YAML reads it back: a string plain when that is unambiguous, else quoted."""
    if isinstance(value, str):
        text = shown(value)
        return text if _plain(text) else json.dumps(text, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def yaml_flow(value: Any, shown: Shown = _identity) -> str:
    """A value on one line in YAML flow style: `{type: string}`, `[us, de]`; keys sorted."""
    if isinstance(value, dict):
        items = (f"{yaml_scalar(k)}: {yaml_flow(value[k], shown)}" for k in sorted(value))
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(yaml_flow(v, shown) for v in value) + "]"
    return yaml_scalar(value, shown)


def yaml_lines(
    value: Any, shown: Shown = _identity, width: int = WIDTH - NESTED_INDENT - 2, indent: str = ""
) -> list[str]:
    """A mapping or list as block YAML, keys sorted; each part that fits `width` stays on one
    line in flow style. Every string passes through `shown` on its own, before any layout."""
    if isinstance(value, dict) and value:
        lines = []
        for key in sorted(value):
            lines.extend(_entry(f"{indent}{yaml_scalar(key)}:", value[key], shown, width, indent))
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            entry = _entry(f"{indent}-", item, shown, width, indent)
            if len(entry) > 1 and isinstance(item, dict):
                # A mapping in a list starts on the dash line: `- action_type: search`.
                entry = [f"{indent}- {entry[1].lstrip()}", *entry[2:]]
            lines.extend(entry)
        return lines
    return [indent + yaml_flow(value, shown)]


def _entry(head: str, value: Any, shown: Shown, width: int, indent: str) -> list[str]:
    if isinstance(value, str) and "\n" in value:
        literal = _literal(shown(value), indent + "  ")
        if literal:
            return [f"{head} {literal[0]}", *literal[1:]]
    flow = yaml_flow(value, shown)
    if len(head) + 1 + len(flow) <= width or not isinstance(value, (dict, list)) or not value:
        return [f"{head} {flow}"]
    return [head, *yaml_lines(value, shown, width, indent + "  ")]


def _literal(text: str, indent: str) -> list[str] | None:
    """A text over several lines as a YAML literal block (`|` and its lines), when YAML reads
    that block back as exactly `text`; else None (the text is then quoted on one line)."""
    body, chomp = (text[:-1], "|") if text.endswith("\n") else (text, "|-")
    lines = body.split("\n")
    if body.endswith("\n") or not lines[0] or lines[0][0] in " \t":
        return None
    if any(line.strip(" ") == "" and line for line in lines) or "\r" in text:
        return None
    return [chomp, *(f"{indent}{line}" if line else "" for line in lines)]


def fold(lines: list[str], width: int = WIDTH - NESTED_INDENT - 2) -> list[str]:
    """Each line at most `width` columns: a longer one is cut at its last space before the limit
    (or at the limit, when it has none) and goes on two columns further in than it started."""
    out: list[str] = []
    for line in lines:
        own = len(line) - len(line.lstrip(" "))
        indent = " " * min(own + 2, width // 2)
        while len(line) > width:
            cut = line.rfind(" ", len(indent), width)
            cut = width if cut < 0 else cut
            out.append(line[:cut].rstrip(" "))
            line = indent + line[cut:].lstrip(" ")
        out.append(line)
    return out


def _changed(path: str, before: Any, after: Any, shown: Shown, arrows: bool) -> list[Line]:
    old, new = shown(show_value(before)), shown(show_value(after))
    if arrows and _fits(path, old, " → ", new):
        return [Line("~", f"{path}: {old} → {new}")]
    if _fits(path, old) and _fits(path, new):
        return [Line("-", f"{path}: {old}"), Line("+", f"{path}: {new}")]
    return [
        Line("~", f"{path}:"),
        *(Line("-", t, True) for t in _block(before, shown)),
        *(Line("+", t, True) for t in _block(after, shown)),
    ]


def _list_lines(path: str, before: list[Any], after: list[Any], shown: Shown) -> list[Line]:
    """A list of plain values: the items removed, then the items added; a reorder is said."""
    old, new = [show_value(v) for v in before], [show_value(v) for v in after]
    removed, kept_old = _take(old, Counter(old) - Counter(new))
    added, kept_new = _take(new, Counter(new) - Counter(old))
    lines = [Line("~", f"{path}:")]
    for items, sign in ((removed, "-"), (added, "+")):
        for item in items:
            lines.extend(Line(sign, t, True) for t in fold([shown(item)]))
    if kept_old != kept_new:
        lines[0] = Line("~", f"{path}: (order changed)")
        lines.extend(Line("-", t, True) for t in fold([shown(show_value(before))]))
        lines.extend(Line("+", t, True) for t in fold([shown(show_value(after))]))
    return lines


def _take(items: list[str], counted: Counter[str]) -> tuple[list[str], list[str]]:
    """The copies of `items` that `counted` counts, and the rest, each in list order."""
    left = Counter(counted)
    taken: list[str] = []
    rest: list[str] = []
    for item in items:
        if left[item] > 0:
            left[item] -= 1
            taken.append(item)
        else:
            rest.append(item)
    return taken, rest


def _text_lines(path: str, before: str, after: str, shown: Shown) -> list[Line]:
    """A long or multi-line text: a line diff with up to three unchanged lines around changes."""
    old, new = fold(shown(before).split("\n")), fold(shown(after).split("\n"))
    lines = [Line("~", f"{path}:")]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    shown_to = 0  # the end of the last run of old lines shown
    for group in matcher.get_grouped_opcodes(_CONTEXT_LINES):
        if group[0][1] > shown_to:
            lines.append(Line(" ", "…", True))
        shown_to = group[-1][2]
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(Line("|", t, True) for t in old[i1:i2])
                continue
            lines.extend(Line("-", t, True) for t in old[i1:i2])
            lines.extend(Line("+", t, True) for t in new[j1:j2])
    if shown_to < len(old):
        lines.append(Line(" ", "…", True))
    return lines
