"""A definitions tree held in memory (the entries git lists for a directory at some commit),
walked by the rules of walk.py and read without touching the disk.

Paths inside the tree are relative to the definitions directory, `/`-separated, as git lists
them. Symlinks are resolved within the tree the way realpath resolves them on disk (component by
component, at most 40 links); a link leaving the directory is treated as pointing outside.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from titan_gitops.errors import Problem
from titan_gitops.load.caps import MAX_FILE_BYTES, file_problem
from titan_gitops.load.documents import load_yaml_bytes
from titan_gitops.load.paths import name_problem, show_name
from titan_gitops.load.walk import (
    _DANGLING,
    _FOLDER_LINK,
    _FOLDER_LOOP,
    _INTERRUPTED_EXPORT,
    _TOO_DEEP,
    INCOMPLETE_EXPORT_MARKER,
    MAX_FOLDER_DEPTH,
    PROJECT_FILE,
    YAML_SUFFIXES,
    SourceBytes,
)
from titan_gitops.model import SourceDocument

REGULAR_MODES = ("100644", "100755")
LINK_MODE = "120000"
SUBMODULE_MODE = "160000"
_MAX_LINKS = 40
# What resolving a path can give besides a path inside the tree.
_OUTSIDE = "\0outside"
_LOOP = "\0loop"
_LOOP_MESSAGE = "symlink loop: following the link leads back to itself (or through over 40 links)"
_SUBMODULE = "is a git submodule; a base read from git does not look inside it"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One entry git lists: its mode, object id, size in bytes (None for a submodule), path."""

    mode: str
    oid: str
    size: int | None
    path: str


