"""`{$file: path}` schema references: kept inside the root, read through the run's reader."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from titan_gitops.load import LineDict
from titan_gitops.load.paths import name_problem, show_name
from titan_gitops.model import SourceDocument
from titan_gitops.validate.context import Loc, Run

SCHEMA_FIELDS = ("output_schema", "payload_schema")
# Far past any real schema path, well short of where the OS refuses one.
MAX_REF_LENGTH = 1024


def file_ref(value: Any) -> Any:
    """The path of a `{$file: path}` mapping, or None for any other value."""
    if isinstance(value, dict) and set(value) == {"$file"}:
        return value["$file"]
    return None


def _check_ref(run: Run, ref: str) -> tuple[Path | None, str]:
    """The file a `$file` path names inside the root, or None and why it cannot be used."""
    if name_problem(ref) is not None:
        message = "the path holds a control character; write a plain relative path"
        return None, f"{message} ('{show_name(ref)}')"
    shown = repr(ref)
    if len(ref) > MAX_REF_LENGTH:
        return None, f"the path is {len(ref)} characters long; the limit is {MAX_REF_LENGTH}"
    if ref.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", ref) or ".." in Path(ref).parts:
        return None, f"{shown} leaves the definitions directory; it must stay inside"
    # The tree's real_path never raises on a symlink loop; the loop is reported below, where
    # the target is read.
    target = run.tree.real_path(run.root / ref)
    if not target.is_relative_to(run.tree.real_path(run.root)):
        return None, f"{shown} leaves the definitions directory; it must stay inside"
    problem = run.tree.file_problem(target)
    if problem is not None:
        return None, f"{shown} {problem}"
    return target, ""


def _schema_target(run: Run, ref: str) -> Path | None:
    return _check_ref(run, ref)[0]


def resolve_file_refs(run: Run, data: LineDict) -> None:
    """Replace each schema field's `{$file: path}` with the file's content, in place; the file
    `data` comes from is noted as one naming a `$file` (`run.referring`)."""
    for key in SCHEMA_FIELDS:
        ref = file_ref(data.get(key))
        if ref is None:
            continue
        if isinstance(ref, str):
            run.referring.add(data.src)
        loc: Loc = (key, "$file")
        if not isinstance(ref, str) or not ref:
            run.add(data, loc, "$file must be a relative path inside the definitions directory")
            continue
        target, problem = _check_ref(run, ref)
        if target is None:
            run.add(data, loc, problem)
            continue
        if target not in run.schema_files:
            run.schema_files[target] = _load_schema_file(run, target, ref)
        content = run.schema_files[target]
        if content is None:
            run.add(data, loc, f"{ref!r} does not hold a JSON or YAML object")
            continue
        if _is_definition(content):
            # Taken as a schema, the file's own definition would vanish and its task be deleted.
            kind = content["kind"]
            run.add(data, loc, f"{ref!r} holds a definition (kind: {kind}), not a schema")
            continue
        data[key] = content


def _load_schema_file(run: Run, target: Path, ref: str) -> Any:
    display = str(run.root / ref)
    documents, problems = run.read_yaml(target, display)
    run.problems.extend(problems)
    if problems or len(documents) != 1 or not isinstance(documents[0].data, LineDict):
        return None
    return documents[0].data


def schema_file_refs(run: Run, documents: Sequence[SourceDocument]) -> set[Path]:
    """Every file a `$file` reference names (or `defaults` did): schemas, not definitions. (A
    file reused from an earlier run names none, and its documents are not here to skip.)

    A file holding a definition stays a definition file even when named (the reference is
    refused instead): otherwise one `$file` line could make another file's tasks vanish.
    """
    refs: set[Path] = set()
    defining: list[str] = []
    for document in documents:
        if isinstance(document.data, dict):
            if _is_definition(document.data):
                defining.append(document.path)
            for key in SCHEMA_FIELDS:
                ref = file_ref(document.data.get(key))
                if isinstance(ref, str) and (target := _schema_target(run, ref)) is not None:
                    refs.add(target)
    # The files the project's `defaults` named, read before any definition.
    refs.update(run.schema_files)
    if not refs:
        return refs  # nothing is named: no definition file needs its real path
    return refs - {run.tree.real_path(Path(path)) for path in defining}


def _is_definition(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") in ("task", "template")
