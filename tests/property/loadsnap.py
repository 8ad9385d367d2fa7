"""What a load gave, as plain comparable data: values with their types, every position, trap,
problem and document position (NaN compares equal to NaN)."""

from __future__ import annotations

from typing import Any

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict, LineList
from titan_gitops.model import SourceDocument


def snapshot(value: Any) -> Any:
    """`value` with the types, sources, positions and traps of every node spelled out."""
    if isinstance(value, LineDict):
        items = [(key, snapshot(item)) for key, item in value.items()]
        return (
            "map",
            value.src,
            value.pos,
            list(value.key_pos.items()),
            value.key_src,
            value.traps,
            items,
        )
    if isinstance(value, LineList):
        items = [snapshot(item) for item in value]
        return ("seq", value.src, value.pos, value.item_pos, value.traps, items)
    if isinstance(value, float):
        return ("float", repr(value))
    if value is None or isinstance(value, (bool, int, str)):
        return (type(value).__name__, value)
    return (type(value).__name__,)


def load_snapshot(loaded: tuple[list[SourceDocument], list[Problem]]) -> Any:
    """A whole `load_yaml_text` answer: documents (index, line, col, data) and problems."""
    documents, problems = loaded
    return (
        [(d.path, d.index, d.line, d.col, snapshot(d.data)) for d in documents],
        [(p.path, p.line, p.col, p.field, p.message, p.severity) for p in problems],
    )