@dataclass
class MemoryTree:
    """The entries of one definitions directory and the bytes of its blobs (by object id).

    Implements validate's `FileTree` and `ReadYaml` for `$file` references: `root` is the
    directory as the user's path names it, so every display path is the one a checkout gives.
    """

    root: Path
    entries: Mapping[str, TreeEntry]
    blobs: Mapping[str, bytes] = field(default_factory=dict)
    folders: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        folders = {""}
        for path in self.entries:
            parts = path.split("/")
            folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        self.folders = frozenset(folders)

    def display(self, path: str) -> str:
        """The path a walk of a checkout shows for `path`."""
        return os.path.join(str(self.root), *(show_name(part) for part in path.split("/")))

    def resolve(self, path: str, *, within: str = "") -> str:
        """`path` (relative to the folder `within`) with every symlink followed; `_OUTSIDE` when
        it leaves the directory, `_LOOP` past 40 links."""
        done = [part for part in within.split("/") if part]
        todo = [part for part in path.split("/") if part not in ("", ".")]
        links = 0
        while todo:
            name = todo.pop(0)
            if name == "..":
                if not done:
                    return _OUTSIDE
                done.pop()
                continue
            candidate = "/".join([*done, name])
            entry = self.entries.get(candidate)
            if entry is None or entry.mode != LINK_MODE:
                done.append(name)
                continue
            links += 1
            target = self.blobs.get(entry.oid, b"").decode("utf-8", "surrogateescape")
            if links > _MAX_LINKS:
                return _LOOP
            if target.startswith("/") or not target:
                return _OUTSIDE
            todo = [p for p in target.split("/") if p not in ("", ".")] + todo
        return "/".join(done)

    def _relative(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        return "" if rel == "." else rel

    def real_path(self, path: Path) -> Path:
        rel = self._relative(path)
        if rel is None:
            return path
        real = self.resolve(rel)
        if real == _OUTSIDE:
            return Path(_OUTSIDE, rel)
        if real == _LOOP:
            return path
        return self.root / real

    def file_problem(self, path: Path) -> str | None:
        rel = self._relative(path)
        real = self.resolve(rel) if rel is not None else _OUTSIDE
        entry = self.entries.get(real)
        if real == _LOOP:
            return "is a symlink loop"
        if entry is not None and entry.mode in REGULAR_MODES:
            return None
        if entry is not None and entry.mode == SUBMODULE_MODE:
            return "is a git submodule, not a regular file"
        if real in self.folders:
            return "is a folder, not a regular file"
        return "does not exist"

    def read_bytes(self, real: str, display: str) -> tuple[bytes | None, list[Problem]]:
        """The bytes of the regular file at `real` (not yet decoded), or a located problem."""
        entry = self.entries[real]
        if entry.size is not None and entry.size > MAX_FILE_BYTES:
            message = f"file is {entry.size} bytes; the limit is 1 MiB"
            return None, [file_problem(display, message)]
        return self.blobs[entry.oid], []

    def read_yaml(self, path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
        """validate's `ReadYaml` over the tree: `path` is one `real_path` gave, a regular file."""
        rel = self._relative(path)
        problem = self.file_problem(path)
        if rel is None or problem is not None:
            return [], [file_problem(display, f"the file {problem or 'does not exist'}")]
        raw, problems = self.read_bytes(self.resolve(rel), display)
        if raw is None:
            return [], problems
        return load_yaml_bytes(raw, display)


def _walk_order(path: str) -> tuple[tuple[int, str], ...]:
    # A folder's files come before its subfolders, each in name order, as walk.py visits them.
    parts = path.split("/")
    return (*((1, part) for part in parts[:-1]), (0, parts[-1]))


def wanted_blobs(entries: Iterable[TreeEntry]) -> list[TreeEntry]:
    """The entries whose bytes a load may need: symlinks, and regular files within the cap."""
    return [
        entry
        for entry in entries
        if entry.mode == LINK_MODE
        or (entry.mode in REGULAR_MODES and (entry.size or 0) <= MAX_FILE_BYTES)
    ]


@dataclass
class _TreeWalk:
    tree: MemoryTree
    files: list[tuple[str, str]] = field(default_factory=list)  # (path, resolved path)
    problems: list[Problem] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)  # folders refused or skipped, not walked

    def refuse(self, path: str, message: str) -> None:
        self.problems.append(file_problem(self.tree.display(path), message))

    def folder_ok(self, parts: list[str]) -> bool:
        """Whether every folder holding the entry is walked (refusing a folder once)."""
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in self.refused:
                return False
            name = parts[depth - 1]
            why = ""
            if name == INCOMPLETE_EXPORT_MARKER:
                why = _INTERRUPTED_EXPORT
            elif name.startswith("."):
                why = "hidden"
            elif (problem := name_problem(name)) is not None:
                why = problem
            elif name.endswith(YAML_SUFFIXES):
                why = "is a folder, not a definition file; rename it"
            elif depth > MAX_FOLDER_DEPTH:
                why = _TOO_DEEP
            if why:
                self.refused.add(folder)
                if why != "hidden":
                    self.refuse(folder, why)
                return False
        return True

    def visit(self, entry: TreeEntry) -> None:
        parts = entry.path.split("/")
        name = parts[-1]
        if not self.folder_ok(parts):
            return
        if name == INCOMPLETE_EXPORT_MARKER:
            self.refuse(entry.path, _INTERRUPTED_EXPORT)
            return
        is_yaml = name.endswith(YAML_SUFFIXES)
        if name.startswith(".") or not (is_yaml or entry.mode in (LINK_MODE, SUBMODULE_MODE)):
            return
        problem = name_problem(name)
        if problem is not None:
            self.refuse(entry.path, problem)
        elif entry.mode == SUBMODULE_MODE:
            self.refuse(entry.path, _SUBMODULE)
        elif entry.mode == LINK_MODE:
            self.visit_link(entry.path, is_yaml)
        else:
            self.files.append((entry.path, entry.path))

    def visit_link(self, path: str, is_yaml: bool) -> None:
        """A symlink, as walk.py follows one: a definition file inside the root is read."""
        real = self.tree.resolve(path)
        entry = self.tree.entries.get(real)
        is_folder = real in self.tree.folders or (
            entry is not None and entry.mode == SUBMODULE_MODE
        )
        if real == _LOOP:
            self.refuse(path, _LOOP_MESSAGE)
        elif real == _OUTSIDE:
            if is_yaml:
                self.refuse(path, "symlink points outside the definitions directory")
        elif entry is None and not is_folder:
            self.refuse(path, _DANGLING)
        elif is_folder:
            holder = self.tree.resolve(posixpath.dirname(path))
            inside = real == "" or holder == real or holder.startswith(real + "/")
            self.refuse(path, _FOLDER_LOOP if inside else _FOLDER_LINK)
        elif is_yaml:
            self.files.append((path, real))


def read_tree_files(tree: MemoryTree) -> tuple[list[SourceBytes], list[Problem]]:
    """The bytes of every definition file of `tree` as a walk of a checkout finds them (same
    rules, same display paths, same order), and the problems of the walk and the reads."""
    walk = _TreeWalk(tree)
    for path in sorted(tree.entries, key=_walk_order):
        walk.visit(tree.entries[path])
    sources: list[SourceBytes] = []
    problems = list(walk.problems)
    for path, real in walk.files:
        display = tree.display(path)
        raw, found = tree.read_bytes(real, display)
        if raw is None:
            problems.extend(found)
        else:
            sources.append(SourceBytes(display, raw, path == PROJECT_FILE))
    return sources, problems
