"""The types a value holds, for tests that check a copy is plain JSON data."""

from __future__ import annotations

from typing import Any


def types_in(value: Any) -> set[type]:
    """Every type in `value`: itself, and each key, value and item at every depth."""
    if isinstance(value, dict):
        return {type(value)}.union(*(types_in(k) | types_in(v) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return {type(value)}.union(*(types_in(v) for v in value))
    return {type(value)}
