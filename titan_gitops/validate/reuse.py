"""What validating one task file gave, enough to stand in for the file in a later run.

A file whose definitions are all tasks validates the same way whenever its text, the project
file, the templates and its `$file` targets are the same (defcache.py keys it on exactly that).
Its result is then its tasks as built, its own warnings, the `$file` paths it names, and its
names with their positions: the cross-file checks (`check_names`) run again over every task,
reused or not, so a duplicate or a namespace change is still found and located.
"""

from __future__ import annotations

from dataclasses import dataclass

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict, LineList, Position
from titan_gitops.model import DesiredTask, SourceDocument
from titan_gitops.validate.context import Definition


@dataclass(frozen=True, slots=True)
class NameStub:
    """One task document's name and previous names as written, with their positions."""

    index: int
    document: Position
    name: str
    name_at: Position
    # Each previous name and where it is written (none when the document has no list).
    previous: tuple[tuple[str, Position], ...]
    previous_at: Position


@dataclass(frozen=True, slots=True)
class FileResult:
    """One task file's validated tasks (document order), names and warnings."""

    path: str
    tasks: tuple[DesiredTask, ...]
    names: tuple[NameStub, ...]
    warnings: tuple[Problem, ...]


def name_stub(definition: Definition) -> NameStub:
    """The stub of a task definition that validated (its name and previous names are text)."""
    data, document = definition.data, definition.document
    previous = data.get("previous_names")
    names = previous if isinstance(previous, LineList) else LineList()
    return NameStub(
        index=document.index,
        document=(document.line, document.col),
        name=data["name"],
        name_at=data.key_pos["name"],
        previous=tuple((old, names.item_pos[i]) for i, old in enumerate(names)),
        previous_at=data.key_pos.get("previous_names", data.pos),
    )


def stub_definition(path: str, stub: NameStub) -> Definition:
    """A stand-in definition for `check_names`: the name and previous names where written (an
    empty list where the document has none, which the checks read alike)."""
    data = LineDict(path, stub.document)
    data["name"] = stub.name
    data.key_pos["name"] = stub.name_at
    previous = LineList(path, stub.previous_at)
    for old, at in stub.previous:
        previous.append(old)
        previous.item_pos.append(at)
    data["previous_names"] = previous
    data.key_pos["previous_names"] = stub.previous_at
    line, col = stub.document
    document = SourceDocument(path, stub.index, data, line, col)
    return Definition(document, data, None)
