"""Stage: keep edits made in Titan by writing them into the definition files, in place.

From a three-way attribution (threeway.py), each live edit (and, when asked, each conflict) is
written into the file that defines its task: only the changed top-level keys, every other byte as
it was (yamledit.py). A value that came from a template or the project's defaults is written as an
override in the task's own document. Nothing is written that would be less safe than leaving it:

- a key whose value holds a `${TITAN_VAR_…}` placeholder is never overwritten (the live value may
  be the secret); a live value equal to a variable's value is written as its placeholder;
- a `$file` schema is never replaced inline (the file may be shared): it is reported;
- a task created in Titan (inside the namespace) gets a new file as `export` writes it; a task
  deleted in Titan loses its definition only when asked;
- the edited directory is validated in memory and the adopted fields compared with Titan before
  any file is written: if it would not validate or not match, nothing is written.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from titan_gitops.diff import normalise_task
from titan_gitops.errors import CannotEdit, TitanGitopsError
from titan_gitops.export import TASKS_FOLDER, adoptable_file
from titan_gitops.load import LineDict, load_yaml_text
from titan_gitops.model import DesiredState, DesiredTask, LiveTask, TaskAttribution, ThreeWay
from titan_gitops.secrets import SecretSet
from titan_gitops.spec import MANAGED_FIELDS
from titan_gitops.validate.files import SCHEMA_FIELDS, file_ref
from titan_gitops.validate.placeholders import (
    AmbiguousValue,
    Placeholders,
    escape_placeholders,
    with_placeholders,
)
from titan_gitops.yamledit import REMOVE, edit_task, remove_task


class AdoptError(TitanGitopsError):
    """The adopted definitions would not validate, or would not match Titan: nothing written."""


@dataclass(frozen=True)
class AdoptOptions:
    """What to adopt beyond live edits."""

    include_conflicts: bool = False
    include_deletes: bool = False


@dataclass(frozen=True, slots=True)
class Adopted:
    """One task whose Titan edits are written into git."""

    name: str
    path: str
    fields: tuple[str, ...] = ()
    # How: "edited", "created" (a new file), "removed" (its definition deleted).
    how: str = "edited"
    # Fields written as overrides in the task's own file, with where they came from.
    overrides: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class NotAdopted:
    """A task (or one field of it) left as it is, and why."""

    name: str
    reason: str
    field: str | None = None


@dataclass(frozen=True)
class FileEdit:
    """One file's text before and after ("" before: a new file; "" after: removed)."""

    path: Path
    before: str
    after: str

    def unified_diff(self) -> str:
        """The change as a unified diff, paths as the user's path names them."""
        shown = str(self.path)
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile="/dev/null" if not self.before else f"a/{shown}",
            tofile="/dev/null" if not self.after else f"b/{shown}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class AdoptReport:
    """What adopt writes (or would write), what it adopts and what it leaves."""

    threeway: ThreeWay
    edits: tuple[FileEdit, ...] = ()
    adopted: tuple[Adopted, ...] = ()
    not_adopted: tuple[NotAdopted, ...] = ()


@dataclass
class _Plan:
    """The adoption being put together: file texts by path, and what was decided."""

    root: Path
    texts: dict[Path, str] = field(default_factory=dict)
    originals: dict[Path, str] = field(default_factory=dict)
    adopted: list[Adopted] = field(default_factory=list)
    skipped: list[NotAdopted] = field(default_factory=list)

    def text(self, path: Path) -> str:
        """The file's text as it is: a byte order mark and `\r\n` line ends kept (the edit
        keeps them, and the file is written back byte for byte)."""
        if path not in self.texts:
            raw = path.read_bytes().decode("utf-8") if path.exists() else ""
            self.originals[path] = raw
            self.texts[path] = raw
        return self.texts[path]

    def edits(self) -> tuple[FileEdit, ...]:
        return tuple(
            FileEdit(path, self.originals[path], self.texts[path])
            for path in sorted(self.texts)
            if self.texts[path] != self.originals[path]
        )


