"""The directory walk of the load stage: which files are definitions, and what each one gave."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from titan_gitops.errors import Problem
from titan_gitops.load.caps import decode_definition_bytes, file_problem, read_definition_bytes
from titan_gitops.load.documents import load_yaml_text
from titan_gitops.load.paths import describe_kind, describe_os_error, name_problem, show_name
from titan_gitops.model import SourceDocument

PROJECT_FILE = "titan-gitops.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
# Written by export while it works and removed when it is done: a folder holding it is partial.
INCOMPLETE_EXPORT_MARKER = ".titan-gitops-export-incomplete"
# How deep folders may nest under the root; deeper trees are refused, never walked.
MAX_FOLDER_DEPTH = 64


_INTERRUPTED_EXPORT = (
    "an export into this folder was interrupted, so its files may be incomplete; "
    "run export again, or delete this marker once you have checked the files"
)
_TOO_DEEP = (
    f"folders nest deeper than {MAX_FOLDER_DEPTH} levels under the definitions directory; "
    "move the definitions higher up"
)
_DANGLING = (
    "the symlink's target does not exist (a dangling symlink); "
    "restore the target or remove the link"
)
_FOLDER_LOOP = "symlink loop: the folder link points at a folder that holds it; remove the link"
_FOLDER_LINK = (
    "symlinked folders are not followed; move the folder here or link each file on its own"
)
_PLAIN_FILES = "definitions must be plain files"


@dataclass(frozen=True, slots=True)
class SourceBytes:
    """One definition file's bytes as read (not yet decoded), under its display path, and their
    SHA-256 (what the validated-definitions cache knows the file by), taken once."""

    display: str
    raw: bytes
    is_project: bool
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.raw).hexdigest())


@dataclass
class LoadResult:
    """What loading a directory gave: documents per file, problems, warnings."""

    documents: list[SourceDocument] = field(default_factory=list)
    project: SourceDocument | None = None
    # Files whose text holds `${`: only their documents need variable substitution.
    variable_paths: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def is_shareable(text: str) -> bool:
    """True when what the documents of `text` validate to depends on nothing outside them: no
    `${` (the environment, substituted in place) and no `$file` (another file)."""
    return "${" not in text and "$file" not in text


def is_blank_yaml(text: str) -> bool:
    """True for a file holding only whitespace, comments and document markers."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
            return False
    return True


def check_definitions_root(root: Path) -> Problem | None:
    """Why `root` cannot be walked as a definitions folder, or None when it can be."""
    text = str(root)
    problem = name_problem(text)
    if problem is not None:
        return file_problem(show_name(text), problem.replace("the name", "the folder's path"))
    try:
        mode = os.stat(root).st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return file_problem(text, "the folder does not exist")
        return file_problem(text, describe_os_error("folder", exc))
    if not stat.S_ISDIR(mode):
        return file_problem(text, f"is {describe_kind(mode)}, not a folder of definitions")
    return None


