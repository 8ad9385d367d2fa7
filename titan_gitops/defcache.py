"""The validated-definitions cache: a task file whose text and surroundings did not change since
the last run is not parsed or validated again.

What a task file validates to depends on its own text, the project file, the templates (which
`extends` merges in) and the code doing the validating, and on nothing else once the file holds
no `${...}` placeholder (the environment) and no `$file` reference (another file). So a run keeps,
per definitions directory, one pack: the *context* (a SHA-256 of the tool, the directory as named,
the project file's text and every template file's text) and, per task file, the SHA-256 of its
text and what validating it gave (`validate.FileResult`). The next run with the same context takes
each file whose text has the same digest from the pack; every other file is loaded and validated
as usual, with the project and the templates, and the cross-file checks (duplicate names, the
namespace, previous names) run over every task, reused or not.

Trust: the pack never holds a substituted value (a file, template or project file with `${` is
never reused, and a pack whose text would hold one of the run's substituted values is not
written), nor the token. It lives in a folder only its
owner can use; a folder or pack that is not the user's own, or is writable by others, is ignored,
and a pack that does not parse into exactly the expected shape counts as empty. `apply` never
reads it: it validates the definitions afresh, so a tampered pack can at most make a plan that
apply's re-derivation refuses. Writing is best effort: a cache that cannot be written costs the
next run its speed, never this run its result.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from titan_gitops.errors import ConfigError, Problem
from titan_gitops.load import (
    LineDict,
    LoadResult,
    check_definitions_root,
    list_definition_files,
    load_yaml_file,
    read_definition_text,
    record_definition,
)
from titan_gitops.load.walk import PROJECT_FILE, is_shareable
from titan_gitops.model import DesiredState, DesiredTask, SourceLocation
from titan_gitops.validate import FileResult, validate_files
from titan_gitops.validate.reuse import NameStub

# Turns the cache off when set to "off"; TITAN_GITOPS_CACHE_DIR moves it.
SWITCH_VARIABLE = "TITAN_GITOPS_CACHE"
FOLDER_VARIABLE = "TITAN_GITOPS_CACHE_DIR"
_FORMAT = 1
# Far above any real pack (about 2 KiB per task); a bigger file is not read.
MAX_PACK_BYTES = 512 * 1024 * 1024
# The libraries whose behaviour validation depends on: an upgrade of one starts afresh.
_LIBRARIES = ("pydantic", "pydantic_core", "jsonschema", "croniter", "yaml", "ruamel.yaml")


def cache_folder(environ: Mapping[str, str]) -> Path | None:
    """Where packs live: TITAN_GITOPS_CACHE_DIR, else titan-gitops/definitions under
    XDG_CACHE_HOME or ~/.cache; None when TITAN_GITOPS_CACHE is "off" or no home is known."""
    if environ.get(SWITCH_VARIABLE, "").strip().lower() == "off":
        return None
    chosen = environ.get(FOLDER_VARIABLE, "")
    if chosen:
        return Path(chosen)
    base = environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / "titan-gitops" / "definitions"
    home = environ.get("HOME", "")
    if home and os.path.isabs(home):
        return Path(home) / ".cache" / "titan-gitops" / "definitions"
    return None


def tool_fingerprint() -> str:
    """The code that validates: this package's files and the libraries', by path, size and
    modification time (an edit or an upgrade changes it), and the interpreter's version."""
    digest = hashlib.sha256(f"{_FORMAT}\0{sys.version}".encode())
    package = Path(__file__).parent
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for library in _LIBRARIES:
        try:
            spec = find_spec(library)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        if origin and os.path.isfile(origin):
            info = os.stat(origin)
            digest.update(f"{origin}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        else:
            digest.update(f"{library}\0absent\0".encode())
    return digest.hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Pack:
    """One directory's context and, per reusable task file, its text's digest and result."""

    context: str = ""
    files: dict[str, tuple[str, FileResult]] | None = None


class DefinitionCache:
    """The packs under one folder (made owner-only), read and written per definitions directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = tool_fingerprint()
        return self._fingerprint

    def pack_path(self, root: Path) -> Path:
        named = f"{root}\0{os.path.realpath(root)}\0{os.getcwd()}".encode("utf-8", "surrogatepass")
        return self.folder / f"{hashlib.sha256(named).hexdigest()[:40]}.json"

    def read(self, root: Path) -> Pack:
        """The directory's pack, or an empty one when there is none that can be trusted."""
        path = self.pack_path(root)
        if not (_is_own_private(self.folder) and _is_own_private(path)):
            return Pack()
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_PACK_BYTES + 1)
            if len(raw) > MAX_PACK_BYTES:
                return Pack()
            return _pack_from_json(json.loads(raw), self.fingerprint, str(root))
        except (OSError, ValueError, RecursionError, TypeError, KeyError, IndexError):
            return Pack()

    def write(self, root: Path, pack: Pack, *, secrets: Iterable[str] = ()) -> None:
        """Store `pack` for `root`, owner-only; a failure leaves the cache as it was. Nothing is
        stored when the text would hold one of `secrets` (the run's substituted values): no
        reusable file can hold one, and this makes sure."""
        from titan_gitops.atomic import write_bytes_atomic

        # ASCII with escapes: any string a definition can hold comes back as it went in.
        text = json.dumps(_pack_to_json(pack, self.fingerprint, str(root)))
        if any(s in text or json.dumps(s)[1:-1] in text for s in secrets if s):
            return
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _is_own_private(self.folder):
                return
            write_bytes_atomic(
                self.pack_path(root),
                text.encode("ascii"),
                durable=False,
                private=True,
            )
        except (OSError, ConfigError):
            return


