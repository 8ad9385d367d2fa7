"""The pack of one definitions directory: its context and reusable files, and its text form.

The text is a JSON line naming the format, the tool, the directory and the context, then a JSON
line per file, every line ending in a newline. It is read back strictly: anything that is not
exactly what `pack_text` writes (a type, a position, a key, a task whose body names another task)
makes the whole pack count as empty.

A pack read from disk keeps each file's line. When the next run reuses the file as read, the
rewrite copies that line instead of encoding the file again, so a re-plan after editing a few of
10,000 files encodes only those few. The text written is still exactly the files as they are now.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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

# One file's entry: the digest of its bytes, and what validating them gave.
Entry = tuple[str, FileResult]

_HEADER_KEYS = frozenset({"format", "tool", "root", "context"})
_FILE_KEYS = frozenset({"path", "sha256", "tasks", "names", "warnings"})
_TASK_KEYS = frozenset({"name", "body", "previous_names", "ignore_fields", "source", "extends"})
# Each escape in a line: one character, or `u` and four hex digits.
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")
# What `json.dumps` escapes short; as `\u` and four small hex digits, it escapes the other
# control characters (`_LONG`) and every character from DEL on.
_SHORT = frozenset('"\\bfnrt')
_LONG = frozenset(range(0x20)) - {0x08, 0x09, 0x0A, 0x0C, 0x0D}
_DEL = 0x7F


@dataclass
class Pack:
    """One directory's context and, per reusable task file, its bytes' digest and result; made
    by the code whose fingerprint it names."""

    context: str = ""
    files: dict[str, Entry] | None = None
    fingerprint: str = ""
    # Per file, as read from disk: its line, and the very entry that line was read into. A
    # rewrite copies a line only for a file whose entry is still that same object.
    lines: dict[str, tuple[str, Entry]] | None = field(default=None, compare=False, repr=False)


def pack_text(pack: Pack, fingerprint: str, root: str) -> str:
    """The pack as text: ASCII, every other character escaped."""
    header = {"format": FORMAT, "tool": fingerprint, "root": root, "context": pack.context}
    kept = pack.lines or {}
    out = [json.dumps(header)]
    for display, entry in (pack.files or {}).items():
        line, read_into = kept.get(display, ("", None))
        if read_into is not entry:
            line = json.dumps({"path": display, "sha256": entry[0], **_result_to_json(entry[1])})
        out.append(line)
    out.append("")
    return "\n".join(out)


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


def pack_from_text(raw: bytes, fingerprint: str, root: str) -> Pack:
    """The pack `raw` holds, each file's line kept; an empty pack when another format or tool
    made it, or it is another directory's.

    Raises:
        Malformed: (or another of `strict.UNREADABLE`) `raw` is not what `pack_text` writes.
    """
    header, *lines, end = raw.decode("ascii").split("\n")
    data = json.loads(header)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return Pack()
    if data.get("tool") != fingerprint or data.get("root") != root:
        return Pack()
    if data.keys() != _HEADER_KEYS or end:
        raise Malformed("header")
    # One parse of every file's line, so that the keys the files share are held once (a parse
    # per line makes each its own: 9 MiB more at 10,000 files). The writer puts one object on
    # each line; a hand edit whose objects straddle lines is read by value, as any other is.
    parsed = json.loads(f"[{','.join(lines)}]")
    files: dict[str, Entry] = {}
    kept: dict[str, tuple[str, Entry]] = {}
    # As many objects as lines, or ValueError.
    for line, raw_entry in zip(lines, parsed, strict=True):
        if not _spelled_as_written(line):
            raise Malformed("escape")
        if type(raw_entry) is not dict or raw_entry.keys() != _FILE_KEYS:
            raise Malformed("file")
        display = string(raw_entry["path"])
        if display in files:
            raise Malformed(display)
        entry = (string(raw_entry["sha256"]), _result_from_json(display, raw_entry))
        files[display] = entry
        kept[display] = (line, entry)
    return Pack(string(data["context"]), files, fingerprint, kept)


def _spelled_as_written(line: str) -> bool:
    """True when every character of `line` is spelled as `json.dumps` spells it: a line copied
    into the next pack then holds each string in the one spelling the store's secret check looks
    for, whatever a hand edit did to it."""
    if chr(_DEL) in line:
        return False
    if "\\" not in line:
        return True
    for escape in _ESCAPE.finditer(line):
        text = escape.group(1)
        if len(text) == 1:
            if text not in _SHORT:
                return False
            continue
        code = int(text[1:], 16)
        if text != text.lower() or not (code in _LONG or code >= _DEL):
            return False
    return True


def _result_from_json(display: str, entry: dict[str, Any]) -> FileResult:
    tasks = tuple(_task_from_json(display, raw) for raw in json_list(entry["tasks"]))
    names = tuple(_stub_from_json(raw) for raw in json_list(entry["names"]))
    if len(tasks) != len(names) or any(t.name != s.name for t, s in zip(tasks, names, strict=True)):
        raise Malformed(display)
    warnings = tuple(warning_from_json(raw) for raw in json_list(entry["warnings"]))
    return FileResult(display, tasks, names, warnings)


def _task_from_json(display: str, raw: Any) -> DesiredTask:
    if type(raw) is not dict or raw.keys() != _TASK_KEYS or not isinstance(raw["body"], dict):
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
