"""The base's tasks that need no second validation: those of task documents unchanged since.

A base read from git shares the parse of every file whose path and text did not change (and that
validation never changes in place: load/walk.py `is_shareable`). When, besides, the project file
is the same document and every document that changed on either side is a task (so no template,
no default and no `$file` target moved), a shared task document validates at the base exactly as
it did in the checkout: its task is taken from the checkout's state, and only the changed task
documents are validated, with the project and the templates around them. Anything else: None,
and the whole base is validated.
"""

from __future__ import annotations

from dataclasses import replace

from titan_gitops.load import LineDict, LoadResult
from titan_gitops.model import DesiredState, DesiredTask, SourceDocument


def _is_task(document: SourceDocument) -> bool:
    data = document.data
    return isinstance(data, LineDict) and data.get("kind") == "task"


def split_base(
    base: LoadResult, checkout: LoadResult, current: DesiredState
) -> tuple[dict[tuple[str, int], DesiredTask], LoadResult] | None:
    """The checkout's tasks of the base's unchanged task documents (by place), and the rest of
    the base to validate; None when the shortcut does not hold."""
    if base.project is not checkout.project:
        return None
    in_base = {id(d) for d in base.documents}
    in_checkout = {id(d) for d in checkout.documents}
    changed = [d for d in base.documents if id(d) not in in_checkout]
    changed += [d for d in checkout.documents if id(d) not in in_base]
    if not all(_is_task(d) for d in changed):
        return None
    built = {(t.source.path, t.source.line): t for t in current.tasks}
    kept: dict[tuple[str, int], DesiredTask] = {}
    rest: list[SourceDocument] = []
    for document in base.documents:
        task = built.get((document.path, document.line))
        if id(document) in in_checkout and _is_task(document):
            if task is None:
                return None  # a document the checkout refused: validate it all again
            kept[(document.path, document.line)] = task
        else:
            rest.append(document)
    return kept, replace(base, documents=rest)


def join_base(
    base: LoadResult, kept: dict[tuple[str, int], DesiredTask], validated: DesiredState
) -> DesiredState:
    """The base's state: its tasks in document order, the kept ones and the validated ones."""
    fresh = {(t.source.path, t.source.line): t for t in validated.tasks}
    tasks = [kept.get((d.path, d.line)) or fresh.get((d.path, d.line)) for d in base.documents]
    return replace(validated, tasks=tuple(t for t in tasks if t is not None))
