"""The pack of one definitions directory: its context and reusable files, and its JSON form.

The JSON is read back strictly: anything that is not exactly what `pack_to_json` writes (a
type, a position, a task whose body names another task) makes the whole pack count as empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from titan_gitops.defcache.store import FORMAT
from titan_gitops.defcache.strict import (
    Malformed,
    json_list,
    position,
    string,
    warning_from_json,
    warning_to_json,
)
from titan_gitops.model import DesiredTask, SourceLocation
from titan_gitops.validate import FileResult
from titan_gitops.validate.reuse import NameStub


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
        "warnings": [warning_to_json(w) for w in result.warnings],
    }


def pack_from_json(data: Any, fingerprint: str, root: str) -> Pack:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return Pack()
    if data.get("tool") != fingerprint or data.get("root") != root:
        return Pack()
    context = string(data.get("context"))
    files: dict[str, tuple[str, FileResult]] = {}
    raw_files = data.get("files")
    if not isinstance(raw_files, dict):
        raise Malformed("files")
    for display, entry in raw_files.items():
        if not isinstance(entry, dict):
            raise Malformed(display)
        files[display] = (string(entry["sha256"]), _result_from_json(display, entry))
    return Pack(context, files, fingerprint)


def _result_from_json(display: str, entry: dict[str, Any]) -> FileResult:
    tasks = tuple(_task_from_json(display, raw) for raw in json_list(entry["tasks"]))
    names = tuple(_stub_from_json(raw) for raw in json_list(entry["names"]))
    if len(tasks) != len(names) or any(t.name != s.name for t, s in zip(tasks, names, strict=True)):
        raise Malformed(display)
    warnings = tuple(warning_from_json(raw) for raw in json_list(entry["warnings"]))
    return FileResult(display, tasks, names, warnings)


def _task_from_json(display: str, raw: Any) -> DesiredTask:
    if not isinstance(raw, dict) or not isinstance(raw["body"], dict):
        raise Malformed(display)
    name = string(raw["name"])
    if raw["body"].get("name") != name:
        raise Malformed(display)
    extends = raw["extends"]
    line, col = position(raw["source"])
    return DesiredTask(
        name=name,
        body=raw["body"],
        previous_names=tuple(string(n) for n in json_list(raw["previous_names"])),
        ignore_fields=tuple(string(p) for p in json_list(raw["ignore_fields"])),
        source=SourceLocation(display, line, col),
        extends=None if extends is None else string(extends),
    )


def _stub_from_json(raw: Any) -> NameStub:
    index, document, name, name_at, previous, previous_at = json_list(raw)
    if not isinstance(index, int) or isinstance(index, bool):
        raise Malformed("index")
    return NameStub(
        index=index,
        document=position(document),
        name=string(name),
        name_at=position(name_at),
        previous=tuple((string(n), position(at)) for n, at in map(json_list, json_list(previous))),
        previous_at=position(previous_at),
    )
