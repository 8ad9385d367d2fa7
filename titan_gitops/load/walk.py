"""The directory walk of the load stage: which files are definitions, and what each one gave."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from titan_gitops.errors import Problem
from titan_gitops.load.caps import file_problem, read_definition_text
from titan_gitops.load.documents import load_yaml_text
from titan_gitops.model import SourceDocument

PROJECT_FILE = "titan-gitops.yaml"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadResult:
    """What loading a directory gave: documents per file, problems, warnings."""

    documents: list[SourceDocument] = field(default_factory=list)
    project: SourceDocument | None = None
    # Files whose text holds `${`: only their documents need variable substitution.
    variable_paths: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def is_blank_yaml(text: str) -> bool:
    """True for a file holding only whitespace, comments and document markers."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
            return False
    return True


def list_definition_files(root: Path) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Every visible `*.yaml`/`*.yml` under `root`, sorted, as (path, display path).

    Hidden files and directories are skipped; symlinks are followed only when they stay inside
    the root (a symlink leaving it is an error), and symlinked directories are not descended.
    """
    files: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    real_root = root.resolve()
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(current)
        for name in sorted(names):
            if name.startswith(".") or not name.endswith(YAML_SUFFIXES):
                continue
            path = here / name
            display = str(path)
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    problems.append(
                        file_problem(display, "symlink points outside the definitions directory")
                    )
                    continue
            if not path.is_file():
                continue
            files.append((path, display))
    return files, problems


def load_definition_files(root: Path) -> LoadResult:
    """Load every definition file under `root`, and the project file at its top."""
    result = LoadResult()
    files, problems = list_definition_files(root)
    result.problems.extend(problems)
    project_path = root / PROJECT_FILE
    for path, display in files:
        text, problems = read_definition_text(path, display)
        if text is None:
            result.problems.extend(problems)
            continue
        documents, problems = load_yaml_text(text, display)
        result.problems.extend(problems)
        if "${" in text:
            result.variable_paths.add(display)
        if path == project_path:
            if documents:
                result.project = documents[0]
            if len(documents) > 1:
                second = documents[1]
                message = "the project file holds one document only"
                result.problems.append(Problem(display, second.line, second.col, "", message))
            continue
        if not problems and (is_blank_yaml(text) or all(d.data is None for d in documents)):
            result.warnings.append(
                Problem(display, 1, 1, "", "empty file: no definitions", severity="warning")
            )
            continue
        result.documents.extend(d for d in documents if d.data is not None or len(documents) == 1)
    return result
