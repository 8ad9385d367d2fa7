"""Stage: loaded YAML documents → DesiredState, with every problem of every file found at once.

Order: per document (variables, `$file`, pydantic shape) → templates and `extends` → merged tasks
(rules, cron, URLs, JSON Schemas) → cross-file checks. Nothing here reads the network or walks
the directory: the pipeline loads the documents and passes in the reader `$file` references use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import PROJECT_FILE, LoadResult
from titan_gitops.model import DesiredState, DesiredTask
from titan_gitops.secrets import SecretSet
from titan_gitops.spec import TemplateSpec
from titan_gitops.validate.context import Definition, DiskTree, FileTree, ReadYaml, Run
from titan_gitops.validate.documents import project_defaults, read_definitions, read_project
from titan_gitops.validate.reuse import FileResult, name_stub, stub_definition
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
    return _validate(run, loaded, (), {})[0]


# What `validate_files` gives: the state, the result of every file whose definitions are all
# tasks, and the files (any kind, the project too) whose documents name a `$file` as parsed.
Validated = tuple[DesiredState, dict[str, FileResult], frozenset[str]]


def validate_files(
    loaded: LoadResult,
    reused: Sequence[FileResult],
    file_order: Mapping[str, int],
    *,
    root: Path,
    environ: Mapping[str, str],
    read_yaml: ReadYaml,
    tree: FileTree | None = None,
) -> Validated:
    """`validate_definitions`, with the files of `reused` standing in for files not loaded; and
    the result of every loaded file whose definitions are all tasks, and the files whose
    documents name a `$file` (however the key is spelled). Task definitions are taken in
    `file_order` (path -> place in the walk), loaded and reused alike, as a whole load would
    take them.

    Raises:
        ValidationFailed: with every problem found, as `validate_definitions` reports them.
    """
    run = Run(root, environ, read_yaml, tree=tree or DiskTree())
    return _validate(run, loaded, reused, file_order)


def _validate(
    run: Run, loaded: LoadResult, reused: Sequence[FileResult], file_order: Mapping[str, int]
) -> Validated:
    run.problems.extend(loaded.problems)
    run.warnings.extend(loaded.warnings)
    project = read_project(run, loaded.project)
    defaults = project_defaults(loaded.project)
    task_defs, template_defs = read_definitions(run, loaded.documents, loaded.variable_paths)
    index = index_templates(run, template_defs)
    memo: dict[str, Resolved | None] = {}
    for name in index:
        resolve_template(run, name, index, memo)
    built = [build_task(run, task, index, memo, defaults) for task in task_defs]
    stubs = [stub_definition(f.path, stub) for f in reused for stub in f.names]
    every = task_defs + stubs
    if stubs:
        every.sort(key=lambda d: (file_order[d.document.path], d.document.index))
    check_names(run, every, project.namespace)
    secrets = frozenset(run.secrets)
    problems = _scrub(run.problems, secrets)
    warnings = _scrub(run.warnings, secrets)
    for file in reused:
        warnings.extend(file.warnings)
    if problems:
        raise ValidationFailed(_unique(problems + warnings))
    templates = {
        name: definition.spec
        for name, definition in sorted(index.items())
        if isinstance(definition.spec, TemplateSpec)
    }
    tasks = [t for t in built if t is not None] + [t for f in reused for t in f.tasks]
    state = DesiredState(
        tasks=tuple(sorted(tasks, key=lambda t: t.name)),
        templates=templates,
        project=project,
        warnings=tuple(sorted(set(warnings))),
        secrets=secrets,
        project_path=loaded.project.path if loaded.project is not None else "",
    )
    referring = frozenset(run.referring)
    return state, _file_results(run, task_defs, built, template_defs), referring


def _file_results(
    run: Run,
    task_defs: Sequence[Definition],
    built: Sequence[DesiredTask | None],
    template_defs: Sequence[Definition],
) -> dict[str, FileResult]:
    """The result of every file whose definitions are all tasks, from a run with no problem (so
    every task was built)."""
    by_file: dict[str, list[tuple[Definition, DesiredTask]]] = {}
    for definition, task in zip(task_defs, built, strict=True):
        if task is not None:
            by_file.setdefault(definition.document.path, []).append((definition, task))
    with_templates = {d.document.path for d in template_defs}
    return {
        path: FileResult(
            path=path,
            tasks=tuple(task for _, task in pairs),
            names=tuple(name_stub(definition) for definition, _ in pairs),
            warnings=tuple(run.file_warnings.get(path, ())),
        )
        for path, pairs in by_file.items()
        if path not in with_templates
    }


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
    "FileResult",
    "FileTree",
    "ReadYaml",
    "merge_fields",
    "validate_definitions",
    "validate_files",
]
