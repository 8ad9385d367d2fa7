"""Where things are in a YAML file: its documents, the top-level keys of each, and the exact
lines of each key's value, read from the parser's events (ruamel's pure parser, YAML 1.2).

Lines and columns are 0-based here. A value's last line is the last line holding its content:
blank and comment lines after it belong to nobody and stay where they are (a `|+` block keeps
its trailing blank lines, which are its content).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# A key followed by its colon and, perhaps, a comment: `key:   # note`.
_COLON = re.compile(r"\s*:")
# A block scalar's header: `|`, `>-`, `|+2`, perhaps followed by a comment.
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*(\s+#.*)?\s*$")

Mark = tuple[int, int]


@dataclass
class Entry:
    """One top-level key of a document's mapping and the lines of its value."""

    key: str
    key_line: int
    key_col: int
    key_end: int  # the column after the key's text (before its colon)
    first: int  # the key's line
    last: int  # the last line holding the value's content
    comment: str  # a comment after the value on its line (or on the key line), with its spacing
    single_line: bool  # the key and its whole value on one line
    uses: tuple[str, ...]  # anchors, aliases or merge keys inside the value
    style: str  # the value's: "plain", "'", '"', "|", ">", "flow" or "block"
    scalar: str | None  # a scalar value's text as read (no tag applied)


@dataclass
class Document:
    """One document of the file: its `---` line and its top-level mapping."""

    separator: int | None  # the line of its explicit `---`
    kind: str  # "block mapping", "flow mapping" or "other"
    entries: list[Entry] = field(default_factory=list)
    merge: bool = False  # a `<<` key at the top
    indents: Counter[int] = field(default_factory=Counter)
    dash_offsets: Counter[int] = field(default_factory=Counter)


@dataclass
class _Node:
    start: Mark
    end: Mark  # the end of its last content
    kind: str  # "scalar", "block scalar", "flow", "block", "alias"
    value: str = ""
    style: str = ""
    uses: set[str] = field(default_factory=set)


class _Walker:
    """Reads the events of one document into located nodes (only the top level is kept)."""

    def __init__(self, events: list[Any], start: int, lines: list[str]) -> None:
        self.events = events
        self.index = start
        self.lines = lines
        self.indents: Counter[int] = Counter()
        self.dash_offsets: Counter[int] = Counter()

    def _next(self) -> Any:
        event = self.events[self.index]
        self.index += 1
        return event

    def _peek(self) -> str:
        return type(self.events[self.index]).__name__

    def node(self, key_col: int | None = None) -> _Node:
        event = self._next()
        name = type(event).__name__
        start = (event.start_mark.line, event.start_mark.column)
        end = (event.end_mark.line, event.end_mark.column)
        if name == "AliasEvent":
            return _Node(start, end, "alias", uses={f"the alias *{event.anchor}"})
        uses = {f"the anchor &{event.anchor}"} if event.anchor else set()
        if name == "ScalarEvent":
            kind = "block scalar" if event.style in ("|", ">") else "scalar"
            return _Node(start, end, kind, event.value, event.style or "plain", uses)
        closing = "SequenceEndEvent" if name == "SequenceStartEvent" else "MappingEndEvent"
        flow = bool(event.flow_style)
        if not flow and key_col is not None:
            found = self.dash_offsets if name == "SequenceStartEvent" else self.indents
            found[start[1] - key_col] += 1
        last = end
        while self._peek() != closing:
            if name == "SequenceStartEvent":
                child = self.node()
            else:
                key = self.node()
                if key.kind == "scalar" and key.value == "<<" and self._is_plain(key):
                    uses.add("a merge key <<")
                uses |= key.uses
                child = self.node(None if flow else key.start[1])
            uses |= child.uses
            last = max(last, child.end)
        closed = self._next()
        if flow:
            last = (closed.end_mark.line, closed.end_mark.column)
        kind = "flow" if flow else "block"
        return _Node(start, last, kind, uses=uses, style=kind)

    def _is_plain(self, key: _Node) -> bool:
        line, col = key.start
        return not self.lines[line][col:].startswith(("'", '"'))


def _last_line(node: _Node, lines: list[str]) -> int:
    """The last line holding `node`'s content."""
    line, col = node.end
    if node.kind != "block scalar":
        return line if col > 0 else line - 1
    # The parser's end is past the blank lines after a block; those a `|+` keeps are content.
    last = line - 1 if col == 0 else line
    while last > node.start[0] and not lines[last].strip():
        last -= 1
    kept = len(node.value) - len(node.value.rstrip("\n")) - 1
    return last + max(kept, 0)


def _entry(key: _Node, value: _Node, lines: list[str]) -> Entry:
    key_line, key_col = key.start
    text = lines[key_line]
    colon = _COLON.match(text, key.end[1])
    after_colon = colon.end() if colon else key.end[1]
    if value.kind == "scalar" and value.value == "" and value.start == value.end:
        # An empty value: the parser places it at the next token, perhaps lines below.
        value = _Node(
            (key_line, after_colon), (key_line, after_colon), "scalar", "", "plain", value.uses
        )
    last = max(_last_line(value, lines), key_line)
    if value.start[0] > key_line:
        tail = text[after_colon:]
    elif value.kind == "block scalar":
        header = _BLOCK_HEADER.match(text, value.start[1])
        tail = (header.group(1) or "") if header else ""
    else:
        tail = lines[value.end[0]][value.end[1] :] if value.end[0] == last else ""
    comment = tail.rstrip() if tail.strip().startswith("#") else ""
    return Entry(
        key=key.value,
        key_line=key_line,
        key_col=key_col,
        key_end=key.end[1],
        first=key_line,
        last=last,
        comment=comment,
        single_line=last == key_line and value.kind != "block scalar",
        uses=tuple(sorted(value.uses | key.uses)),
        style=value.style or "plain",
        scalar=value.value if value.kind == "scalar" else None,
    )


def _document(walker: _Walker, separator: int | None) -> Document:
    if walker._peek() != "MappingStartEvent":
        walker.node()
        return Document(separator, "other")
    flow = walker._next().flow_style
    document = Document(separator, "flow mapping" if flow else "block mapping")
    while walker._peek() != "MappingEndEvent":
        key = walker.node()
        if key.kind == "scalar" and key.value == "<<" and walker._is_plain(key):
            document.merge = True
        value = walker.node(key.start[1])
        if key.kind == "scalar":
            document.entries.append(_entry(key, value, walker.lines))
    walker._next()
    document.indents, document.dash_offsets = walker.indents, walker.dash_offsets
    return document


def read_layout(text: str, lines: list[str]) -> list[Document]:
    """Every document of `text` (no byte order mark), `lines` being its lines without ends.

    Raises:
        Exception: whatever the parser raises on text it cannot read.
    """
    from ruamel.yaml import YAML

    events = list(YAML(typ="safe", pure=True).parse(text))
    documents: list[Document] = []
    index = 0
    while index < len(events):
        event = events[index]
        index += 1
        if type(event).__name__ != "DocumentStartEvent":
            continue
        separator = event.start_mark.line if event.explicit else None
        walker = _Walker(events, index, lines)
        # Each document gets its own walker, so its layout is read from itself alone.
        document = _document(walker, separator)
        index = walker.index
        documents.append(document)
    return documents