def plan_adoption(
    root: Path,
    threeway: ThreeWay,
    desired: DesiredState,
    live: Sequence[LiveTask],
    options: AdoptOptions,
    *,
    secrets: SecretSet,
    variables: Mapping[str, str],
) -> AdoptReport:
    """The file edits that keep the Titan side of `threeway` (live edits; conflicts and
    deletions when `options` say so), and what is left out and why. Reads files, writes none."""
    plan = _Plan(root)
    tasks = {t.name: t for t in desired.tasks}
    live_by_name = {t.name: t for t in live}
    placeholders = Placeholders.of(variables)
    for task in threeway.tasks:
        _adopt_task(plan, task, tasks, live_by_name, desired, options, secrets, placeholders)
    return AdoptReport(threeway, plan.edits(), tuple(plan.adopted), tuple(plan.skipped))


def _adopt_task(
    plan: _Plan,
    task: TaskAttribution,
    tasks: Mapping[str, DesiredTask],
    live: Mapping[str, LiveTask],
    desired: DesiredState,
    options: AdoptOptions,
    secrets: SecretSet,
    placeholders: Placeholders,
) -> None:
    """Decide and stage one attributed task."""
    story = task.story
    if story in ("created_in_titan", "removed_in_git_edited_in_titan"):
        if story == "removed_in_git_edited_in_titan" and not options.include_conflicts:
            plan.skipped.append(NotAdopted(task.name, _CONFLICT_HINT_REMOVED))
            return
        found = live.get(task.previous_name or task.name)
        _write_new_file(plan, task, found, secrets, placeholders, desired.project.defaults)
        return
    if story in ("deleted_in_titan", "deleted_in_titan_changed_in_git"):
        _remove_definition(plan, task, tasks.get(task.name), options)
        return
    definition = tasks.get(task.name)
    if definition is None:
        return
    wanted = [
        f
        for f in task.fields
        if f.attribution == "live_edit"
        or (f.attribution == "conflict" and options.include_conflicts)
    ]
    for f in task.fields:
        if f.attribution == "conflict" and not options.include_conflicts:
            plan.skipped.append(NotAdopted(task.name, _CONFLICT_HINT, f.field))
    if wanted:
        _edit_fields(plan, task, definition, wanted, desired, secrets, placeholders)


def _linked(plan: _Plan, name: str, path: Path) -> bool:
    """A definition file adopt must not rewrite is left, and said: a symlink (written, it would
    become a copy of its target) or a read-only file (someone made it so on purpose)."""
    reason = ""
    if path.is_symlink():
        reason = f"{path} is a symlink; edit the file it points to by hand"
    elif path.exists() and not path.stat().st_mode & 0o222:
        reason = f"{path} is read-only; make it writable, or edit it by hand"
    if reason:
        plan.skipped.append(NotAdopted(name, reason))
    return bool(reason)


_CONFLICT_HINT = (
    "changed in git and in Titan to different values; pass --include-conflicts to take Titan's"
)
_CONFLICT_HINT_REMOVED = (
    "removed in git and edited in Titan; pass --include-conflicts to write it back from Titan"
)


def _own_document(text: str, display: str, name: str) -> LineDict | None:
    """The `kind: task` document named `name` in a file's text, as the loader reads it."""
    documents, _ = load_yaml_text(text.removeprefix("\ufeff"), display)
    for document in documents:
        data = document.data
        if isinstance(data, LineDict) and data.get("kind") == "task" and data.get("name") == name:
            return data
    return None


