"""For tests that check a copy is plain JSON data: a text that is not exactly a str, and the
types a value holds."""

from __future__ import annotations

from typing import Any


class Text(str):
    """A text that is not exactly a `str`: JSON turns it into one."""


def types_in(value: Any) -> set[type]:
    """Every type in `value`: itself, and each key, value and item at every depth."""
    if isinstance(value, dict):
        return {type(value)}.union(*(types_in(k) | types_in(v) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return {type(value)}.union(*(types_in(v) for v in value))
    return {type(value)}