def _is_own_private(path: Path) -> bool:
    """True for a folder or regular file (not a link) of this user that no one else can write."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    kind_ok = stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return kind_ok and owner_ok and not info.st_mode & 0o022


# --- reading and validating through the cache ----------------------------------------------------


def load_and_validate(
    root: Path, *, environ: Mapping[str, str], cache: DefinitionCache | None
) -> tuple[LoadResult, DesiredState]:
    """What loading `root` gave (the files loaded, not the ones reused) and the state, as
    `pipeline.validate_directory` makes it, reusing what `cache` holds and storing what it can.

    Raises:
        ValidationFailed: with every problem found, exactly as without the cache.
    """
    from titan_gitops.errors import ValidationFailed

    problem = check_definitions_root(root)
    if problem is not None:
        raise ValidationFailed([problem])
    listed, problems = list_definition_files(root)
    loaded = LoadResult()
    loaded.problems.extend(problems)
    project_path = root / PROJECT_FILE
    texts: dict[str, tuple[str, bool]] = {}
    for path, display in listed:
        text, problems = read_definition_text(path, display)
        if text is None:
            loaded.problems.extend(problems)
        else:
            texts[display] = (text, path == project_path)
    order = {display: place for place, (_, display) in enumerate(listed)}
    pack = cache.read(root) if cache is not None else Pack()
    digests = {display: _text_digest(text) for display, (text, _) in texts.items()}
    known = pack.files or {}
    # First everything the pack cannot stand in for: the project, templates, new or edited files.
    candidates = {
        display
        for display, (text, is_project) in texts.items()
        if not is_project and display in known and known[display][0] == digests[display]
    }
    for display, (text, is_project) in texts.items():
        if display not in candidates:
            record_definition(loaded, text, display, is_project=is_project)
    context = _context(root, texts, loaded, cache)
    reused = [known[d][1] for d in sorted(candidates)] if context == pack.context else []
    if not reused:
        for display in sorted(candidates, key=order.__getitem__):
            text, is_project = texts[display]
            record_definition(loaded, text, display, is_project=is_project)
        loaded.documents.sort(key=lambda d: (order[d.path], d.index))
    desired, results = validate_files(
        loaded, reused, order, root=root, environ=environ, read_yaml=load_yaml_file
    )
    if cache is not None and context is not None:
        stored = _to_store(pack, context, reused, results, texts, digests, loaded.warnings)
        if stored is not None:
            cache.write(root, stored, secrets=desired.secrets)
    return loaded, desired


def _context(
    root: Path,
    texts: Mapping[str, tuple[str, bool]],
    loaded: LoadResult,
    cache: DefinitionCache | None,
) -> str | None:
    """The digest of what every task file's result depends on besides its own text; None when a
    project or template file reads the environment or another file (nothing is reused then)."""
    if cache is None:
        return None
    shaping = {d.path for d in loaded.documents if _is_template(d.data)}
    shaping.update(display for display, (_, is_project) in texts.items() if is_project)
    digest = hashlib.sha256(f"{cache.fingerprint}\0{root}\0".encode("utf-8", "surrogatepass"))
    for display in sorted(shaping):
        text = texts[display][0]
        if not is_shareable(text):
            return None
        digest.update(f"{display}\0{_text_digest(text)}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _is_template(data: Any) -> bool:
    return isinstance(data, LineDict) and data.get("kind") == "template"


def _to_store(
    pack: Pack,
    context: str,
    reused: Sequence[FileResult],
    results: Mapping[str, FileResult],
    texts: Mapping[str, tuple[str, bool]],
    digests: Mapping[str, str],
    load_warnings: Sequence[Problem],
) -> Pack | None:
    """The pack of this run's reusable files; None when it is the one read."""
    quiet = {p.path for p in load_warnings}
    files: dict[str, tuple[str, FileResult]] = {r.path: (digests[r.path], r) for r in reused}
    for display, result in results.items():
        text, is_project = texts[display]
        reusable = not is_project and is_shareable(text) and display not in quiet
        if reusable and not any(task.sensitive_paths for task in result.tasks):
            files[display] = (digests[display], result)
    old = pack.files or {}
    same = pack.context == context and old.keys() == files.keys()
    if same and all(old[d][0] == files[d][0] for d in files):
        return None
    return Pack(context, files)


