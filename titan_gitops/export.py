"""Stage: write live tasks out as definition files, so teams can adopt tasks that already exist.

One file per task under `tasks/`, keys in the order of spec.MANAGED_FIELDS, schemas in block
style, and a `titan-gitops.yaml` carrying the namespace. Output is deterministic (exporting twice
gives identical bytes) and a plan right after an export is empty. Files that titan-gitops did not
write are never overwritten without `force`.

Nothing the live service sends is trusted: a task whose name a definition could not hold
(control, invisible or bidirectional characters, a secret, too long) is reported, not written;
every value goes through ruamel's emitter and each file must read back, variables substituted,
as exactly the document Titan holds; header comments carry only escaped text. A string equal to
(or holding) a `TITAN_VAR_` value is written with its `${TITAN_VAR_NAME}` placeholder and a
literal `${` as `$${`; a secret no placeholder can stand for is never written: the task is
refused. File names cannot collide by construction.
Every file goes through the safe writer, and a marker at the root of the target says an export
is under way until its last file is in place (the loader refuses a folder holding it).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from titan_gitops.atomic import make_directory, remove_file, sync_folder, write_text_atomic
from titan_gitops.diff import normalise_task
from titan_gitops.errors import ConfigError, InputError, list_names
from titan_gitops.escape import UNSAFE, UNSAFE_IN_TEXT, escape_terminal
from titan_gitops.load import INCOMPLETE_EXPORT_MARKER
from titan_gitops.model import LiveTask
from titan_gitops.secrets import SecretSet
from titan_gitops.spec import MANAGED_FIELDS
from titan_gitops.validate.files import SCHEMA_FIELDS, file_ref
from titan_gitops.validate.placeholders import (
    AmbiguousValue,
    Placeholders,
    escape_placeholders,
    reads_back_as,
    with_placeholders,
)
from titan_gitops.validate.rules import MAX_NAME
from titan_gitops.yamledit.writer import dump_text

MARKER = "# Written by titan-gitops export."
PROJECT_FILE = "titan-gitops.yaml"
TASKS_FOLDER = "tasks"
# Present at the root of the target while an export writes into it. The loader refuses a folder
# holding it, so a set of files cut short by a crash or Ctrl-C never validates as complete.
INCOMPLETE_MARKER = INCOMPLETE_EXPORT_MARKER
_MARKER_TEXT = (
    "An export into this folder did not finish: run titan-gitops export again, "
    "or delete this file once you have checked the folder.\n"
)
# The free text validate checks character by character besides the name (validate/rules.py).
TEXT_FIELDS = ("objective",)
# A name that is its own file name; every other name gets a stem, "_" and a hash. A plain name
# never holds "_", so the two kinds of file name can never meet.
_PLAIN = re.compile(r"[a-z0-9][a-z0-9.-]{0,79}")
_UNSAFE_STEM = re.compile(r"[^a-z0-9.-]+")
_MAX_STEM = 80
_HASH_CHARS = 16


@dataclass(frozen=True)
class RefusedTask:
    """A live task export did not write, and why (its name already escaped for display)."""

    name: str
    task_id: str
    reason: str

    def __str__(self) -> str:
        return f"the live task '{self.name}' (id {self.task_id}) {self.reason}"


@dataclass(frozen=True)
class ExportReport:
    """What export wrote, what it left alone and which tasks it refused."""

    written: tuple[Path, ...]
    unchanged: tuple[Path, ...]
    tasks: int
    refused: tuple[RefusedTask, ...] = ()


def visible(text: str) -> str:
    """`text` with every control, invisible and bidirectional character shown as an escape, and
    the two noncharacters YAML's reader refuses anywhere in a file (U+FFFE, U+FFFF) too: this
    text goes into header comments."""
    return escape_terminal(text).replace("\ufffe", "<U+FFFE>").replace("\uffff", "<U+FFFF>")


def shown(text: str, limit: int = 200) -> str:
    """`text` escaped by `visible` and cut to `limit` characters with a visible marker."""
    escaped = visible(text)
    if len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit]}… (cut; {len(text)} characters in all)"


def safe_stem(name: str) -> str:
    """A file-name stem for a task name: lower-case ASCII, dashes, never empty or hidden."""
    stem = _UNSAFE_STEM.sub("-", name.lower()).strip("-.")
    stem = re.sub(r"-{2,}", "-", stem)[:_MAX_STEM].strip("-.")
    return stem or "task"


def file_name(name: str) -> str:
    """The file of a task: `<name>.yaml` for a plain name, else `<stem>_<hash of the name>.yaml`."""
    if _PLAIN.fullmatch(name):
        return f"{name}.yaml"
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{safe_stem(name)}_{digest}.yaml"


def _file_names(tasks: Iterable[LiveTask]) -> dict[str, str]:
    """Map every task name to its file name.

    Raises:
        InputError: two tasks would share a file (a hash collision); neither is dropped silently.
    """
    owners: dict[str, LiveTask] = {}
    out: dict[str, str] = {}
    for task in sorted(tasks, key=lambda t: t.name):
        name = file_name(task.name)
        if name in owners:
            other = owners[name]
            raise InputError(
                f"the live tasks '{visible(other.name)}' (id {visible(other.task_id)}) and "
                f"'{visible(task.name)}' (id {visible(task.task_id)}) would both be written to "
                f"{TASKS_FOLDER}/{name}; rename one of them in Titan, then export again"
            )
        owners[name] = task
        out[task.name] = name
    return out


def name_problem(name: str, secrets: SecretSet) -> str | None:
    """Why a definition could not hold this live name, or None when it can."""
    found = UNSAFE.search(name)
    if found:
        return (
            f"holds the character U+{ord(found.group()):04X} in its name, which a definition "
            "cannot hold; rename it in Titan, then export again"
        )
    if len(name) > MAX_NAME:
        return (
            f"has a name {len(name)} characters long; a definition's limit is {MAX_NAME}: "
            "rename it in Titan, then export again"
        )
    if secrets.mask(name) != name:
        return "holds a secret value in its name; rename it in Titan, then export again"
    return None


def text_problem(body: dict[str, Any]) -> str | None:
    """Why a definition could not hold this live task's text fields, or None when it can."""
    for key in TEXT_FIELDS:
        value = body.get(key)
        found = UNSAFE_IN_TEXT.search(value) if isinstance(value, str) else None
        if found:
            return (
                f"holds the character U+{ord(found.group()):04X} in its {key}, which a "
                "definition cannot hold; edit it in Titan, then export again"
            )
    for key in SCHEMA_FIELDS:
        if file_ref(body.get(key)) is not None:
            # Written back, it would be read as a reference to a schema file, not as this value.
            return (
                f"has an {key} that is exactly {{$file: …}}, which a definition reads as a "
                "reference to a schema file; edit it in Titan, then export again"
            )
    return None