def _edit_fields(
    plan: _Plan,
    task: TaskAttribution,
    definition: DesiredTask,
    wanted: Sequence[Any],
    desired: DesiredState,
    secrets: SecretSet,
    placeholders: Placeholders,
) -> None:
    """Write the live value of each wanted field into the task's own document."""
    path = Path(definition.source.path)
    if _linked(plan, task.name, path):
        return
    text = plan.text(path)
    own = _own_document(text, str(path), definition.name)
    if own is None:
        plan.skipped.append(NotAdopted(task.name, f"its document was not found in {path}"))
        return
    changes: dict[str, Any] = {}
    overrides: list[tuple[str, str]] = []
    for f in wanted:
        reason = _why_not(f.field, own, definition)
        if reason:
            plan.skipped.append(NotAdopted(task.name, reason, f.field))
            continue
        origin = "" if f.field in own else _origin(f.field, definition, desired)
        if origin and f.live is None:
            reason = f"comes from {origin} and was unset in Titan; unset it by hand"
            plan.skipped.append(NotAdopted(task.name, reason, f.field))
            continue
        if origin:
            overrides.append((f.field, origin))
        value = REMOVE if f.live is None else _as_written(f.field, f.live, placeholders)
        if value is None:
            reason = "holds a value two TITAN_VAR_ variables share; set it by hand"
            plan.skipped.append(NotAdopted(task.name, reason, f.field))
            continue
        changes[f.field] = value
    if not changes:
        return
    try:
        after = edit_task(text, display=str(path), name=definition.name, changes=changes)
    except CannotEdit as exc:
        plan.skipped.append(NotAdopted(task.name, str(exc)))
        return
    # The values themselves, not only the file: a file that already held a form of some secret
    # (a variable's value in a URL) must not let the token through.
    leaks = any(secrets.find_leak(s) for s in _strings([*changes, *changes.values()]))
    if leaks or (secrets.find_leak(after) is not None and secrets.find_leak(text) is None):
        reason = "its live value holds a secret no ${TITAN_VAR_…} placeholder stands for"
        plan.skipped.append(NotAdopted(task.name, reason))
        return
    plan.texts[path] = after
    plan.adopted.append(Adopted(task.name, str(path), tuple(changes), "edited", tuple(overrides)))


def _strings(value: Any) -> list[str]:
    """Every string in `value`, mapping keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return _strings([*value.keys(), *value.values()])
    return [s for item in value for s in _strings(item)] if isinstance(value, list) else []


def _why_not(key: str, own: LineDict, definition: DesiredTask) -> str:
    """Why a field of a task's own document must not be overwritten, or ""."""
    if key == "name":
        return "renamed in Titan; rename the definition by hand (previous_names keeps its history)"
    if key in SCHEMA_FIELDS and file_ref(own.get(key)) is not None:
        return "is read from a $file schema, which other tasks may share; edit that file by hand"
    if any(p == f"/{key}" or p.startswith(f"/{key}/") for p in definition.sensitive_paths):
        return "holds a ${TITAN_VAR_…} placeholder; never overwritten with a live value"
    raw = own.get(key)
    if raw is not None and "${" in repr(raw):
        return "holds a ${…} placeholder; never overwritten with a live value"
    return ""


def _origin(key: str, definition: DesiredTask, desired: DesiredState) -> str:
    """Where a key a task's own document does not hold came from: a template it extends, the
    project's defaults, or "" (nowhere: the key is new)."""
    name = definition.extends
    while name is not None:
        template = desired.templates.get(name)
        if template is None:
            break
        if key in template.model_fields_set:
            return f"template '{name}'"
        name = template.extends
    return "the project's defaults" if key in desired.project.defaults else ""


def _as_written(key: str, value: Any, placeholders: Placeholders) -> Any:
    """A live value as a definition holds it: variables' values as placeholders, a literal
    `${` escaped; None when two variables share a value it holds."""
    try:
        if key == "name":
            return escape_placeholders(value) if isinstance(value, str) else value
        return with_placeholders(value, placeholders)
    except AmbiguousValue:
        return None


def _without_defaults(
    text: str, display: str, live: LiveTask, defaults: Mapping[str, Any]
) -> tuple[str, str]:
    """An exported task's text with every key the project's defaults set and the live task does
    not hold written as empty (`[]`, `{}`: unset), so the defaults do not fill it; and why not
    when a default is a value no empty form unsets."""
    held = normalise_task(live.body)
    empty: dict[str, Any] = {}
    for key, value in defaults.items():
        if key in held or key not in MANAGED_FIELDS:
            continue
        if not isinstance(value, list | dict):
            return text, (
                f"the project's defaults set {key}, which the task in Titan does not have, and "
                "no empty value unsets it; write its definition by hand"
            )
        empty[key] = [] if isinstance(value, list) else {}
    if not empty:
        return text, ""
    try:
        return edit_task(text, display=display, name=live.name, changes=empty), ""
    except CannotEdit as exc:
        return text, str(exc)


