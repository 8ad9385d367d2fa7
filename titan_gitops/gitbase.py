"""The definitions as they were at a git revision (the base of three-way drift), read straight
from git, and who changed each definition file since.

Nothing is checked out or written, not even a temporary file: one `rev-parse` resolves the
revision, one `ls-tree` lists the directory at that commit, and one `cat-file --batch` reads
every blob, whatever the number of files. `git archive` is not used: it honours the
`export-ignore` and `export-subst` attributes, so it would silently drop or rewrite files.

git runs with arguments only (never a shell), `LC_ALL=C`, literal pathspecs, no prompt, and a
timeout; the repository holding the directory is trusted (`safe.directory`) for the call only.
The revision is untrusted: one starting with `-` is refused, and `--end-of-options` keeps any
other from being read as an option.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from titan_gitops.defcache import Pack, validate_sources
from titan_gitops.errors import BaseUnavailable, Problem, ValidationFailed
from titan_gitops.escape import escape_terminal
from titan_gitops.load.tree import (
    MemoryTree,
    TreeEntry,
    read_tree_files,
    wanted_blobs,
)
from titan_gitops.model import DesiredState
from titan_gitops.model.threeway import BaseInfo, CommitInfo
from titan_gitops.spec import ProjectConfig

# Caps on one base: entries listed, and bytes read (each file is capped at MAX_FILE_BYTES too).
MAX_BASE_FILES = 50_000
MAX_BASE_BYTES = 256 * 1024 * 1024
# Author names and subjects are untrusted text kept as data; past this many characters, cut.
MAX_COMMIT_TEXT = 200
GIT_TIMEOUT = 120.0
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MAX_REV = 256
_FETCH_HINT = "fetch it: git fetch --depth=1 origin {sha}, or check out with fetch-depth: 0"


class _Git:
    """git in one directory: bytes in and out, every call bounded by GIT_TIMEOUT."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    def run(self, args: Sequence[str], *, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "GIT_LITERAL_PATHSPECS": "1",
            "GIT_OPTIONAL_LOCKS": "0",
        }
        head = ["git"]
        for folder in trusted_folders(self.cwd, env):
            head += ["-c", f"safe.directory={folder}"]
        try:
            return subprocess.run(
                [*head, "-c", "core.quotePath=false", "-c", "log.showSignature=false", *args],
                cwd=self.cwd,
                env=env,
                input=stdin,
                capture_output=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise BaseUnavailable("reading the base needs git on the PATH") from None
        except subprocess.TimeoutExpired:
            raise BaseUnavailable(f"git {args[0]} took longer than {GIT_TIMEOUT:.0f} s") from None

    @staticmethod
    def last_error(result: subprocess.CompletedProcess[bytes]) -> str:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return escape_terminal((lines or ["(no message)"])[-1][:300])


def trusted_folders(cwd: Path, environ: Mapping[str, str]) -> list[Path]:
    """The folders git may trust though another user owns them: in a GitHub Actions job (a
    container job's checkout belongs to another user) the workspace and the folders inside it
    on the way to `cwd`, for this call only; anywhere else none, so git's own ownership check
    still refuses a repository someone else planted above the directory."""
    workspace = environ.get("GITHUB_WORKSPACE", "")
    if not workspace or environ.get("GITHUB_ACTIONS") != "true":
        return []
    top = Path(os.path.realpath(workspace))
    here = Path(os.path.realpath(cwd))
    if here != top and top not in here.parents:
        return []
    return [here, *(p for p in here.parents if p == top or top in p.parents)]


def _anchor(root: Path) -> Path:
    """The nearest folder at or above `root` that exists now (git runs there)."""
    folder = Path(os.path.realpath(os.path.abspath(root)))
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


def _shown(rev: str) -> str:
    return escape_terminal(rev[:80])


def _check_rev(rev: str) -> None:
    if not rev or rev.startswith("-"):
        raise BaseUnavailable(
            f"--base {_shown(rev)!r}: a revision cannot start with '-' or be empty"
        )
    if len(rev) > _MAX_REV or any(ord(c) < 32 or c == "\x7f" for c in rev):
        raise BaseUnavailable(f"--base {_shown(rev)!r}: not a revision git could name")


def _repo_prefix(root: Path, top: str) -> str:
    """`root` relative to the repository's top folder, `/`-separated ("" for the top)."""
    rel = os.path.relpath(os.path.realpath(os.path.abspath(root)), top)
    if rel == ".." or rel.startswith(".." + os.sep):
        raise BaseUnavailable(f"{escape_terminal(str(root))} is not inside the git checkout {top}")
    return "" if rel == "." else rel.replace(os.sep, "/")


def _resolve(git: _Git, root: Path, rev: str) -> tuple[str, bool, str]:
    """(top folder, shallow?, commit sha) in one call; BaseUnavailable says what is wrong."""
    result = git.run(
        [
            "rev-parse",
            "--show-toplevel",
            "--is-shallow-repository",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{rev}^{{commit}}",
        ]
    )
    lines = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 2:
        raise BaseUnavailable(
            f"reading the base needs a git checkout, and {escape_terminal(str(root))} is not "
            f"inside one ({git.last_error(result)})"
        )
    top, shallow = lines[0], lines[1] == "true"
    if result.returncode != 0 or len(lines) < 3:
        if shallow:
            sha = rev if _SHA.fullmatch(rev) else "<sha>"
            raise BaseUnavailable(
                f"--base {_shown(rev)}: the commit is not in this shallow clone; "
                + _FETCH_HINT.format(sha=sha)
            )
        raise BaseUnavailable(f"--base {_shown(rev)}: no such commit in this repository")
    return top, shallow, lines[2]


def _list_tree(git: _Git, sha: str, prefix: str, rev: str) -> dict[str, TreeEntry] | None:
    """The entries under `prefix` at `sha`, by path relative to it; None when it did not exist."""
    result = git.run(["ls-tree", "-r", "-z", "--long", f"{sha}:{prefix}"])
    if result.returncode != 0:
        error = git.last_error(result)
        if "Not a valid object name" in error:
            return None
        if "not a tree object" in error:
            raise BaseUnavailable(f"--base {_shown(rev)}: {prefix} was a file at that commit")
        raise BaseUnavailable(f"--base {_shown(rev)}: git ls-tree failed: {error}")
    entries: dict[str, TreeEntry] = {}
    for record in result.stdout.split(b"\0"):
        if not record:
            continue
        if len(entries) >= MAX_BASE_FILES:
            raise BaseUnavailable(
                f"--base {_shown(rev)}: the directory holds over {MAX_BASE_FILES} files"
            )
        meta, _, raw_path = record.partition(b"\t")
        mode, _kind, oid, size = meta.decode("ascii").split()
        path = raw_path.decode("utf-8", "surrogateescape")
        entries[path] = TreeEntry(mode, oid, None if size == "-" else int(size), path)
    return entries


def _read_blobs(git: _Git, entries: Iterable[TreeEntry], rev: str) -> dict[str, bytes]:
    """The bytes of every blob of `entries`, in one `cat-file --batch`."""
    sizes = {entry.oid: entry.size or 0 for entry in entries}
    total = sum(sizes.values())
    if total > MAX_BASE_BYTES:
        raise BaseUnavailable(
            f"--base {_shown(rev)}: the files to read hold {total} bytes; "
            f"the limit is {MAX_BASE_BYTES}"
        )
    if not sizes:
        return {}
    stdin = "".join(f"{oid}\n" for oid in sizes).encode("ascii")
    result = git.run(["cat-file", "--batch"], stdin=stdin)
    if result.returncode != 0:
        raise BaseUnavailable(
            f"--base {_shown(rev)}: git cat-file failed: {git.last_error(result)}"
        )
    blobs: dict[str, bytes] = {}
    out, at = result.stdout, 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].decode("ascii", "replace").split()
        if len(header) != 3:
            raise BaseUnavailable(f"--base {_shown(rev)}: git cannot read object {header[0]}")
        size = int(header[2])
        blobs[header[0]] = out[end + 1 : end + 1 + size]
        at = end + 1 + size + 1
    return blobs


