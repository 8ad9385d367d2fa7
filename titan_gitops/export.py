"""Stage: write live tasks out as definition files, so teams can adopt tasks that already exist.

One file per task under `tasks/`, a safe file name derived from the task name, keys in the order
of spec.MANAGED_FIELDS, schemas in block style, and a `titan-gitops.yaml` carrying the namespace.
Output is deterministic (exporting twice gives identical bytes) and a plan right after an export is
empty. Files that titan-gitops did not write are never overwritten without `force`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from titan_gitops.diff import normalise_task
from titan_gitops.errors import InputError
from titan_gitops.model import LiveTask
from titan_gitops.secrets import SecretSet
from titan_gitops.spec import MANAGED_FIELDS

MARKER = "# Written by titan-gitops export."
PROJECT_FILE = "titan-gitops.yaml"
_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_MAX_STEM = 80


@dataclass(frozen=True)
class ExportReport:
    """What export wrote and what it left alone."""

    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    tasks: int


def safe_stem(name: str) -> str:
    """A file-name stem for a task name: lower-case ASCII, dashes, never empty or hidden."""
    stem = _UNSAFE.sub("-", name.lower()).strip("-.")
    stem = re.sub(r"-{2,}", "-", stem)[:_MAX_STEM].strip("-.")
    return stem or "task"


def _file_names(names: Iterable[str]) -> dict[str, str]:
    """Map every task name to a unique file name; colliding stems get a short hash."""
    ordered = sorted(names)
    stems: dict[str, list[str]] = {}
    for name in ordered:
        stems.setdefault(safe_stem(name), []).append(name)
    out: dict[str, str] = {}
    for stem, group in stems.items():
        for name in group:
            if len(group) == 1:
                out[name] = f"{stem}.yaml"
            else:
                digest = hashlib.sha256(name.encode()).hexdigest()[:8]
                out[name] = f"{stem}-{digest}.yaml"
    return out


def _yaml_text(documents: dict[str, Any], header: str) -> str:
    from ruamel.yaml import YAML
    from ruamel.yaml.scalarstring import LiteralScalarString

    def literal_strings(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: literal_strings(v) for k, v in value.items()}
        if isinstance(value, list):
            return [literal_strings(v) for v in value]
        if (
            isinstance(value, str)
            and "\n" in value
            and not any(line != line.rstrip() for line in value.split("\n"))
        ):
            return LiteralScalarString(value)
        return value

    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(literal_strings(documents), buffer)
    return header + "\n" + buffer.getvalue()


def task_document(task: LiveTask) -> dict[str, Any]:
    """A live task as a definition document: `kind` first, then Titan's fields in order."""
    body = normalise_task(task.body)
    document: dict[str, Any] = {"kind": "task"}
    for key in MANAGED_FIELDS:
        if key in body:
            document[key] = body[key]
    return document


def _is_ours(path: Path) -> bool:
    try:
        with path.open("r", encoding="utf-8") as handle:
            return handle.readline().rstrip("\n") == MARKER
    except (OSError, UnicodeDecodeError):
        return False


def export_tasks(
    tasks: Iterable[LiveTask],
    out: Path,
    *,
    namespace: str | None = None,
    only: tuple[str, ...] = (),
    force: bool = False,
    secrets: SecretSet,
) -> ExportReport:
    """Write the selected live tasks under `out`, every secret masked.

    Raises:
        InputError: a file in the way was not written by titan-gitops (and `force` is off), or
            two live tasks share a name.
    """
    selected = [
        t
        for t in tasks
        if (namespace is None or t.name.startswith(namespace))
        and (not only or any(fnmatch.fnmatchcase(t.name, g) for g in only))
    ]
    seen: dict[str, str] = {}
    for task in selected:
        if task.name in seen:
            raise InputError(
                f"two live tasks are named '{task.name}' (ids {seen[task.name]}, {task.task_id}); "
                "titan-gitops identifies tasks by name: resolve that before exporting"
            )
        seen[task.name] = task.task_id
    files = _file_names(t.name for t in selected)
    planned: dict[Path, str] = {}
    for task in sorted(selected, key=lambda t: t.name):
        header = f"{MARKER}\n# Task '{task.name}' (id {task.task_id})."
        text = _yaml_text(task_document(task), header)
        planned[out / "tasks" / files[task.name]] = secrets.mask(text)
    project: dict[str, Any] = {"namespace": namespace} if namespace else {}
    planned[out / PROJECT_FILE] = _yaml_text(project, MARKER) if project else MARKER + "\n{}\n"

    blocked = [p for p in planned if p.exists() and not _is_ours(p)]
    if blocked and not force:
        raise InputError(
            "refusing to overwrite files that titan-gitops did not write (use --force): "
            + ", ".join(str(p) for p in sorted(blocked))
        )
    written: list[Path] = []
    unchanged: list[Path] = []
    for path, text in sorted(planned.items()):
        if path.exists() and path.read_text(encoding="utf-8") == text:
            unchanged.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return ExportReport(written=tuple(written), unchanged=tuple(unchanged), tasks=len(selected))