def _yaml_text(document: dict[str, Any], header: str) -> str:
    return header + "\n" + dump_text(document)


def task_document(task: LiveTask) -> dict[str, Any]:
    """A live task as a definition document: `kind` first, then Titan's fields in order."""
    body = normalise_task(task.body)
    document: dict[str, Any] = {"kind": "task"}
    for key in MANAGED_FIELDS:
        if key in body:
            document[key] = body[key]
    return document


def task_text(
    task: LiveTask, secrets: SecretSet, placeholders: Placeholders | None = None
) -> str | None:
    """The file of one task, variables' values as placeholders; None when it would not read
    back as written.

    Raises:
        AmbiguousValue: a value in the task is held by two variables or more.
    """
    table = placeholders or Placeholders.of({})
    document = task_document(task)
    # The name is the task's identity and the file's: always literal, never a placeholder.
    written = {
        k: escape_placeholders(v) if k == "name" else with_placeholders(v, table)
        for k, v in document.items()
    }
    header = f"{MARKER}\n# Task '{visible(task.name)}' (id {visible(task.task_id)})."
    text = _yaml_text(written, header)
    variables = {name: value for value, names in table.names.items() for name in names}
    return text if reads_back_as(text, document, variables) else None


def _select(
    tasks: Iterable[LiveTask], namespace: str | None, only: tuple[str, ...]
) -> list[LiveTask]:
    """The tasks to export, checked for shared names.

    Raises:
        InputError: two live tasks share a name.
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
                f"two live tasks are named '{visible(task.name)}' (ids {visible(seen[task.name])}, "
                f"{visible(task.task_id)}); titan-gitops identifies tasks by name: resolve that "
                "before exporting"
            )
        seen[task.name] = task.task_id
    return sorted(selected, key=lambda t: t.name)


def _task_file(
    task: LiveTask, secrets: SecretSet, placeholders: Placeholders
) -> tuple[str | None, str | None]:
    """The file of one task, or None and why a definition cannot hold it (no secret shown)."""
    try:
        text = task_text(task, secrets, placeholders)
    except AmbiguousValue as exc:
        return None, (
            f"holds a value that {' and '.join(exc.names)} both hold, so no one placeholder "
            "stands for it; give the variables different values (or unset one), then export again"
        )
    if text is not None and secrets.find_leak(text) is not None:
        return None, (
            "holds a secret value that no ${TITAN_VAR_…} placeholder can stand for (the token, "
            "an encoded form, a mapping key, or a value right after a '$'); edit it in Titan or "
            "set the variable it came from, then export again"
        )
    return text, None


def adoptable_file(
    task: LiveTask, secrets: SecretSet, placeholders: Placeholders
) -> tuple[str | None, str | None, str | None]:
    """One live task as export writes it: (file name under `tasks/`, text, None), or
    (None, None, why a definition cannot hold it)."""
    problem = name_problem(task.name, secrets) or text_problem(task.body)
    if problem:
        return None, None, problem
    text, problem = _task_file(task, secrets, placeholders)
    if text is None:
        return None, None, problem or "would not read back from YAML exactly as Titan holds it"
    return file_name(task.name), text, None


def _plan_files(
    selected: list[LiveTask],
    out: Path,
    namespace: str | None,
    secrets: SecretSet,
    placeholders: Placeholders,
) -> tuple[dict[Path, str], list[RefusedTask]]:
    """Every file to write, and the tasks refused."""
    refused: list[RefusedTask] = []
    accepted: list[tuple[LiveTask, str]] = []
    for task in selected:
        _, text, problem = adoptable_file(task, secrets, placeholders)
        if text is None:
            refused.append(RefusedTask(shown(task.name), shown(task.task_id), problem or ""))
            continue
        accepted.append((task, text))
    files = _file_names(task for task, _ in accepted)
    planned = {out / TASKS_FOLDER / files[task.name]: text for task, text in accepted}
    project: dict[str, Any] = {"namespace": namespace} if namespace else {}
    planned[out / PROJECT_FILE] = _yaml_text(project, MARKER) if project else MARKER + "\n{}\n"
    return planned, refused


def _regular_text(path: Path) -> str | None:
    """The text of the regular file at `path` (never through a link, never a FIFO, never one
    larger than the loader reads), or None."""
    from titan_gitops.load import MAX_FILE_BYTES

    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _is_ours(path: Path) -> bool:
    text = _regular_text(path)
    return text is not None and text.split("\n", 1)[0] == MARKER


def _check_targets(out: Path, planned: dict[Path, str], force: bool) -> None:
    """Refuse a linked tasks folder always, and files we did not write unless `force`.

    Raises:
        ConfigError: `tasks` under the target is a symbolic link (writing there would land
            wherever it points).
        InputError: files in the way were not written by titan-gitops.
    """
    tasks = out / TASKS_FOLDER
    if tasks.is_symlink():
        raise ConfigError(
            f"refusing to export into {tasks}: it is a symbolic link, and the files would land "
            "wherever it points; make it a real folder"
        )
    blocked = [p for p in planned if os.path.lexists(p) and not _is_ours(p)]
    if blocked and not force:
        raise InputError(
            "refusing to overwrite files that titan-gitops did not write (use --force): "
            + list_names([str(p) for p in sorted(blocked)])
        )


def _write_files(out: Path, planned: dict[Path, str]) -> tuple[list[Path], list[Path]]:
    """Write what changed between the marker's creation and its removal."""
    pending = {p: t for p, t in sorted(planned.items()) if _regular_text(p) != t}
    marker = out / INCOMPLETE_MARKER
    had_marker = os.path.lexists(marker)
    if not pending:
        if had_marker:
            remove_file(marker)  # every file is already as it should be
        return [], sorted(planned)
    make_directory(out)
    written: list[Path] = []
    try:
        write_text_atomic(marker, _MARKER_TEXT)
        make_directory(out / TASKS_FOLDER)
        for path, text in pending.items():
            write_text_atomic(path, text, durable=False)
            written.append(path)
        # Every rename is durable before the marker goes, so a crash never leaves a folder
        # that looks complete but is not.
        sync_folder(out / TASKS_FOLDER)
        sync_folder(out)
    except BaseException as exc:
        if not written and not had_marker:
            remove_file(marker)  # nothing changed: the folder is as it was
        elif isinstance(exc, ConfigError):
            raise ConfigError(
                f"{exc}; the export into {out} is incomplete, and {marker} makes validate "
                "refuse the folder until export runs again"
            ) from None
        raise
    remove_file(marker)
    return written, [p for p in sorted(planned) if p not in pending]