def read_base(
    root: Path,
    rev: str,
    *,
    environ: Mapping[str, str],
    reusable: Pack | None = None,
) -> tuple[BaseInfo, DesiredState]:
    """The definitions directory `root` as it was at git revision `rev`, validated in memory
    exactly as `pipeline.validate_directory` validates a checkout of it (same display paths,
    `$file` references read inside the base), and the commit it names.

    Three git calls whatever the number of files; nothing is checked out or written. With
    `reusable` (the pack of the checkout's run, defcache.py), a task file with the same path and
    bytes as in the checkout, around the same project and templates, is neither parsed nor
    validated again: the checkout's result stands in for it. A directory that did not exist at
    `rev` gives `BaseInfo(directory_existed=False)` and an empty state.

    Raises:
        BaseUnavailable: `root` is not in a git checkout, git is missing, `rev` is refused,
            unknown, or missing from a shallow clone, a cap is passed, or the definitions at
            `rev` do not validate (the count and the first problem, as `SHA:path:line:col`).
    """
    _check_rev(rev)
    git = _Git(_anchor(root))
    top, _shallow, sha = _resolve(git, root, rev)
    prefix = _repo_prefix(root, top)
    # From the top: ls-tree run in a subfolder lists only what lies under that subfolder.
    git = _Git(Path(top))
    entries = _list_tree(git, sha, prefix, rev)
    if entries is None:
        empty = DesiredState(tasks=(), templates={}, project=ProjectConfig())
        return BaseInfo(rev=rev, sha=sha, directory_existed=False), empty
    tree = MemoryTree(root, entries, _read_blobs(git, wanted_blobs(entries.values()), rev))
    sources, problems = read_tree_files(tree)
    try:
        _, desired, _ = validate_sources(
            root,
            sources,
            problems,
            reusable or Pack(),
            reusable.fingerprint if reusable is not None else None,
            environ=environ,
            read_yaml=tree.read_yaml,
            tree=tree,
        )
    except ValidationFailed as exc:
        raise BaseUnavailable(_describe_invalid(exc, rev, sha, tree, prefix)) from None
    return BaseInfo(rev=rev, sha=sha), desired