def _write_new_file(
    plan: _Plan,
    task: TaskAttribution,
    live: LiveTask | None,
    secrets: SecretSet,
    placeholders: Placeholders,
    defaults: Mapping[str, Any],
) -> None:
    """A task created in Titan as a new file where export would put it."""
    if live is None:
        plan.skipped.append(NotAdopted(task.name, "its live task was not found"))
        return
    relative, text, problem = adoptable_file(live, secrets, placeholders)
    if text is None or relative is None:
        plan.skipped.append(NotAdopted(task.name, problem or "cannot be written as a definition"))
        return
    path = plan.root / TASKS_FOLDER / relative
    if os.path.lexists(path) or path in plan.texts:
        reason = f"{path} exists already; export it elsewhere and merge it by hand"
        plan.skipped.append(NotAdopted(task.name, reason))
        return
    text, problem = _without_defaults(text, str(path), live, defaults)
    if problem:
        plan.skipped.append(NotAdopted(task.name, problem))
        return
    plan.originals[path] = ""
    plan.texts[path] = text
    plan.adopted.append(Adopted(task.name, str(path), how="created"))


def _remove_definition(
    plan: _Plan, task: TaskAttribution, definition: DesiredTask | None, options: AdoptOptions
) -> None:
    """A task deleted in Titan: its definition goes, when asked (and when git did not change
    it since, unless conflicts are taken too)."""
    conflict = task.story == "deleted_in_titan_changed_in_git"
    if not options.include_deletes or (conflict and not options.include_conflicts):
        need = "--include-deletes" + (" and --include-conflicts" if conflict else "")
        plan.skipped.append(NotAdopted(task.name, f"deleted in Titan; pass {need} to remove it"))
        return
    if definition is None:
        return
    path = Path(definition.source.path)
    if _linked(plan, task.name, path):
        return
    text = plan.text(path)
    try:
        plan.texts[path] = remove_task(text, display=str(path), name=definition.name)
    except CannotEdit as exc:
        plan.skipped.append(NotAdopted(task.name, str(exc)))
        return
    plan.adopted.append(Adopted(task.name, str(path), how="removed"))


def check_adopted(
    report: AdoptReport,
    validate: Callable[[Mapping[Path, str]], DesiredState],
    live: Sequence[LiveTask],
) -> None:
    """Refuse an adoption whose definitions would not validate, or whose adopted fields would
    still differ from Titan. `validate` validates the directory with the edited texts.

    Raises:
        AdoptError: naming what went wrong; nothing has been written.
    """
    after = validate({edit.path: edit.after for edit in report.edits})
    tasks = {t.name: t for t in after.tasks}
    live_by_name = {t.name: t for t in live}
    # A task git renamed still has its old name in Titan until the next apply.
    titan_names = {t.name: t.previous_name or t.name for t in report.threeway.tasks}
    wrong: list[str] = []
    for adopted in report.adopted:
        if adopted.how == "removed":
            if adopted.name in tasks:
                wrong.append(f"{adopted.name!r} is still defined")
            continue
        task = tasks.get(adopted.name)
        current = live_by_name.get(titan_names.get(adopted.name, adopted.name))
        if task is None or current is None:
            wrong.append(f"{adopted.name!r} is not defined after adopting")
            continue
        mine = normalise_task(task.body, ignore_fields=task.ignore_fields)
        theirs = normalise_task(current.body, ignore_fields=task.ignore_fields)
        keys = adopted.fields or tuple(mine.keys() | theirs.keys())
        differ = [k for k in keys if mine.get(k) != theirs.get(k)]
        if differ:
            wrong.append(f"{adopted.name!r} would still differ from Titan in {', '.join(differ)}")
    if wrong:
        raise AdoptError(
            "adopting would not bring git to Titan's values, so nothing was written: "
            + "; ".join(wrong)
        )