def export_tasks(
    tasks: Iterable[LiveTask],
    out: Path,
    *,
    namespace: str | None = None,
    only: tuple[str, ...] = (),
    force: bool = False,
    secrets: SecretSet,
    variables: Mapping[str, str] | None = None,
) -> ExportReport:
    """Write the selected live tasks under `out`; refuse unsafe ones.

    A string equal to (or holding) a `TITAN_VAR_*` value of `variables` is written as its
    placeholder. A task a definition cannot hold (its name, its text, a secret no placeholder
    stands for, a value two variables share) is reported in `refused`, not written.

    Raises:
        InputError: a file in the way was not written by titan-gitops (and `force` is off), two
            live tasks share a name, or two would share a file.
        ConfigError: the target cannot be written (the message names the path); when some
            files were written already, the incomplete-export marker stays.
    """
    selected = _select(tasks, namespace, only)
    placeholders = Placeholders.of(variables or {})
    planned, refused = _plan_files(selected, out, namespace, secrets, placeholders)
    if os.path.lexists(out) and not out.is_dir():
        raise ConfigError(f"cannot export into {out}: it is not a folder; give a folder")
    _check_targets(out, planned, force)
    written, unchanged = _write_files(out, planned)
    return ExportReport(
        written=tuple(written),
        unchanged=tuple(unchanged),
        tasks=len(selected) - len(refused),
        refused=tuple(refused),
    )
