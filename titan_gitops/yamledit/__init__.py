"""Stage: edit a definition file in place, byte for byte: set, add or drop top-level keys of one
task document, or drop the document, leaving every other byte as it was.

Edits are line splices placed by the parser's positions (`layout`): a key's lines (its line
through the last line of its value) are replaced, a new key goes after the mapping's last one,
a dropped key's lines go. Comments, key order, quoting, indentation, flow and block styles,
blank lines, other documents, a byte order mark and `\\r\\n` line ends all stay. New values are
written by the one writer (`writer`) in the document's own indentation.

Nothing is guessed: a flow-style task, anchors, aliases or merge keys in what would change, a
missing or doubled task, or a file that does not read cleanly raise `CannotEdit`. Every result
is read back by the project's loader and must hold exactly the original data with exactly the
requested changes, or `CannotEdit` is raised instead of returning it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, NoReturn

from titan_gitops.errors import CannotEdit
from titan_gitops.escape import escape_terminal
from titan_gitops.load import load_yaml_text
from titan_gitops.yamledit.layout import Document, Entry, read_layout
from titan_gitops.yamledit.writer import DEFAULT_DASH_OFFSET, DEFAULT_INDENT, dump_value

__all__ = ["REMOVE", "CannotEdit", "dump_value", "edit_task", "remove_task"]

REMOVE: Any = object()  # a sentinel value: drop the key
_BOM = "\ufeff"
# Line breaks the parser counts that a split on "\n" would not.
_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_HEADER_COMMENT = "# yaml-language-server:"
# A first line after which a comment may go: `key:` or a block scalar's header `key: |-`.
_OPENS_BLOCK = re.compile(r".*:(\s+[|>][-+0-9]*)?")


class _File:
    """A file's text split into lines, keeping its byte order mark and each line's end aside.

    `lines` are the lines without their ends (what positions point into); `full` the same
    lines with their own ends, the last given the file's end even where the file has none.
    """

    def __init__(self, text: str, display: str, name: str) -> None:
        self.display, self.name = display, name
        self.bom = _BOM if text.startswith(_BOM) else ""
        self.text = text.removeprefix(self.bom)
        # New lines end as the file's first line does.
        self.newline = "\r\n" if self.text.split("\n", 1)[0].endswith("\r") else "\n"
        self.ends_open = bool(self.text) and not self.text.endswith("\n")
        body = self.text.removesuffix("\n").split("\n") if self.text else []
        self.lines = [line.removesuffix("\r") for line in body]
        self.full = [line + "\n" for line in body]
        if self.ends_open:
            self.full[-1] = self.lines[-1] + self.newline
        if any(c in line for line in self.lines for c in _ODD_BREAKS) or self.text.endswith("\r"):
            self.refuse("it holds line breaks other than \\n and \\r\\n")

    def refuse(self, why: str, *keys: str) -> NoReturn:
        named = ", ".join(f"'{escape_terminal(k)}'" for k in keys)
        where = f"the key{'s' if len(keys) > 1 else ''} {named} of " if keys else ""
        raise CannotEdit(
            f"cannot edit {where}the task '{escape_terminal(self.name)}' in "
            f"{escape_terminal(self.display)}: {why}; make this change by hand"
        )

    def ended(self, lines: list[str]) -> list[str]:
        """New lines, with the file's line end."""
        return [line + self.newline for line in lines]

    def join(self, full: list[str]) -> str:
        """The text of these lines (with their ends), as open at its end as the file was."""
        text = "".join(full)
        if self.ends_open:
            text = text.removesuffix("\n").removesuffix("\r")
        return self.bom + text if text else ""


def _data(text: str, display: str) -> tuple[list[Any], str | None]:
    """The JSON form of every document of `text`, or the first problem the loader found."""
    documents, problems = load_yaml_text(text.removeprefix(_BOM), display)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        return [], f"line {first.line}: {first.message}"
    return [_json(d.data) for d in documents], None


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=False))


def _read(file: _File) -> tuple[list[Document], int]:
    """The layout of the file's documents and the index of the task's document."""
    try:
        documents = read_layout(file.text, file.lines)
    except Exception:
        _, problem = _data(file.text, file.display)
        file.refuse(f"the file does not read cleanly ({problem or 'not YAML'})")
    found = [i for i, d in enumerate(documents) if _names(d, file.name)]
    if not found:
        file.refuse("no `kind: task` document has that name")
    if len(found) > 1:
        file.refuse(f"{len(found)} `kind: task` documents have that name")
    return documents, found[0]


