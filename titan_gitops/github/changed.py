"""`command: changed`: the definition directories a pull request or push changed, for a matrix.

A definition directory is a folder holding a titan-gitops.yaml that one of the `directories`
globs matches. It changed when, between the merge base of base and head and head, any file under
it changed that its plan reads: a `*.yaml`/`*.yml` the loader walks (hidden files and folders are
skipped, as the loader skips them), its titan-gitops.yaml, or a file a definition (or the
project's `defaults`) names with `{$file: path}`. A directory whose titan-gitops.yaml was removed
is listed too, and also as deleted. Base and head: the pull request's base and head commits, or
a push's `before` and GITHUB_SHA; any other event, or a push that created the branch, has
nothing to compare with, so every matching directory is listed.

Outputs: `directories` (a JSON list, sorted, for `fromJSON` in a matrix), `deleted-directories`
(a JSON list) and `any-changed` (true/false).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from titan_gitops import exit_codes
from titan_gitops.errors import ConfigError
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.gitdiff import PROJECT_FILE, Git, check_sha, is_null_sha
from titan_gitops.github.outbox import Outbox

_YAML = (".yaml", ".yml")
# How many changed files the summary names per directory.
_SHOWN_FILES = 5


def parse_directory_globs(value: str) -> tuple[str, ...]:
    """The `directories` input: globs of directory paths, one a line or separated by commas.

    `*` and `?` stay within one path segment, `**` spans any number of them; `.` is the
    working directory itself.

    Raises:
        ConfigError: an absolute path, a `..` segment or a control character.
    """
    globs: list[str] = []
    for raw in re.split(r"[,\n]", value):
        glob = raw.strip()
        if not glob:
            continue
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in glob):
            raise ConfigError(f"input directories: {glob!r} holds a control character")
        if glob.startswith(("/", "\\")) or ".." in glob.split("/"):
            raise ConfigError(
                f"input directories: {glob!r} must be a path relative to the checkout, without '..'"
            )
        glob = glob.removeprefix("./").rstrip("/") or "."
        globs.append(glob)
    return tuple(globs)


def glob_regex(glob: str) -> re.Pattern[str]:
    """A directory glob as a regular expression over a whole relative path."""
    parts: list[str] = []
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            parts.append("(?:[^/]+/)*")
            index += 3
        elif glob.startswith("**", index):
            parts.append(".*")
            index += 2
        elif glob[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif glob[index] == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(glob[index]))
            index += 1
    return re.compile("".join(parts))


@dataclass
class DirectoryChange:
    """One definition directory and the changed files that count for it."""

    path: str
    deleted: bool = False
    files: list[str] = field(default_factory=list)


def directory_of(project_path: str) -> str:
    """The definition directory of a titan-gitops.yaml path (`.` for the top one)."""
    return posixpath.dirname(project_path) or "."


def is_under(path: str, directory: str) -> bool:
    return directory == "." or path.startswith(directory + "/")


def _relative(path: str, directory: str) -> str:
    return path if directory == "." else path[len(directory) + 1 :]


def walked_yaml(path: str, directory: str) -> bool:
    """True for a YAML file the loader reads from `directory` (hidden ones it skips)."""
    inner = _relative(path, directory)
    return inner.endswith(_YAML) and not any(part.startswith(".") for part in inner.split("/"))


def _file_refs(data: Any) -> Iterator[str]:
    """Every `{$file: path}` string anywhere in a loaded document."""
    if isinstance(data, dict):
        if set(data) == {"$file"} and isinstance(data["$file"], str):
            yield data["$file"]
            return
        for value in data.values():
            yield from _file_refs(value)
    elif isinstance(data, list):
        for item in data:
            yield from _file_refs(item)


def referenced_files(directory: str, cwd: Path) -> tuple[set[str], bool]:
    """The files (relative to `cwd`) the definitions of `directory` name with `$file`, and
    whether some reference holds a `${...}` variable (then any file of it may be one)."""
    from titan_gitops.load import load_definition_files

    loaded = load_definition_files(cwd / directory)
    documents = [*loaded.documents, *([loaded.project] if loaded.project else [])]
    refs: set[str] = set()
    variable = False
    for document in documents:
        for ref in _file_refs(document.data):
            if "${" in ref:
                variable = True
                continue
            joined = posixpath.normpath(posixpath.join(directory, ref.replace("\\", "/")))
            if joined != ".." and not joined.startswith("../"):
                refs.add(joined)
    return refs, variable


def candidate_directories(
    globs: Sequence[str], project_files: Iterable[str], changed: Iterable[str]
) -> tuple[dict[str, bool], list[str]]:
    """Directories the globs match, each with whether it was deleted, and the globs matching
    none. A directory is one whose titan-gitops.yaml is in the checkout, or one whose removed
    titan-gitops.yaml is among the changed paths."""
    present = {directory_of(p) for p in project_files}
    removed = {
        directory_of(p)
        for p in changed
        if posixpath.basename(p) == PROJECT_FILE and directory_of(p) not in present
    }
    patterns = [(glob, glob_regex(glob)) for glob in globs]
    found: dict[str, bool] = {}
    matched: set[str] = set()
    for directory in sorted(present | removed):
        hits = [glob for glob, pattern in patterns if pattern.fullmatch(directory)]
        if hits:
            found[directory] = directory in removed
            matched.update(hits)
    return found, [glob for glob in globs if glob not in matched]


def attribute_changes(
    directories: dict[str, bool], changed: Sequence[str], cwd: Path
) -> list[DirectoryChange]:
    """The directories at least one changed file counts for, with those files."""
    result: list[DirectoryChange] = []
    for directory, deleted in directories.items():
        inside = [p for p in changed if is_under(p, directory)]
        counted = [p for p in inside if walked_yaml(p, directory)]
        rest = [p for p in inside if p not in counted]
        if rest and not deleted:
            refs, variable = referenced_files(directory, cwd)
            counted += [p for p in rest if variable or p in refs]
        if counted or deleted:
            result.append(DirectoryChange(directory, deleted, sorted(counted)))
    return result


def compare_range(context: GitHubContext) -> tuple[str, str] | None:
    """The (base, head) commits to compare, or None when the event has nothing to compare with.

    Raises:
        ConfigError: the event holds a malformed SHA.
    """
    if context.event_name == "pull_request" and context.pull_base_sha:
        head = context.pull_head_sha or context.sha
        return (
            check_sha(context.pull_base_sha, what="the pull request's base SHA"),
            check_sha(head, what="the pull request's head SHA"),
        )
    if (
        context.event_name == "push"
        and context.push_before
        and not is_null_sha(context.push_before)
    ):
        return (
            check_sha(context.push_before, what="the push event's before"),
            check_sha(context.sha, what="GITHUB_SHA"),
        )
    return None


def run_changed(inputs: ActionInputs, context: GitHubContext, out: Outbox) -> int:
    """List the changed definition directories as outputs and in the summary."""
    if not inputs.directories:
        raise ConfigError(
            "input directories is empty: give the definition directories as globs, one a line "
            "or separated by commas, for example teams/*"
        )
    git = Git(Path.cwd())
    git.ensure_checkout()
    span = compare_range(context)
    if span is None:
        why = (
            "the push created the branch"
            if context.event_name == "push"
            else f"a {context.event_name or 'manual'} event has no base to compare with"
        )
        out.log(f"titan-gitops changed: {why}; every matching directory is listed")
        changed: list[str] = []
    else:
        git.ensure_history(*span)
        changed = git.changed_paths(*span)
    directories, unmatched = candidate_directories(inputs.directories, git.project_files(), changed)
    for glob in unmatched:
        out.warning(f"input directories: {glob!r} matches no definition directory")
    if span is None:
        listed = [DirectoryChange(d, deleted) for d, deleted in directories.items()]
    else:
        listed = attribute_changes(directories, changed, git.cwd)
    publish_changes(listed, out, span)
    return exit_codes.OK


def publish_changes(
    listed: Sequence[DirectoryChange], out: Outbox, span: tuple[str, str] | None
) -> None:
    """The outputs, one log line per directory and the step summary."""
    names = [change.path for change in listed]
    deleted = [change.path for change in listed if change.deleted]
    out.set_outputs(
        {
            "directories": json.dumps(names, ensure_ascii=False),
            "deleted-directories": json.dumps(deleted, ensure_ascii=False),
            "any-changed": "true" if names else "false",
        }
    )
    where = f"between {span[0][:12]} and {span[1][:12]}" if span else "(every directory)"
    out.log(
        f"titan-gitops changed {where}: {len(names)} director{'ies' if len(names) != 1 else 'y'}"
    )
    lines = [
        f"### titan-gitops changed: {len(names)} definition director"
        f"{'ies' if len(names) != 1 else 'y'} {escape_text(where)}",
        "",
    ]
    for change in listed:
        shown = ", ".join(change.files[:_SHOWN_FILES])
        more = len(change.files) - _SHOWN_FILES
        tail = f" and {more} more" if more > 0 else ""
        state = " (titan-gitops.yaml removed)" if change.deleted else ""
        sep = ": " if change.files else ""
        out.log(f"  {change.path}{state}{sep}{shown}{tail}")
        files = ", ".join(f"<code>{escape_code(f)}</code>" for f in change.files[:_SHOWN_FILES])
        lines.append(f"- <code>{escape_code(change.path)}</code>{state}{sep}{files}{tail}")
    if not listed:
        lines.append("No definition directory changed.")
    out.summary("\n".join(lines) + "\n")
