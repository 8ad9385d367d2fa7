"""One task definition → DesiredTask: template and defaults merged in, rules checked, body built."""

from __future__ import annotations

from collections.abc import Mapping

from titan_gitops.load import LineDict
from titan_gitops.model import DesiredTask, SourceLocation
from titan_gitops.spec import TASK_FIELD_NAMES, TaskSpec
from titan_gitops.validate.body import build_body
from titan_gitops.validate.context import Definition, Run
from titan_gitops.validate.rules import check_task
from titan_gitops.validate.templates import (
    Resolved,
    merge_fields,
    only_task_fields,
    report_unknown_template,
    resolve_template,
)


def build_task(
    run: Run,
    task: Definition,
    index: Mapping[str, Definition],
    memo: dict[str, Resolved | None],
    defaults: LineDict | None,
) -> DesiredTask | None:
    """The desired task, or None when it (or a template it extends) has a problem."""
    data = task.data
    merged = data
    owners: list[tuple[LineDict, str]] = []
    parent_name = data.get("extends")
    if isinstance(parent_name, str):
        if parent_name not in index:
            report_unknown_template(run, data, parent_name, index)
            return None
        resolved = resolve_template(run, parent_name, index, memo)
        if resolved is None:
            return None
        merged = merge_fields(only_task_fields(resolved[0]), data)
        owners = resolved[1]
    if defaults is not None:
        merged = merge_fields(defaults, merged, TASK_FIELD_NAMES)
    before = len(run.problems)
    check_task(run, merged, owners)
    spec = task.spec
    if not isinstance(spec, TaskSpec) or len(run.problems) > before:
        return None
    body, sensitive = build_body(merged, run.substituted)
    source = SourceLocation(task.document.path, task.document.line, task.document.col)
    return DesiredTask(
        name=spec.name,
        body=body,
        previous_names=tuple(spec.previous_names),
        ignore_fields=tuple(spec.ignore_fields),
        source=source,
        sensitive_paths=sensitive,
        extends=spec.extends,
    )
