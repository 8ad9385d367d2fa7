"""Strict, typed reading of a JSON object for the saved-plan format: every error names the field.

A saved plan is untrusted input: each object must hold exactly the keys the writer writes, each
of the type it writes.
"""

from __future__ import annotations

from typing import Any


class Malformed(Exception):
    """A part of a saved plan that is missing or of the wrong type; the text names it."""


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


class Fields:
    """Typed access to one JSON object of a saved plan: each error names the field's path."""

    def __init__(self, value: Any, where: str, keys: frozenset[str]) -> None:
        if not isinstance(value, dict):
            raise Malformed(f"{where or 'the document'} must be an object, not {kind_of(value)}")
        unknown = sorted(set(value) - keys)
        if unknown:
            raise Malformed(f"{where or 'the document'} has an unknown field {unknown[0]!r}")
        missing = sorted(keys - set(value))
        if missing:
            raise Malformed(f"{self._join(where, missing[0])} is missing")
        self._data: dict[str, Any] = value
        self._where = where

    @staticmethod
    def _join(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    def at(self, key: str) -> str:
        """The located name of `key` (`changes[2].action`)."""
        return self._join(self._where, key)

    def value(self, key: str) -> Any:
        return self._data[key]

    def _typed(self, key: str, wanted: type | tuple[type, ...], what: str, null: bool) -> Any:
        value = self._data[key]
        if (value is None and null) or (isinstance(value, wanted) and not _is_flag(value, wanted)):
            return value
        raise Malformed(f"{self.at(key)} must be {what}, not {kind_of(value)}")

    def text(self, key: str) -> str:
        value: str = self._typed(key, str, "a string", null=False)
        return value

    def optional_text(self, key: str) -> str | None:
        value: str | None = self._typed(key, str, "a string or null", null=True)
        return value

    def flag(self, key: str) -> bool:
        value: bool = self._typed(key, bool, "true or false", null=False)
        return value

    def document(self, key: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._typed(key, dict, "an object or null", null=True)
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        items: list[Any] = self._typed(key, list, "a list of strings", null=False)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise Malformed(f"{self.at(key)}[{i}] must be a string, not {kind_of(item)}")
        return tuple(items)

    def pointers(self, key: str) -> tuple[str, ...]:
        found = self.texts(key)
        for i, pointer in enumerate(found):
            check_pointer(pointer, f"{self.at(key)}[{i}]")
        return found

    def objects(self, key: str, keys: frozenset[str]) -> list[Fields]:
        items: list[Any] = self._typed(key, list, "a list of objects", null=False)
        return [Fields(item, f"{self.at(key)}[{i}]", keys) for i, item in enumerate(items)]

    def digest(self, key: str) -> str:
        value = self.text(key)
        if len(value) != 64 or value.strip("0123456789abcdef"):
            raise Malformed(f"{self.at(key)} must be a SHA-256 digest (64 hex digits)")
        return value


def _is_flag(value: Any, wanted: type | tuple[type, ...]) -> bool:
    """True when `value` is a bool standing where a number was wanted (bool is an int)."""
    return isinstance(value, bool) and wanted is not bool


def check_pointer(pointer: str, where: str) -> None:
    if pointer and not pointer.startswith("/"):
        raise Malformed(f"{where} must be a JSON pointer starting with '/', not {pointer!r}")
