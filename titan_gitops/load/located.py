"""The located containers every load path builds: `LineDict` / `LineList` remember their file
and the 1-based line and column of themselves and of each key and item.

Kept apart from the parsers so that a loaded document can be used without importing ruamel.
"""

from __future__ import annotations

from typing import Any

Position = tuple[int, int]
# Where a YAML 1.1 trap sits and why: (line, column, message).
Trap = tuple[int, int, str]


class LineDict(dict[str, Any]):
    """A mapping that knows its file and the 1-based line and column of itself and its keys."""

    __slots__ = ("key_pos", "key_src", "pos", "src", "traps")

    def __init__(self, src: str = "", pos: Position = (1, 1)) -> None:
        # dict.__new__ already made the empty mapping; skipping dict.__init__ saves a call per node.
        self.src = src
        self.pos = pos
        self.key_pos: dict[str, Position] = {}
        # Set only on merged mappings, whose keys may come from several files.
        self.key_src: dict[str, str] | None = None
        # Set only when a value is a YAML 1.1 trap: key -> where and why.
        self.traps: dict[str, Trap] | None = None


class LineList(list[Any]):
    """A list that knows its file and the 1-based line and column of itself and its items."""

    __slots__ = ("item_pos", "pos", "src", "traps")

    def __init__(self, src: str = "", pos: Position = (1, 1)) -> None:
        # list.__new__ already made the empty list; skipping list.__init__ saves a call per node.
        self.src = src
        self.pos = pos
        self.item_pos: list[Position] = []
        # Set only when an item is a YAML 1.1 trap: index -> where and why.
        self.traps: dict[int, Trap] | None = None
