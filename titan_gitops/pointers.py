"""JSON pointers (RFC 6901) into task bodies: split, join, read, write, remove, and overlap."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Emptied mappings left behind by a removal mean "not set" and are pruned, like absent ones.
_EMPTY: tuple[Any, ...] = (None, [], {})


def split_pointer(pointer: str) -> list[str]:
    """The unescaped segments of a JSON pointer (`/a~1b/c` → ['a/b', 'c'])."""
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def join_pointer(segments: Iterable[Any]) -> str:
    """A JSON pointer from segments."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def pointers_overlap(pointer: str, other: str) -> bool:
    """True when one pointer is the other or lies inside it (either way round)."""
    return pointer == other or pointer.startswith(other + "/") or other.startswith(pointer + "/")


def get_pointer(document: Any, pointer: str) -> Any:
    """The value at `pointer`, or None when it is absent."""
    node = document
    for segment in split_pointer(pointer):
        if isinstance(node, dict):
            if segment not in node:
                return None
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def remove_pointer(document: dict[str, Any], pointer: str) -> None:
    """Delete the value at `pointer` in place, if present (then prune emptied mappings).

    The pointer may pass through list items by index (`/execution_plan/steps/0/payload/x`); a
    list item itself is never removed or pruned, so the indexes after it keep their meaning.
    """
    segments = split_pointer(pointer)
    if not segments:
        return
    parents: list[tuple[Any, str]] = []
    node: Any = document
    for segment in segments[:-1]:
        if _is_index(node, segment):
            node = node[int(segment)]
            continue
        if not isinstance(node, dict) or segment not in node:
            return
        parents.append((node, segment))
        node = node[segment]
    if isinstance(node, dict):
        node.pop(segments[-1], None)
    for parent, key in reversed(parents):
        if parent[key] in _EMPTY:
            del parent[key]


def set_pointer(document: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at `pointer` in place (list items by index), creating mappings on the way."""
    segments = split_pointer(pointer)
    node: Any = document
    for segment in segments[:-1]:
        if _is_index(node, segment):
            child = node[int(segment)]
            if not isinstance(child, dict | list):
                child = node[int(segment)] = {}
        else:
            child = node.get(segment)
            if not isinstance(child, dict | list):
                child = node[segment] = {}
        node = child
    if not segments:
        return
    if _is_index(node, segments[-1]):
        node[int(segments[-1])] = value
    elif isinstance(node, dict):
        node[segments[-1]] = value


def _is_index(node: Any, segment: str) -> bool:
    return isinstance(node, list) and segment.isdigit() and int(segment) < len(node)
