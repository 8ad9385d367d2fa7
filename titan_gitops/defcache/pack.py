"""The pack of one definitions directory: its context and reusable files, and its JSON form.

The JSON is read back strictly: anything that is not exactly what `pack_to_json` writes (a
type, a position, a task whose body names another task) makes the whole pack count as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from titan_gitops.errors import Problem
from titan_gitops.model import DesiredTask, SourceLocation
from titan_gitops.validate import FileResult
from titan_gitops.validate.reuse import NameStub

FORMAT = 2


@dataclass
class Pack:
    """One directory's context and, per reusable task file, its bytes' digest and result; made
    by the code whose fingerprint it names."""

    context: str = ""
    files: dict[str, tuple[str, FileResult]] | None = None
    fingerprint: str = ""


def pack_to_json(pack: Pack, fingerprint: str, root: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "tool": fingerprint,
        "root": root,
        "context": pack.context,
        "files": {
            display: {"sha256": digest, **_result_to_json(result)}
            for display, (digest, result) in (pack.files or {}).items()
        },
    }


def _result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "tasks": [
            {
                "name": t.name,
                "body": t.body,
                "previous_names": list(t.previous_names),
                "ignore_fields": list(t.ignore_fields),
                "source": [t.source.line, t.source.col],
                "extends": t.extends,
            }
            for t in result.tasks
        ],
        "names": [
            [
                s.index,
                list(s.document),
                s.name,
                list(s.name_at),
                [[n, list(at)] for n, at in s.previous],
                list(s.previous_at),
            ]
            for s in result.names
        ],
        "warnings": [
            [w.path, w.line, w.col, w.field, w.message, w.severity] for w in result.warnings
        ],
    }


class _Malformed(ValueError):
    """The pack is not what this code writes."""


def pack_from_json(data: Any, fingerprint: str, root: str) -> Pack:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return Pack()
    if data.get("tool") != fingerprint or data.get("root") != root:
        return Pack()
    context = _string(data.get("context"))
    files: dict[str, tuple[str, FileResult]] = {}
    raw_files = data.get("files")
    if not isinstance(raw_files, dict):
        raise _Malformed("files")
    for display, entry in raw_files.items():
        if not isinstance(entry, dict):
            raise _Malformed(display)
        files[display] = (_string(entry["sha256"]), _result_from_json(display, entry))
    return Pack(context, files, fingerprint)


def _result_from_json(display: str, entry: dict[str, Any]) -> FileResult:
    tasks = tuple(_task_from_json(display, raw) for raw in _list(entry["tasks"]))
    names = tuple(_stub_from_json(raw) for raw in _list(entry["names"]))
    if len(tasks) != len(names) or any(t.name != s.name for t, s in zip(tasks, names, strict=True)):
        raise _Malformed(display)
    warnings = tuple(_warning_from_json(raw) for raw in _list(entry["warnings"]))
    return FileResult(display, tasks, names, warnings)


def _task_from_json(display: str, raw: Any) -> DesiredTask:
    if not isinstance(raw, dict) or not isinstance(raw["body"], dict):
        raise _Malformed(display)
    name = _string(raw["name"])
    if raw["body"].get("name") != name:
        raise _Malformed(display)
    extends = raw["extends"]
    line, col = _position(raw["source"])
    return DesiredTask(
        name=name,
        body=raw["body"],
        previous_names=tuple(_string(n) for n in _list(raw["previous_names"])),
        ignore_fields=tuple(_string(p) for p in _list(raw["ignore_fields"])),
        source=SourceLocation(display, line, col),
        extends=None if extends is None else _string(extends),
    )


def _stub_from_json(raw: Any) -> NameStub:
    index, document, name, name_at, previous, previous_at = _list(raw)
    if not isinstance(index, int) or isinstance(index, bool):
        raise _Malformed("index")
    return NameStub(
        index=index,
        document=_position(document),
        name=_string(name),
        name_at=_position(name_at),
        previous=tuple((_string(n), _position(at)) for n, at in map(_list, _list(previous))),
        previous_at=_position(previous_at),
    )


def _warning_from_json(raw: Any) -> Problem:
    path, line, col, field, message, severity = _list(raw)
    if severity != "warning":
        raise _Malformed("severity")
    line, col = _position([line, col])
    return Problem(_string(path), line, col, _string(field), _string(message), "warning")


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _Malformed("string")
    return value


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Malformed("list")
    return value


def _position(value: Any) -> tuple[int, int]:
    # `type(...) is int`: a boolean is no position (bool is a subclass of int).
    if type(value) is not list or len(value) != 2:
        raise _Malformed("position")
    line, col = value
    if type(line) is not int or type(col) is not int or line < 1 or col < 1:
        raise _Malformed("position")
    return line, col
