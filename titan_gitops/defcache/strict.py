"""Reading the cache's own JSON back strictly: a value that is not exactly what this code writes
raises `Malformed`, and the pack or verdict holding it counts as absent."""

from __future__ import annotations

from typing import Any

from titan_gitops.errors import Problem


class Malformed(ValueError):
    """The JSON is not what this code writes."""


# What reading a pack or verdict back may raise besides Malformed (a file gone or unreadable, not
# JSON, nested too deep, a value of another type or a key or item missing): each makes it absent.
UNREADABLE = (OSError, ValueError, RecursionError, TypeError, KeyError, IndexError)


def warning_to_json(warning: Problem) -> list[Any]:
    w = warning
    return [w.path, w.line, w.col, w.field, w.message, w.severity]


def warning_from_json(raw: Any) -> Problem:
    path, line, col, field, message, severity = json_list(raw)
    if severity != "warning":
        raise Malformed("severity")
    line, col = position([line, col])
    return Problem(string(path), line, col, string(field), string(message), "warning")


def string(value: Any) -> str:
    if type(value) is not str:
        raise Malformed("string")
    return value


def json_list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise Malformed("list")
    return value


def count(value: Any) -> int:
    # `type(...) is int`: a boolean is no count (bool is a subclass of int).
    if type(value) is not int or value < 0:
        raise Malformed("count")
    return value


def position(value: Any) -> tuple[int, int]:
    if type(value) is not list or len(value) != 2:
        raise Malformed("position")
    line, col = value
    if type(line) is not int or type(col) is not int or line < 1 or col < 1:
        raise Malformed("position")
    return line, col
