"""The state of one validation run, and how a field is located to file:line:col and named."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict, LineList
from titan_gitops.load.paths import regular_file_problem
from titan_gitops.model import SourceDocument

Loc = tuple[str | int, ...]
# Reads one YAML file as (documents, problems): load.load_yaml_file, passed in by the pipeline.
ReadYaml = Callable[[Path, str], tuple[list[SourceDocument], list[Problem]]]


class FileTree(Protocol):
    """Where `$file` references are looked up: the disk, or a tree held in memory (a base read
    from git). Paths are the ones validation builds: the root joined with a relative path."""

    def real_path(self, path: Path) -> Path:
        """`path` in one canonical form, symlinks followed: two names of one file compare equal."""
        ...

    def file_problem(self, path: Path) -> str | None:
        """Why `path` is not a readable regular file (`does not exist`), or None when it is one."""
        ...


class DiskTree:
    """The file system: realpath (never raises on a symlink loop) and a stat of the target."""

    def real_path(self, path: Path) -> Path:
        return Path(os.path.realpath(path))

    def file_problem(self, path: Path) -> str | None:
        return regular_file_problem(path)


def locate(node: Any, loc: Loc, fallback: tuple[str, int, int]) -> tuple[str, int, int]:
    """The file, line and column of the deepest part of `loc` that exists under `node`."""
    src, line, col = fallback
    if isinstance(node, (LineDict, LineList)):
        src, (line, col) = node.src, node.pos
    for step in loc:
        if isinstance(node, LineDict) and isinstance(step, str) and step in node:
            line, col = node.key_pos.get(step, (line, col))
            src = node.key_src.get(step, node.src) if node.key_src else node.src
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line, col = node.item_pos[step]
            src = node.src
        else:
            break
        node = node[step]
    return src, line, col


def format_field_path(loc: Iterable[str | int]) -> str:
    """`loc` as users write it: `limits.max_pages`, `urls[2]`."""
    text = ""
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


@dataclass
class Run:
    """The state of one validation run: where problems go, which values are secret."""

    root: Path
    environ: Mapping[str, str]
    read_yaml: ReadYaml
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    schema_files: dict[Path, Any] = field(default_factory=dict)
    substituted: bool = False
    tree: FileTree = field(default_factory=DiskTree)
    # Per definition file, the warnings its documents gave; and the files (the project too)
    # whose documents name a `$file`.
    file_warnings: dict[str, list[Problem]] = field(default_factory=dict)
    referring: set[str] = field(default_factory=set)

    def add(self, node: Any, loc: Loc, message: str, *, at: SourceDocument | None = None) -> None:
        fallback = (at.path, at.line, at.col) if at else ("", 1, 1)
        src, line, col = locate(node, loc, fallback)
        self.problems.append(Problem(src, line, col, format_field_path(loc), message))


@dataclass
class Definition:
    """One task or template document, with its shape-checked spec (None when the shape failed)."""

    document: SourceDocument
    data: LineDict
    spec: BaseModel | None


def where_defined(definition: Definition) -> str:
    """`file:line` of a definition's name, for messages that point at the other one."""
    document = definition.document
    src, line, _ = locate(definition.data, ("name",), (document.path, document.line, 1))
    return f"{src}:{line}"