def list_definition_files(root: Path) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Every visible `*.yaml`/`*.yml` under `root`, sorted, as (path, display path).

    Hidden files and folders are skipped. Everything else that cannot be read is a located
    problem, never skipped: an unreadable folder, a dangling or looping symlink, a symlink
    leaving the root, a symlinked folder (not followed), a folder or FIFO named like a
    definition, a name that is not printable UTF-8, folders nested past MAX_FOLDER_DEPTH, and a
    folder an interrupted export left its marker in. Symlinks to files inside the root are read.
    """
    files, problems = _walk(root)
    return [(Path(path), display) for path, display in files], problems


def _walk(root: Path) -> tuple[list[tuple[str, str]], list[Problem]]:
    """`list_definition_files` with each path as the text the walk found it by (a `Path` per file
    cost more than reading the file)."""
    walk = _Walk(os.path.realpath(root))
    folders = [(str(root), str(root), 0)]
    while folders:
        folder, display, depth = folders.pop()
        subfolders = walk.visit_folder(folder, display, depth)
        folders.extend(reversed(subfolders))
    return walk.files, walk.problems


@dataclass
class _Walk:
    """The files and problems found so far by one walk of a definitions tree."""

    real_root: str
    files: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def refuse(self, display: str, message: str) -> None:
        self.problems.append(file_problem(display, message))

    def visit_folder(self, folder: str, display: str, depth: int) -> list[tuple[str, str, int]]:
        """Record the definition files of `folder`; return its subfolders to walk, in order."""
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            self.refuse(display, describe_os_error("folder", exc))
            return []
        subfolders: list[tuple[str, str, int]] = []
        for entry in entries:
            shown = os.path.join(display, show_name(entry.name))
            if entry.name == INCOMPLETE_EXPORT_MARKER:
                self.refuse(shown, _INTERRUPTED_EXPORT)
                continue
            if entry.name.startswith("."):
                continue
            try:
                kind = self.visit_entry(entry, shown)
            except OSError as exc:
                self.refuse(shown, describe_os_error("file", exc))
                continue
            if kind != "folder":
                continue
            if depth + 1 > MAX_FOLDER_DEPTH:
                self.refuse(shown, _TOO_DEEP)
                continue
            subfolders.append((entry.path, shown, depth + 1))
        return subfolders

    def visit_entry(self, entry: os.DirEntry[str], shown: str) -> str:
        """Record one visible entry; "folder" when it is a real folder to walk into."""
        is_yaml = entry.name.endswith(YAML_SUFFIXES)
        is_link = entry.is_symlink()
        is_folder = not is_link and entry.is_dir(follow_symlinks=False)
        if not (is_yaml or is_link or is_folder):
            return "other"
        problem = name_problem(entry.name)
        if problem is not None:
            self.refuse(shown, problem)
            return "refused"
        if is_link:
            self.visit_symlink(entry.path, shown, is_yaml)
            return "symlink"
        if is_folder:
            if is_yaml:
                self.refuse(shown, "is a folder, not a definition file; rename it")
                return "refused"
            return "folder"
        mode = entry.stat(follow_symlinks=False).st_mode
        if not stat.S_ISREG(mode):
            self.refuse(shown, f"is {describe_kind(mode)}, not a regular file; {_PLAIN_FILES}")
            return "refused"
        self.files.append((entry.path, shown))
        return "file"

    def visit_symlink(self, path: str, shown: str, is_yaml: bool) -> None:
        """Follow a symlink once: a definition file inside the root is read, the rest refused."""
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                self.refuse(shown, _DANGLING)
            else:
                self.refuse(shown, describe_os_error("symlink", exc))
            return
        if not (is_yaml or stat.S_ISDIR(mode)):
            return  # a link to some other file, such as a schema: `$file` checks those
        target = os.path.realpath(path)
        if not _is_within(target, self.real_root):
            self.refuse(shown, "symlink points outside the definitions directory")
        elif stat.S_ISDIR(mode):
            holder = os.path.realpath(os.path.dirname(path))
            if _is_within(holder, target):
                self.refuse(shown, _FOLDER_LOOP)
            else:
                self.refuse(shown, _FOLDER_LINK)
        elif not stat.S_ISREG(mode):
            self.refuse(
                shown, f"points at {describe_kind(mode)}, not a regular file; {_PLAIN_FILES}"
            )
        else:
            self.files.append((path, shown))


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def load_definition_files(root: Path) -> LoadResult:
    """Load every definition file under `root`, and the project file at its top."""
    sources, problems = read_definition_files(root)
    result = LoadResult()
    result.problems.extend(problems)
    for source in sources:
        record_source(result, source)
    return result


def record_source(result: LoadResult, source: SourceBytes) -> str | None:
    """Decode one file's bytes and load its text into `result` (`record_definition`); the
    text, or None when it cannot be decoded (the located problem is in `result`)."""
    text, problems = decode_definition_bytes(source.raw, source.display)
    if text is None:
        result.problems.extend(problems)
        return None
    record_definition(result, text, source.display, is_project=source.is_project)
    return text


def read_definition_files(root: Path) -> tuple[list[SourceBytes], list[Problem]]:
    """The bytes of every definition file under `root` in walk order (`load_definition_files`
    reads the same files), and the problems of the walk and the reads."""
    files, problems = _walk(root)
    project_path = os.path.join(str(root), PROJECT_FILE)
    sources: list[SourceBytes] = []
    for path, display in files:
        raw, found = read_definition_bytes(path, display)
        if raw is None:
            problems.extend(found)
        else:
            sources.append(SourceBytes(display, raw, path == project_path))
    return sources, problems


def record_definition(
    result: LoadResult,
    text: str,
    display: str,
    *,
    is_project: bool,
) -> None:
    """Load one definition file's text into `result`: its documents, problems and warnings."""
    documents, problems = load_yaml_text(text, display)
    result.problems.extend(problems)
    if "${" in text:
        result.variable_paths.add(display)
    if is_project:
        if documents:
            result.project = documents[0]
        if len(documents) > 1:
            second = documents[1]
            message = "the project file holds one document only"
            result.problems.append(Problem(display, second.line, second.col, "", message))
        return
    if not problems and (is_blank_yaml(text) or all(d.data is None for d in documents)):
        result.warnings.append(
            Problem(display, 1, 1, "", "empty file: no definitions", severity="warning")
        )
        return
    result.documents.extend(d for d in documents if d.data is not None or len(documents) == 1)