def _describe_invalid(
    exc: ValidationFailed, rev: str, sha: str, tree: MemoryTree, prefix: str
) -> str:
    errors = [p for p in exc.problems if p.severity == "error"]
    first = errors[0]
    where = f"{sha[:7]}:{_repo_path(first.path, tree.root, prefix)}"
    located = Problem(where, first.line, first.col, first.field, first.message)
    noun = "problem" if len(errors) == 1 else "problems"
    return (
        f"--base {_shown(rev)}: the definitions at {sha[:7]} do not validate "
        f"({len(errors)} {noun}); the first: {located}"
    )


def _repo_path(display: str, root: Path, prefix: str) -> str:
    """A display path under `root` as git names it in the repository."""
    shown = str(root)
    if shown == ".":
        rel = display.removeprefix("./") if display != "." else ""
    elif display == shown:
        rel = ""
    elif display.startswith(shown.rstrip(os.sep) + os.sep):
        rel = display[len(shown.rstrip(os.sep)) + 1 :]
    else:
        return display
    rel = rel.replace(os.sep, "/")
    return posixpath.join(prefix, rel) if prefix and rel else (prefix or rel)


def _check_sha(sha: str) -> None:
    if not _SHA.fullmatch(sha):
        raise BaseUnavailable(f"not a full commit SHA: {_shown(sha)!r}")


def _repo_name(path: str, top: str) -> str:
    """A definition file's path (as the load stage shows it) as git names it: its folder's
    symlinks followed, the file itself kept (git tracks the link, not its target)."""
    absolute = os.path.abspath(path)
    folder = os.path.realpath(os.path.dirname(absolute))
    return os.path.relpath(os.path.join(folder, os.path.basename(absolute)), top).replace(
        os.sep, "/"
    )


