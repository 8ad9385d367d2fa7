"""The cache's run: load and validate a directory, reusing the task files its pack holds."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from titan_gitops.defcache.pack import Pack
from titan_gitops.defcache.store import DefinitionCache
from titan_gitops.defcache.verdict import Inputs, Verdict, WatchedEnviron, keep
from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import (
    LineDict,
    LoadResult,
    SourceBytes,
    check_definitions_root,
    load_yaml_bytes,
    read_definition_files,
    record_source,
)
from titan_gitops.load.caps import read_definition_bytes
from titan_gitops.load.walk import is_shareable
from titan_gitops.model import DesiredState, SourceDocument
from titan_gitops.validate import DiskTree, FileTree, ReadYaml, validate_files


def load_and_validate(
    root: Path, *, environ: Mapping[str, str], cache: DefinitionCache | None
) -> tuple[LoadResult, DesiredState, Pack | None]:
    """What loading `root` gave (the files loaded, not the ones reused) and the state, as
    `pipeline.validate_directory` makes it, reusing what `cache` holds and storing what it can;
    and this run's pack (every reusable file, reused or validated now), which a plan's base read
    from git reuses in turn (None when a project or template file reads the environment or a
    file).

    Raises:
        ValidationFailed: with every problem found, exactly as without the cache.
    """
    problem = check_definitions_root(root)
    if problem is not None:
        raise ValidationFailed([problem])
    sources, problems = read_definition_files(root)
    pack = cache.read(root) if cache is not None else Pack()
    # Without a cache the run's pack is still made, in memory only, for a base read after it.
    fingerprint = cache.fingerprint if cache is not None else ""
    inputs = Inputs()
    loaded, desired, fresh = validate_sources(
        root,
        sources,
        problems,
        pack,
        fingerprint,
        environ=WatchedEnviron(environ, inputs),
        read_yaml=_RecordingReader(inputs),
        tree=_RecordingTree(inputs),
    )
    if cache is not None:
        if fresh is not None and not _same_files(pack, fresh):
            cache.write(root, fresh, secrets=desired.secrets)
        found = Verdict(len(desired.tasks), len(desired.templates), desired.warnings)
        keep(cache, root, sources, inputs, found)
    return loaded, desired, fresh


class _RecordingTree(DiskTree):
    """The disk, noting every path resolved and the real path found (`inputs.paths`)."""

    def __init__(self, inputs: Inputs) -> None:
        self._inputs = inputs

    def real_path(self, path: Path) -> Path:
        real = super().real_path(path)
        self._inputs.paths[str(path)] = str(real)
        return real


class _RecordingReader:
    """`load_yaml_file`, noting the digest of every file read (`inputs.reads`)."""

    def __init__(self, inputs: Inputs) -> None:
        self._inputs = inputs

    def __call__(self, path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
        raw, problems = read_definition_bytes(path, display)
        if raw is None:
            return [], problems
        self._inputs.reads[str(path)] = (display, hashlib.sha256(raw).hexdigest())
        return load_yaml_bytes(raw, display)


def validate_sources(
    root: Path,
    sources: Sequence[SourceBytes],
    problems: Sequence[Problem],
    pack: Pack,
    fingerprint: str | None,
    *,
    environ: Mapping[str, str],
    read_yaml: ReadYaml,
    tree: FileTree | None = None,
) -> tuple[LoadResult, DesiredState, Pack | None]:
    """Validate definition files (read from disk or from git) as a whole load would, with each
    task file `pack` holds under the same digest and context standing in for the file. Returns
    what was loaded, the state, and the pack of this run's reusable files (None when
    `fingerprint` is None, or when a project or template file reads the environment or a file).

    Raises:
        ValidationFailed: with every problem found, exactly as without a pack.
    """
    loaded = LoadResult()
    loaded.problems.extend(problems)
    order = {source.display: place for place, source in enumerate(sources)}
    digests = {source.display: source.sha256 for source in sources}
    known = pack.files or {}
    # The files the pack may stand in for; everything else (the project, templates, new or
    # edited files) is loaded first, and tells the context.
    candidates = [
        s
        for s in sources
        if not s.is_project and s.display in known and known[s.display][0] == digests[s.display]
    ]
    shareable: set[str] = set()

    def load(source: SourceBytes) -> None:
        text = record_source(loaded, source)
        if text is not None and is_shareable(text):
            shareable.add(source.display)

    skipped = {s.display for s in candidates}
    for source in sources:
        if source.display not in skipped:
            load(source)
    # Candidates hold tasks only: loading them below adds no project or template file.
    shaping = _shaping(sources, loaded)
    context = _context(root, fingerprint, shaping, digests, shareable)
    reused = [known[s.display][1] for s in candidates] if context == pack.context else []
    if candidates and not reused:
        for source in candidates:
            load(source)
        loaded.documents.sort(key=lambda d: (order[d.path], d.index))
    desired, results, referring = validate_files(
        loaded, reused, order, root=root, environ=environ, read_yaml=read_yaml, tree=tree
    )
    # A `$file` as parsed (`is_shareable` sees only the text; a YAML escape hides the key from
    # it): in the project or a template it shapes every task, so nothing is kept at all.
    if context is None or referring & shaping:
        return loaded, desired, None
    quiet = {p.path for p in loaded.warnings}
    # A reused file keeps its very entry, so that rewriting the pack copies its line as read.
    files = {r.path: known[r.path] for r in reused}
    for display, result in results.items():
        reusable = display in shareable and display not in quiet | referring
        if reusable and not any(task.sensitive_paths for task in result.tasks):
            files[display] = (digests[display], result)
    return loaded, desired, Pack(context, files, fingerprint or "", pack.lines)


def _same_files(old: Pack, new: Pack) -> bool:
    """True when `new` holds the same files under the same digests and context as `old`."""
    before, after = old.files or {}, new.files or {}
    if old.context != new.context or before.keys() != after.keys():
        return False
    return all(before[d][0] == after[d][0] for d in after)


def _context(
    root: Path,
    fingerprint: str | None,
    shaping: set[str],
    digests: Mapping[str, str],
    shareable: set[str],
) -> str | None:
    """The digest of what every task file's result depends on besides its own bytes: the
    `shaping` files' names and bytes (their `digests`). None when one of them reads the
    environment or another file, or could not be read (nothing is reused then)."""
    if fingerprint is None or not shaping <= shareable:
        return None
    parts = [fingerprint, str(root), *(f"{d}\0{digests[d]}" for d in sorted(shaping))]
    # JSON: an unambiguous encoding of the parts (and of any lone surrogate in a name).
    return hashlib.sha256(json.dumps(parts).encode("ascii")).hexdigest()


def _shaping(sources: Sequence[SourceBytes], loaded: LoadResult) -> set[str]:
    """The files every task's result depends on: the project file and every template file."""
    shaping = {d.path for d in loaded.documents if _is_template(d.data)}
    shaping.update(source.display for source in sources if source.is_project)
    return shaping


def _is_template(data: Any) -> bool:
    return isinstance(data, LineDict) and data.get("kind") == "template"