# --- the pack as JSON -----------------------------------------------------------------------------


def _pack_to_json(pack: Pack, fingerprint: str, root: str) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "tool": fingerprint,
        "root": root,
        "context": pack.context,
        "files": {
            display: {"sha256": digest, **_result_to_json(result)}
            for display, (digest, result) in (pack.files or {}).items()
        },
    }


def _result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "tasks": [
            {
                "name": t.name,
                "body": t.body,
                "previous_names": list(t.previous_names),
                "ignore_fields": list(t.ignore_fields),
                "source": [t.source.line, t.source.col],
                "extends": t.extends,
            }
            for t in result.tasks
        ],
        "names": [
            [
                s.index,
                list(s.document),
                s.name,
                list(s.name_at),
                None if s.previous is None else [[n, list(at)] for n, at in s.previous],
                list(s.previous_at),
            ]
            for s in result.names
        ],
        "warnings": [
            [w.path, w.line, w.col, w.field, w.message, w.severity] for w in result.warnings
        ],
        "refs": list(result.refs),
    }


class _Malformed(ValueError):
    """The pack is not what this code writes."""


def _pack_from_json(data: Any, fingerprint: str, root: str) -> Pack:
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return Pack()
    if data.get("tool") != fingerprint or data.get("root") != root:
        return Pack()
    context = _string(data.get("context"))
    files: dict[str, tuple[str, FileResult]] = {}
    raw_files = data.get("files")
    if not isinstance(raw_files, dict):
        raise _Malformed("files")
    for display, entry in raw_files.items():
        if not isinstance(entry, dict):
            raise _Malformed(display)
        files[display] = (_string(entry["sha256"]), _result_from_json(display, entry))
    return Pack(context, files)


def _result_from_json(display: str, entry: dict[str, Any]) -> FileResult:
    tasks = tuple(_task_from_json(display, raw) for raw in _list(entry["tasks"]))
    names = tuple(_stub_from_json(raw) for raw in _list(entry["names"]))
    if len(tasks) != len(names) or any(t.name != s.name for t, s in zip(tasks, names, strict=True)):
        raise _Malformed(display)
    warnings = tuple(_warning_from_json(raw) for raw in _list(entry["warnings"]))
    refs = tuple(_string(ref) for ref in _list(entry["refs"]))
    return FileResult(display, tasks, names, warnings, refs)


def _task_from_json(display: str, raw: Any) -> DesiredTask:
    if not isinstance(raw, dict) or not isinstance(raw["body"], dict):
        raise _Malformed(display)
    name = _string(raw["name"])
    if raw["body"].get("name") != name:
        raise _Malformed(display)
    extends = raw["extends"]
    line, col = _position(raw["source"])
    return DesiredTask(
        name=name,
        body=raw["body"],
        previous_names=tuple(_string(n) for n in _list(raw["previous_names"])),
        ignore_fields=tuple(_string(p) for p in _list(raw["ignore_fields"])),
        source=SourceLocation(display, line, col),
        extends=None if extends is None else _string(extends),
    )


def _stub_from_json(raw: Any) -> NameStub:
    index, document, name, name_at, previous, previous_at = _list(raw)
    if not isinstance(index, int) or isinstance(index, bool):
        raise _Malformed("index")
    return NameStub(
        index=index,
        document=_position(document),
        name=_string(name),
        name_at=_position(name_at),
        previous=None
        if previous is None
        else tuple((_string(n), _position(at)) for n, at in map(_list, _list(previous))),
        previous_at=_position(previous_at),
    )


def _warning_from_json(raw: Any) -> Problem:
    path, line, col, field, message, severity = _list(raw)
    if severity != "warning":
        raise _Malformed("severity")
    line, col = _position([line, col])
    return Problem(_string(path), line, col, _string(field), _string(message), "warning")


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Malformed("string")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Malformed("list")
    return value


def _position(value: Any) -> tuple[int, int]:
    line, col = _list(value)
    for number in (line, col):
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise _Malformed("position")
    return line, col


def open_cache(environ: Mapping[str, str]) -> DefinitionCache | None:
    """The cache `environ` chooses (`cache_folder`), or None when it is turned off."""
    folder = cache_folder(environ)
    return DefinitionCache(folder) if folder is not None else None
