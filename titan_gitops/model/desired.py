"""The desired state: located documents, desired tasks, the desired state.

These are what `load` and `validate` hand on to the later stages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import Problem

if TYPE_CHECKING:
    from titan_gitops.spec import ProjectConfig, TemplateSpec


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was written: a file path as the user gave it, 1-based line and column."""

    path: str
    line: int
    col: int = 1

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One YAML document of one file, with the mappings and lists carrying their positions."""

    path: str
    index: int
    data: Any = field(repr=False)
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class DesiredTask:
    """A task as the API will receive it, plus the GitOps-only fields that steer the plan."""

    name: str
    # The body may hold substituted secrets, so it never appears in a repr.
    body: dict[str, Any] = field(repr=False, compare=True, hash=False)
    previous_names: tuple[str, ...] = ()
    ignore_fields: tuple[str, ...] = ()
    source: SourceLocation = SourceLocation("", 0)
    sensitive_paths: frozenset[str] = frozenset()
    extends: str | None = None


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything a definitions directory declares, validated and merged."""

    tasks: tuple[DesiredTask, ...]
    templates: Mapping[str, TemplateSpec] = field(repr=False, hash=False)
    project: ProjectConfig = field(repr=False, hash=False)
    warnings: tuple[Problem, ...] = ()
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    # The project file as the user's path names it; "" when the directory has none.
    project_path: str = ""
