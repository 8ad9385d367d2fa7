"""Stage: loaded YAML documents → DesiredState, with every problem of every file found at once.

Order: per document (variables, `$file`, pydantic shape) → templates and `extends` → merged tasks
(rules, cron, URLs, JSON Schemas) → cross-file checks. Nothing here reads the network or walks
the directory: the pipeline loads the documents and passes in the reader `$file` references use.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import PROJECT_FILE, LoadResult
from titan_gitops.model import DesiredState
from titan_gitops.secrets import SecretSet
from titan_gitops.spec import TemplateSpec
from titan_gitops.validate.context import DiskTree, FileTree, ReadYaml, Run
from titan_gitops.validate.documents import project_defaults, read_definitions, read_project
from titan_gitops.validate.rules import check_names
from titan_gitops.validate.tasks import build_task
from titan_gitops.validate.templates import (
    Resolved,
    index_templates,
    merge_fields,
    resolve_template,
)


def validate_definitions(
    loaded: LoadResult,
    *,
    root: Path,
    environ: Mapping[str, str],
    read_yaml: ReadYaml,
    tree: FileTree | None = None,
) -> DesiredState:
    """Validate the definitions loaded from `root`; `read_yaml` reads `$file` references, which
    `tree` (the disk unless given, such as a base read from git) locates.

    Raises:
        ValidationFailed: with every problem found (load and validation), sorted by file and line.
    """
    run = Run(root, environ, read_yaml, tree=tree or DiskTree())
    run.problems.extend(loaded.problems)
    run.warnings.extend(loaded.warnings)
    project = read_project(run, loaded.project)
    defaults = project_defaults(loaded.project)
    task_defs, template_defs = read_definitions(run, loaded.documents, loaded.variable_paths)
    index = index_templates(run, template_defs)
    memo: dict[str, Resolved | None] = {}
    for name in index:
        resolve_template(run, name, index, memo)
    tasks = [build_task(run, task, index, memo, defaults) for task in task_defs]
    check_names(run, task_defs, project.namespace)
    secrets = frozenset(run.secrets)
    problems = _scrub(run.problems, secrets)
    warnings = _scrub(run.warnings, secrets)
    if problems:
        raise ValidationFailed(_unique(problems + warnings))
    templates = {
        name: definition.spec
        for name, definition in sorted(index.items())
        if isinstance(definition.spec, TemplateSpec)
    }
    return DesiredState(
        tasks=tuple(sorted((t for t in tasks if t is not None), key=lambda t: t.name)),
        templates=templates,
        project=project,
        warnings=tuple(sorted(set(warnings))),
        secrets=secrets,
        project_path=loaded.project.path if loaded.project is not None else "",
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems))


def _scrub(problems: list[Problem], secrets: frozenset[str]) -> list[Problem]:
    """Problems with every substituted value masked: jsonschema messages quote instances."""
    if not secrets:
        return problems
    masker = SecretSet.of(secrets)
    return [
        Problem(p.path, p.line, p.col, p.field, masker.mask(p.message), p.severity)
        for p in problems
    ]


__all__ = [
    "PROJECT_FILE",
    "DiskTree",
    "FileTree",
    "ReadYaml",
    "merge_fields",
    "validate_definitions",
]
