"""The verdict: what validating a whole directory said, kept beside its pack, so that `validate`
on a directory none of whose inputs changed answers without validating anything.

A run that validates a directory without a problem and without reading the environment keeps:
- every definition file the walk found, in walk order, with the SHA-256 of its bytes (as one
  digest);
- every path the run resolved (the root, each `$file` reference) and the real path it found;
- every file a `$file` reference read, with the SHA-256 of its bytes;
- and what it found: the number of tasks and templates, and the warnings.

`recall` walks the directory, reads and hashes the same files, resolves the same paths, and only
when every one of them agrees, under the same tool fingerprint and directory name, gives the
verdict back: the same files, resolved the same way, validate to the same result. Anything else
(a file added, removed, renamed or edited; a symlink pointing elsewhere; a problem in the walk; a
verdict that is not exactly what `keep` writes) and the directory is validated as usual. Nothing
here imports what validates, so a recalled `validate` starts in a fraction of the time.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from titan_gitops.defcache.store import FORMAT, DefinitionCache
from titan_gitops.defcache.strict import (
    UNREADABLE,
    count,
    json_list,
    string,
    warning_from_json,
    warning_to_json,
)
from titan_gitops.errors import Problem
from titan_gitops.load.caps import read_definition_bytes
from titan_gitops.load.walk import SourceBytes, check_definitions_root, read_definition_files


@dataclass(frozen=True)
class Verdict:
    """What validating a directory found: its tasks and templates counted, and its warnings."""

    tasks: int
    templates: int
    warnings: tuple[Problem, ...]


@dataclass
class Inputs:
    """What a validation run read besides the definition files: the paths it resolved (as given
    -> real path), the files it read through them (real path -> display path and SHA-256), and
    whether it looked up any variable in the environment."""

    paths: dict[str, str] = field(default_factory=dict)
    reads: dict[str, tuple[str, str]] = field(default_factory=dict)
    consulted: bool = False


class WatchedEnviron(Mapping[str, str]):
    """An environment that notes (`inputs.consulted`) any lookup: a run that made one depends
    on the environment, and keeps no verdict."""

    def __init__(self, environ: Mapping[str, str], inputs: Inputs) -> None:
        self._environ = environ
        self._inputs = inputs

    def __getitem__(self, key: str) -> str:
        self._inputs.consulted = True
        return self._environ[key]

    def __iter__(self) -> Iterator[str]:
        self._inputs.consulted = True
        return iter(self._environ)

    def __len__(self) -> int:
        self._inputs.consulted = True
        return len(self._environ)


def keep(
    cache: DefinitionCache,
    root: Path,
    sources: Sequence[SourceBytes],
    inputs: Inputs,
    verdict: Verdict,
) -> None:
    """Store `verdict` for `root`, found from `sources` and `inputs` (unless the environment was
    consulted); best effort, and not rewritten when the stored one says the same."""
    if inputs.consulted:
        return
    text = json.dumps(
        {
            "format": FORMAT,
            "tool": cache.fingerprint,
            "root": str(root),
            "files": _files_digest(sources),
            "paths": sorted(inputs.paths.items()),
            "reads": [[real, *read] for real, read in sorted(inputs.reads.items())],
            "tasks": verdict.tasks,
            "templates": verdict.templates,
            "warnings": [warning_to_json(w) for w in verdict.warnings],
        }
    )
    try:
        if cache.read_json(cache.verdict_path(root)) == json.loads(text):
            return
    except UNREADABLE:
        pass
    cache.write_text(lambda: cache.verdict_path(root), text)


def recall(cache: DefinitionCache, root: Path) -> Verdict | None:
    """The verdict kept for `root`, when everything it depended on is as it was; else None."""
    try:
        data = cache.read_json(cache.verdict_path(root))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        if data.get("tool") != cache.fingerprint or data.get("root") != str(root):
            return None
        verdict = Verdict(
            count(data["tasks"]),
            count(data["templates"]),
            tuple(warning_from_json(w) for w in json_list(data["warnings"])),
        )
        if check_definitions_root(root) is not None:
            return None
        sources, problems = read_definition_files(root)
        if problems or _files_digest(sources) != string(data["files"]):
            return None
        for entry in json_list(data["paths"]):
            path, real = map(string, json_list(entry))
            if os.path.realpath(path) != real:
                return None
        for entry in json_list(data["reads"]):
            real, display, digest = map(string, json_list(entry))
            raw, _ = read_definition_bytes(Path(real), display)
            if raw is None or hashlib.sha256(raw).hexdigest() != digest:
                return None
        return verdict
    except UNREADABLE:
        return None


def _files_digest(sources: Sequence[SourceBytes]) -> str:
    """One SHA-256 of every definition file's display path, kind and bytes, in walk order."""
    files = [[s.display, s.is_project, s.sha256] for s in sources]
    # JSON: an unambiguous encoding of the parts (and of any lone surrogate in a name).
    return hashlib.sha256(json.dumps(files).encode("ascii")).hexdigest()


__all__ = ["Inputs", "Verdict", "WatchedEnviron", "keep", "recall"]