def _names(document: Document, name: str) -> bool:
    """The document is a task with this name (as written: plain or quoted text)."""
    scalars = {e.key: e.scalar for e in document.entries}
    return scalars.get("kind") == "task" and scalars.get("name") == name


def _loaded(file: _File, documents: list[Document], index: int) -> list[Any]:
    """The data of every document, once the file reads cleanly."""
    data, problem = _data(file.text, file.display)
    if problem is not None:
        file.refuse(f"the file does not read cleanly ({problem})")
    if len(data) != len(documents) or not isinstance(data[index], dict):
        file.refuse("its documents could not be told apart")
    return data


def _layout(document: Document) -> tuple[int, int]:
    """The document's mapping indent and sequence dash offset (export's when it shows none)."""
    indent = document.indents.most_common(1)[0][0] if document.indents else DEFAULT_INDENT
    if indent < 1:
        indent = DEFAULT_INDENT
    default = min(DEFAULT_DASH_OFFSET, indent)
    dash = (document.dash_offsets.most_common(1) or [(default, 0)])[0][0]
    return indent, dash if 0 <= dash <= indent else default


def _literal_fits(file: _File, follows: int, column: int, value: Any) -> bool:
    """Whether a literal block (`|`) at the end of the new lines would keep its text: not when
    an indented comment or spaces follow (they would join the block), nor blank lines after
    a `|+`."""
    keeps = '\\n\\n"' in json.dumps(value)
    for line in file.lines[follows:]:
        if line.strip() and not line.lstrip().startswith("#"):
            break
        if len(line) - len(line.lstrip()) > column or (keeps and not line.strip()):
            return False
    return True


def _new_lines(
    file: _File, document: Document, key: str, value: Any, entry: Entry | None, follows: int
) -> list[str]:
    """The lines of `key: value` in the document's layout, to go before line `follows`."""
    indent, dash = _layout(document)
    column = document.entries[0].key_col
    # An edited value keeps its quotes, or its one-line flow form, when the new value allows.
    style = entry.style if entry is not None else ""
    lines = dump_value(
        key,
        value,
        indent=indent,
        sequence_dash_offset=dash,
        quote=style if style in ("'", '"') else "",
        flow=style == "flow" and entry is not None and entry.single_line,
        literal=_literal_fits(file, follows, column, value),
    )
    if entry is not None:
        # The key as the file spells it (quoted or not), and the comment after its value.
        spelled = file.lines[entry.key_line][entry.key_col : entry.key_end]
        bare = dump_value(key, None, indent=indent, sequence_dash_offset=dash)[0]
        if bare.endswith(":") and lines[0].startswith(bare):
            lines[0] = spelled + lines[0][len(bare) - 1 :]
        if entry.comment and (len(lines) == 1 or _OPENS_BLOCK.fullmatch(lines[0])):
            lines[0] = lines[0].rstrip() + entry.comment
    return [" " * column + line if line else line for line in lines]


def _splices(
    file: _File, document: Document, changes: Mapping[str, Any], current: dict[str, Any]
) -> list[tuple[int, int, list[str]]]:
    """(first line, line after, new lines) for every key that changes."""
    entries = {e.key: e for e in document.entries}
    splices: list[tuple[int, int, list[str]]] = []
    added: list[str] = []
    for key, value in changes.items():
        entry = entries.get(key)
        if value is REMOVE and key not in current:
            continue
        if value is not REMOVE and key in current and current[key] == _json(value):
            continue
        if entry is None:
            if key in current:
                file.refuse("it is not a plain key of the task's mapping", key)
            added += _new_lines(file, document, key, value, None, _end(document))
            continue
        if file.lines[entry.key_line][: entry.key_col].strip():
            file.refuse("it shares its line with other text (such as `---`)", key)
        new = (
            [] if value is REMOVE else _new_lines(file, document, key, value, entry, entry.last + 1)
        )
        splices.append((entry.first, entry.last + 1, _keep_leading_comments(file, entry, new)))
    if added:
        splices.append((_end(document), _end(document), added))
    return splices