def history_since(root: Path, sha: str, paths: Iterable[str]) -> dict[str, CommitInfo]:
    """For each definition file of `paths` (as `DesiredTask.source.path` shows it), the newest
    commit after `sha` up to HEAD that changed it; a file no such commit changed is left out.

    Two git calls (one `log` over `root`), whatever the number of files. Author names and
    subjects are kept as data, cut to MAX_COMMIT_TEXT characters; renderers escape them. In a
    shallow clone, a commit whose parents were not fetched seems to add every file: it is never
    credited, so such files are left out rather than blamed on it.

    Raises:
        BaseUnavailable: `sha` is not a full SHA, or not in the repository (the fetch hint for a
            shallow clone), or git is missing.
    """
    _check_sha(sha)
    git = _Git(_anchor(root))
    result = git.run(["rev-parse", "--show-toplevel", "--is-shallow-repository"])
    lines = result.stdout.decode("utf-8", "surrogateescape").splitlines()
    if result.returncode != 0 or len(lines) < 2:
        raise BaseUnavailable(f"reading history needs a git checkout ({git.last_error(result)})")
    top, shallow = lines[0], lines[1] == "true"
    wanted = {_repo_name(path, top): path for path in paths}
    prefix = _repo_prefix(root, top)
    fields = "%x00".join(("", "%H", "%P", "%an", "%aI", "%s"))
    log = _Git(Path(top)).run(
        [
            "log",
            "-z",
            "--no-renames",
            "--name-only",
            f"--format={fields}",
            f"{sha}..HEAD",
            "--",
            prefix or ".",
        ]
    )
    if log.returncode != 0:
        if shallow:
            hint = _FETCH_HINT.format(sha=sha)
            raise BaseUnavailable(f"commit {sha[:12]} is not in this shallow clone; {hint}")
        raise BaseUnavailable(f"commit {sha[:12]} is not in this repository")
    return _newest_commits(log.stdout, wanted, shallow=shallow)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")[:MAX_COMMIT_TEXT]


def _newest_commits(
    out: bytes, wanted: Mapping[str, str], *, shallow: bool
) -> dict[str, CommitInfo]:
    """Parse `git log -z --name-only` output: each record is an empty field, then the sha,
    parents, author, date and subject, then the changed paths (the first after a newline)."""
    tokens = out.split(b"\0")
    found: dict[str, CommitInfo] = {}
    at = 0
    while at + 6 <= len(tokens) and tokens[at] == b"":
        sha, parents, author, date, subject = tokens[at + 1 : at + 6]
        commit = CommitInfo(
            sha.decode("ascii", "replace"), _text(author), _text(date), _text(subject)
        )
        at += 6
        names: list[bytes] = []
        while at < len(tokens) and tokens[at] != b"":
            names.append(tokens[at].removeprefix(b"\n"))
            at += 1
        if shallow and not parents:
            continue  # a shallow boundary: its "changes" are the whole tree
        for name in names:
            path = wanted.get(name.decode("utf-8", "surrogateescape"))
            if path is not None and path not in found:
                found[path] = commit
    return found


def fetch_commit(root: Path, sha: str) -> None:
    """Make sure commit `sha` is in the repository holding `root`: in a shallow clone, fetch it
    once from `origin` (`--depth=1`, bounded by GIT_TIMEOUT). The Action calls this before
    `read_base`.

    Raises:
        BaseUnavailable: `sha` is not a full SHA, or the commit is missing and cannot be fetched
            (the clone is not shallow, or the fetch failed), with what to change.
    """
    _check_sha(sha)
    git = _Git(_anchor(root))
    check = ["rev-parse", "--is-shallow-repository", "--verify", "--quiet", f"{sha}^{{commit}}"]
    result = git.run(check)
    lines = result.stdout.decode("ascii", "replace").splitlines()
    if result.returncode == 0:
        return
    if not lines:
        raise BaseUnavailable(f"fetching the base needs a git checkout ({git.last_error(result)})")
    if lines[0] != "true":
        raise BaseUnavailable(f"commit {sha[:12]} is not in this repository")
    fetched = git.run(["fetch", "--no-tags", "--quiet", "--depth=1", "origin", sha])
    if fetched.returncode != 0 or git.run(check).returncode != 0:
        error = git.last_error(fetched) if fetched.returncode != 0 else "not found"
        raise BaseUnavailable(
            f"commit {sha[:12]} is not in this shallow clone and fetching it from origin "
            f"failed ({error}); check out with fetch-depth: 0"
        )
