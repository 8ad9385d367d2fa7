"""`{$file: path}` schema references: kept inside the root, read through the run's reader."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from titan_gitops.load import LineDict
from titan_gitops.model import SourceDocument
from titan_gitops.validate.context import Loc, Run

SCHEMA_FIELDS = ("output_schema", "payload_schema")


def file_ref(value: Any) -> Any:
    """The path of a `{$file: path}` mapping, or None for any other value."""
    if isinstance(value, dict) and set(value) == {"$file"}:
        return value["$file"]
    return None


def _schema_target(run: Run, ref: str) -> Path | None:
    if ref.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", ref) or ".." in Path(ref).parts:
        return None
    target = (run.root / ref).resolve()
    return target if target.is_relative_to(run.root.resolve()) else None


def resolve_file_refs(run: Run, data: LineDict) -> None:
    """Replace each schema field's `{$file: path}` with the file's content, in place."""
    for key in SCHEMA_FIELDS:
        ref = file_ref(data.get(key))
        if ref is None:
            continue
        loc: Loc = (key, "$file")
        if not isinstance(ref, str) or not ref:
            run.add(data, loc, "$file must be a relative path inside the definitions directory")
            continue
        target = _schema_target(run, ref)
        if target is None:
            run.add(data, loc, f"{ref!r} leaves the definitions directory; it must stay inside")
            continue
        if not target.is_file():
            run.add(data, loc, f"{ref!r} does not exist")
            continue
        if target not in run.schema_files:
            run.schema_files[target] = _load_schema_file(run, target, ref)
        content = run.schema_files[target]
        if content is None:
            run.add(data, loc, f"{ref!r} does not hold a JSON or YAML object")
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
    """Every file a `$file` reference names: such files are schemas, not definitions."""
    refs: set[Path] = set()
    for document in documents:
        if isinstance(document.data, dict):
            for key in SCHEMA_FIELDS:
                ref = file_ref(document.data.get(key))
                if isinstance(ref, str) and (target := _schema_target(run, ref)) is not None:
                    refs.add(target)
    return refs