def _keep_leading_comments(file: _File, entry: Entry, new: list[str]) -> list[str]:
    """`new` with the whole-line comments that opened the old block value (between the key's
    line and its first item) kept under the key, when the new value is a block too."""
    if len(new) < 2 or not new[0].split(" #", 1)[0].rstrip().endswith(":"):
        return new
    kept: list[str] = []
    for line in file.lines[entry.key_line + 1 : entry.last + 1]:
        if not line.lstrip().startswith("#"):
            break
        kept.append(line)
    return [new[0], *kept, *new[1:]]


def _end(document: Document) -> int:
    """The line after the mapping's last value: where a new key goes."""
    return max(e.last for e in document.entries) + 1


def _apply(file: _File, splices: list[tuple[int, int, list[str]]]) -> list[str]:
    lines = list(file.full)
    for first, after, new in sorted(splices, key=lambda s: (s[0], s[1]), reverse=True):
        lines[first:after] = file.ended(new)
    return lines


def _checked(file: _File, result: str, expected: list[Any], keys: tuple[str, ...] = ()) -> str:
    """`result`, once it reads back as exactly `expected`."""
    data, problem = _data(result, file.display)
    if problem is not None or data != expected:
        why = f" ({problem})" if problem else ""
        file.refuse(f"the edited file would not read back as intended{why}", *keys)
    return result


def edit_task(text: str, *, display: str, name: str, changes: Mapping[str, Any]) -> str:
    """`text` (one definition file, possibly several `---` documents) with the top-level keys of
    the `kind: task` document named `name` set to the given values (REMOVE drops a key); every
    other byte unchanged.

    Raises:
        CannotEdit: the task is missing or doubled, in flow style, or the change touches an
            anchor, an alias or a merge key, or the file does not read cleanly; the message
            names the file, the task and the key.
    """
    file = _File(text, display, name)
    documents, index = _read(file)
    document = documents[index]
    if document.kind != "block mapping":
        file.refuse("its mapping is written in flow style ({...})")
    if document.merge:
        file.refuse("its mapping has a merge key (<<)")
    entries = {e.key: e for e in document.entries}
    for key, value in changes.items():
        if key in entries and entries[key].uses:
            file.refuse(f"its value uses {', '.join(entries[key].uses)}", key)
        if value is not REMOVE:
            try:
                _json(value)
            except (TypeError, ValueError):
                file.refuse("the new value is not JSON data", key)
    data = _loaded(file, documents, index)
    splices = _splices(file, document, changes, data[index])
    if not splices:
        return text
    expected = list(data)
    task = dict(data[index])
    for key, value in changes.items():
        if value is REMOVE:
            task.pop(key, None)
        else:
            task[key] = _json(value)
    expected[index] = task
    changed = tuple(k for k in changes if task.get(k, REMOVE) != data[index].get(k, REMOVE))
    return _checked(file, file.join(_apply(file, splices)), expected, changed)


def remove_task(text: str, *, display: str, name: str) -> str:
    """`text` without the `kind: task` document named `name` (and its `---` separator); "" when
    it was the file's only document.

    Raises:
        CannotEdit: the task is missing or doubled, or the file does not read cleanly.
    """
    file = _File(text, display, name)
    documents, index = _read(file)
    data = _loaded(file, documents, index)
    rest = data[:index] + data[index + 1 :]
    if all(d is None for d in rest):
        return ""
    starts = _starts(documents)
    first, after = starts[index], [*starts, len(file.lines)][index + 1]
    if index == 0:
        # A schema modeline speaks for the file, not for its first document.
        kept = [line for line in file.full[first:after] if line.startswith(_HEADER_COMMENT)][:1]
        if documents[0].separator is None and index + 1 < len(documents):
            separator = documents[1].separator
            if separator is not None and _bare(file.lines[separator]):
                after = separator + 1
        lines = kept + file.full[after:]
    else:
        lines = file.full[:first] + file.full[after:]
    return _checked(file, file.join(lines), rest)


def _starts(documents: list[Document]) -> list[int]:
    """The first line of each document: the file's first for the first, else its `---`."""
    # Only the first document may go without `---` (after `...`, the loader wants one too).
    return [0] + [d.separator or 0 for d in documents[1:]]


def _bare(line: str) -> bool:
    """A `---` line with nothing after it but a comment."""
    rest = line[3:].strip()
    return line.startswith("---") and (not rest or rest.startswith("#"))
