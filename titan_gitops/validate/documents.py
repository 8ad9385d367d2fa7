"""Loaded documents → the project config and task/template definitions (variables, $file, shape)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict
from titan_gitops.model import SourceDocument
from titan_gitops.spec import ProjectConfig, TaskFields, TaskSpec, TemplateSpec
from titan_gitops.validate.context import Definition, Run
from titan_gitops.validate.files import resolve_file_refs, schema_file_refs
from titan_gitops.validate.shape import check_shape
from titan_gitops.validate.traps import warn_yaml11_traps
from titan_gitops.validate.variables import substitute_variables


def read_project(run: Run, document: SourceDocument | None) -> ProjectConfig:
    """The project file's config (defaults substituted and shape-checked); empty when absent."""
    if document is None or document.data is None:
        return ProjectConfig()
    data = document.data
    if not isinstance(data, LineDict):
        run.add(data, (), "the project file must be a mapping", at=document)
        return ProjectConfig()
    defaults = data.get("defaults")
    if isinstance(defaults, LineDict):
        substitute_variables(run, data, defaults, ("defaults",))
        resolve_file_refs(run, defaults)
        warn_yaml11_traps(run, defaults, ("defaults",))
        check_shape(run, defaults, TaskFields, document, ("defaults",))
    warn_yaml11_traps(run, data, skip=frozenset(("defaults",)))
    project = check_shape(run, data, ProjectConfig, document)
    if isinstance(project, ProjectConfig):
        return project
    return ProjectConfig()


def project_defaults(document: SourceDocument | None) -> LineDict | None:
    """The project file's `defaults` mapping, if it has one."""
    if document is not None and isinstance(document.data, LineDict):
        found = document.data.get("defaults")
        return found if isinstance(found, LineDict) else None
    return None


def read_definitions(
    run: Run, documents: Sequence[SourceDocument], variable_paths: set[str]
) -> tuple[list[Definition], list[Definition]]:
    """(tasks, templates): every definition document substituted, resolved and shape-checked.

    Documents of files that a `$file` reference names are schemas and are skipped. Each
    file's own warnings are kept in `run.file_warnings`, and a file naming a `$file` in
    `run.referring`.
    """
    tasks: list[Definition] = []
    templates: list[Definition] = []
    skip = schema_file_refs(run, documents)
    for document in documents:
        if skip and run.tree.real_path(Path(document.path)) in skip:
            continue
        before = len(run.warnings)
        _read_definition(run, document, variable_paths, tasks, templates)
        run.file_warnings.setdefault(document.path, []).extend(run.warnings[before:])
    return tasks, templates


def _read_definition(
    run: Run,
    document: SourceDocument,
    variable_paths: set[str],
    tasks: list[Definition],
    templates: list[Definition],
) -> None:
    data = document.data
    if not isinstance(data, LineDict):
        message = "a definition document must be a mapping with kind: task or template"
        run.problems.append(Problem(document.path, document.line, document.col, "", message))
        return
    kind = data.get("kind")
    if kind not in ("task", "template"):
        if kind is None:
            message = "kind is required: task or template"
        else:
            message = f"kind must be task or template, not {kind!r}"
        run.add(data, ("kind",) if "kind" in data else (), message, at=document)
        return
    if document.path in variable_paths:
        substitute_variables(run, data, data)
    resolve_file_refs(run, data)
    warn_yaml11_traps(run, data)
    model: type[BaseModel] = TaskSpec if kind == "task" else TemplateSpec
    spec = check_shape(run, data, model, document)
    target = tasks if kind == "task" else templates
    target.append(Definition(document, data, spec))
