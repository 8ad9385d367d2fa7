"""Reading the base from git: real repositories in temporary folders, no checkout, no writes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from titan_gitops import gitbase
from titan_gitops.defcache import DefinitionCache, Pack, load_and_validate, validate_sources
from titan_gitops.errors import BaseUnavailable, Problem, ValidationFailed
from titan_gitops.gitbase import (
    MAX_COMMIT_TEXT,
    _Git,
    _list_tree,
    _read_blobs,
    fetch_commit,
    history_since,
    read_base,
)
from titan_gitops.load import (
    INCOMPLETE_EXPORT_MARKER,
    MAX_FILE_BYTES,
    MAX_FOLDER_DEPTH,
)
from titan_gitops.load.tree import MemoryTree, read_tree_files, wanted_blobs
from titan_gitops.model import DesiredState
from titan_gitops.pipeline import validate_directory

TASK = """\
kind: task
name: {name}
urls: ['https://shop.example.com/{name}']
objective: {objective}
execution_type: single
output_schema: {{$file: schemas/price.json}}
"""
SCHEMA = '{{"type": "object", "properties": {{"price": {{"type": "{kind}"}}}}}}'
PROJECT = "max_deletes: 3\n"
TICK = iter(range(1_700_000_000, 1_800_000_000, 3600))


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    # The user's own git configuration plays no part; dates and names are fixed per commit.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str, author: str = "Ada", when: int | None = None) -> str:
    stamp = f"@{when if when is not None else next(TICK)} +0000"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": "a@example.com",
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": "a@example.com",
        "GIT_COMMITTER_DATE": stamp,
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def write(root: Path, files: Mapping[str, str | None]) -> None:
    for relative, text in files.items():
        path = root / relative
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(repo: Path, files: Mapping[str, str | None], message: str, author: str = "Ada") -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message, author=author)
    return git(repo, "rev-parse", "HEAD")


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


FIRST = {
    "defs/titan-gitops.yaml": PROJECT,
    "defs/teams/shop/tasks.yaml": TASK.format(name="alpha", objective="Old alpha.")
    + "---\n"
    + TASK.format(name="beta", objective="Beta."),
    "defs/schemas/price.json": SCHEMA.format(kind="number"),
    "defs/.hidden/ignored.yaml": "not: [valid",
    "defs/README.md": "# not a definition\n",
}
SECOND = {
    "defs/teams/shop/tasks.yaml": TASK.format(name="alpha", objective="New alpha."),
    "defs/schemas/price.json": SCHEMA.format(kind="string"),
    "defs/teams/more.yaml": TASK.format(name="gamma", objective="Gamma."),
}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A repository with two commits of `defs/`; the working directory is its top."""
    path = new_repo(tmp_path / "repo")
    first = commit(path, FIRST, "first")
    second = commit(path, SECOND, "second")
    monkeypatch.chdir(path)
    return path, first, second


def same_state(left: DesiredState, right: DesiredState) -> None:
    assert left.tasks == right.tasks
    assert [t.body for t in left.tasks] == [t.body for t in right.tasks]
    assert dict(left.templates) == dict(right.templates)
    assert left.project == right.project
    assert left.project_path == right.project_path
    assert left.warnings == right.warnings


def checkout_state(tmp_path: Path, repo: Path, sha: str, root: str) -> DesiredState:
    """What validate_directory gives for a checkout of `sha`, the same relative `root`."""
    copy = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(repo), str(copy)], check=True)
    git(copy, "checkout", "-q", sha)
    here = Path.cwd()
    os.chdir(copy)
    try:
        return validate_directory(Path(root), environ={})
    finally:
        os.chdir(here)


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folders` (the .git folder too), with its size and mtime."""
    seen: dict[str, tuple[int, int]] = {}
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in [*dirnames, *filenames]:
                info = os.lstat(os.path.join(dirpath, name))
                seen[os.path.join(dirpath, name)] = (info.st_size, info.st_mtime_ns)
    return seen


# --- the base equals a checkout ------------------------------------------------------------------


def test_the_base_equals_validating_a_checkout_of_that_commit(
    repo: tuple[Path, str, str], tmp_path: Path
) -> None:
    path, first, _ = repo
    info, base = read_base(Path("defs"), first, environ={})
    assert (info.rev, info.sha, info.directory_existed) == (first, first, True)
    same_state(base, checkout_state(tmp_path, path, first, "defs"))
    assert [t.name for t in base.tasks] == ["alpha", "beta"]
    alpha = base.tasks[0]
    assert alpha.body["objective"] == "Old alpha."
    # `$file` read inside the base: the schema as it was then, not as it is now.
    assert alpha.body["output_schema"]["properties"]["price"]["type"] == "number"
    assert alpha.source.path == "defs/teams/shop/tasks.yaml"
    assert base.project.max_deletes == 3
    assert base.project_path == "defs/titan-gitops.yaml"


def test_a_revision_name_is_resolved_and_kept_as_given(repo: tuple[Path, str, str]) -> None:
    _, first, _ = repo
    info, base = read_base(Path("defs"), "HEAD~1", environ={})
    assert (info.rev, info.sha) == ("HEAD~1", first)
    assert [t.name for t in base.tasks] == ["alpha", "beta"]


def test_reading_the_base_writes_nothing_and_leaves_the_worktree_alone(
    repo: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, first, _ = repo
    # An uncommitted edit and a staged file: both must survive untouched.
    write(path, {"defs/teams/more.yaml": TASK.format(name="gamma", objective="Edited.")})
    write(path, {"defs/staged.yaml": TASK.format(name="delta", objective="Staged.")})
    git(path, "add", "defs/staged.yaml")
    temporary = tmp_path / "tmpdir"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    status = git(path, "status", "--porcelain=v1", "--untracked-files=all")
    before = snapshot(path)
    read_base(Path("defs"), first, environ={})
    assert snapshot(path) == before
    assert list(temporary.iterdir()) == []
    assert git(path, "status", "--porcelain=v1", "--untracked-files=all") == status


def test_the_number_of_git_calls_does_not_grow_with_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `git` first on PATH that logs each call and runs the real one.
    real = shutil.which("git")
    assert real is not None
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    path = new_repo(tmp_path / "repo")
    few = commit(
        path,
        {f"defs/t{i}.yaml": TASK.format(name=f"t{i}", objective="O.") for i in range(2)}
        | {"defs/schemas/price.json": SCHEMA.format(kind="number")},
        "few",
    )
    many = commit(
        path,
        {f"defs/t{i}.yaml": TASK.format(name=f"t{i}", objective="O.") for i in range(60)},
        "many",
    )
    monkeypatch.chdir(path)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    counts = []
    for sha in (few, many):
        log.write_text("")
        _, base = read_base(Path("defs"), sha, environ={})
        counts.append(len(log.read_text().splitlines()))
    assert len(base.tasks) == 60
    assert counts == [3, 3]
    log.write_text("")
    found = history_since(Path("defs"), few, [f"defs/t{i}.yaml" for i in range(60)])
    assert len(found) == 58
    assert len(log.read_text().splitlines()) == 2


# --- what the base holds -------------------------------------------------------------------------


def test_symlinks_in_the_base_are_followed_as_the_walk_follows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    two = TASK.format(name="two", objective="T.").replace("schemas/price.json", "schema-link.json")
    write(
        path,
        {
            "defs/.shared/one.yaml": TASK.format(name="one", objective="One."),
            "defs/schemas/price.json": SCHEMA.format(kind="number"),
            "defs/two.yaml": two,
        },
    )
    (path / "defs" / "link.yaml").symlink_to(".shared/one.yaml")
    (path / "defs" / "schema-link.json").symlink_to("schemas/../schemas/price.json")
    sha = commit(path, {}, "links")
    monkeypatch.chdir(path)
    _, base = read_base(Path("defs"), sha, environ={})
    same_state(base, checkout_state(tmp_path, path, sha, "defs"))
    assert [(t.name, t.source.path) for t in base.tasks] == [
        ("one", "defs/link.yaml"),
        ("two", "defs/two.yaml"),
    ]
    assert base.tasks[1].body["output_schema"]["type"] == "object"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing.yaml", "the symlink's target does not exist"),
        ("../outside.yaml", "symlink points outside the definitions directory"),
        ("/etc/hostname", "symlink points outside the definitions directory"),
        ("schemas", "symlinked folders are not followed"),
        (".", "symlink loop: the folder link points at a folder that holds it"),
        ("bad.yaml", "symlink loop: following the link leads back to itself"),
    ],
)
def test_a_symlink_the_walk_refuses_makes_the_base_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    path = new_repo(tmp_path / "repo")
    write(path, {"outside.yaml": "x", "defs/schemas/price.json": SCHEMA.format(kind="number")})
    (path / "defs" / "bad.yaml").symlink_to(target)
    sha = commit(path, {}, "link")
    monkeypatch.chdir(path)
    with pytest.raises(BaseUnavailable) as caught:
        read_base(Path("defs"), sha, environ={})
    assert f"the first: {sha[:7]}:defs/bad.yaml:1:1: {message}" in str(caught.value)
    with pytest.raises(ValidationFailed) as on_disk:
        validate_directory(Path("defs"), environ={})
    assert message in str(on_disk.value.problems[0])


def test_base_problems_are_located_as_sha_path_line(repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    bad = TASK.format(name="alpha", objective="A.") + "colour: red\n"
    sha = commit(path, {"defs/teams/shop/tasks.yaml": bad}, "bad")
    with pytest.raises(BaseUnavailable) as caught:
        read_base(Path("defs"), sha, environ={})
    message = str(caught.value)
    assert message.startswith(
        f"--base {sha}: the definitions at {sha[:7]} do not validate (1 problem); "
    )
    assert f"the first: {sha[:7]}:defs/teams/shop/tasks.yaml:7:1: colour:" in message
    assert "\n" not in message


def test_a_subfolder_root_read_from_elsewhere_names_paths_from_the_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    files = {
        "deploy/defs/a.yaml": TASK.format(name="a", objective="A."),
        "deploy/defs/schemas/price.json": SCHEMA.format(kind="number"),
    }
    good = commit(path, files, "good")
    broken = commit(path, {"deploy/defs/a.yaml": "kind: task\nname: [\n"}, "broken")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    root = path / "deploy" / "defs"
    _, base = read_base(root, good, environ={})
    assert [(t.name, t.source.path) for t in base.tasks] == [("a", str(root / "a.yaml"))]
    with pytest.raises(BaseUnavailable) as caught:
        read_base(root, broken, environ={})
    assert f"the first: {broken[:7]}:deploy/defs/a.yaml:3:1: invalid YAML" in str(caught.value)
    # A relative root from a folder inside the repository.
    monkeypatch.chdir(path / "deploy")
    _, relative = read_base(Path("defs"), good, environ={})
    assert [t.source.path for t in relative.tasks] == ["defs/a.yaml"]


def test_a_directory_absent_at_the_revision_is_an_empty_base(repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    commit(path, {"other/defs/a.yaml": TASK.format(name="a", objective="A.")}, "other")
    info, base = read_base(Path("other/defs"), first, environ={})
    assert (info.sha, info.directory_existed) == (first, False)
    assert base.tasks == ()
    assert dict(base.templates) == {}
    assert base.project.namespace is None


def test_a_directory_deleted_since_is_read_from_the_base(repo: tuple[Path, str, str]) -> None:
    path, first, _ = repo
    git(path, "rm", "-q", "-r", "defs")
    commit(path, {}, "gone")
    assert not (path / "defs").exists()
    _, base = read_base(Path("defs"), first, environ={})
    assert [t.name for t in base.tasks] == ["alpha", "beta"]


def test_a_path_that_was_a_file_is_refused(repo: tuple[Path, str, str]) -> None:
    _, first, _ = repo
    with pytest.raises(BaseUnavailable, match=r"defs/README.md was a file at that commit"):
        read_base(Path("defs/README.md"), first, environ={})


# --- refusals ------------------------------------------------------------------------------------


def test_an_unknown_revision_is_one_line(repo: tuple[Path, str, str]) -> None:
    with pytest.raises(BaseUnavailable) as caught:
        read_base(Path("defs"), "nope", environ={})
    assert str(caught.value) == "--base nope: no such commit in this repository"


@pytest.mark.parametrize("rev", ["--output=x", "-p", "", "a\nb", "x" * 300])
def test_an_option_or_odd_revision_is_refused_before_git_runs(
    repo: tuple[Path, str, str], rev: str
) -> None:
    path, _, _ = repo
    before = snapshot(path)
    with pytest.raises(BaseUnavailable, match=r"^--base "):
        read_base(Path("defs"), rev, environ={})
    assert snapshot(path) == before
    assert not (path / "x").exists()


def test_outside_a_checkout_and_without_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "defs").mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(
        BaseUnavailable, match=r"needs a git checkout, and .*defs is not inside one"
    ):
        read_base(tmp_path / "defs", "HEAD", environ={})
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(BaseUnavailable, match=r"^reading the base needs git on the PATH$"):
        read_base(tmp_path / "defs", "HEAD", environ={})


# --- shallow clones ------------------------------------------------------------------------------


def test_a_shallow_clone_missing_the_base_says_how_to_fetch_it(
    repo: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, first, second = repo
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{path}", str(clone)], check=True)
    monkeypatch.chdir(clone)
    with pytest.raises(BaseUnavailable) as caught:
        read_base(Path("defs"), first, environ={})
    assert str(caught.value) == (
        f"--base {first}: the commit is not in this shallow clone; fetch it: "
        f"git fetch --depth=1 origin {first}, or check out with fetch-depth: 0"
    )
    with pytest.raises(BaseUnavailable, match=r"is not in this shallow clone; fetch it"):
        history_since(Path("defs"), first, ["defs/teams/shop/tasks.yaml"])
    fetch_commit(Path("defs"), first)
    _, base = read_base(Path("defs"), first, environ={})
    assert base.tasks[0].body["objective"] == "Old alpha."
    # The history between is still cut: nothing is blamed on the shallow boundary.
    assert history_since(Path("defs"), first, ["defs/teams/shop/tasks.yaml"]) == {}
    fetch_commit(Path("defs"), second)  # already here: nothing to do


def test_fetch_commit_refuses_what_it_cannot_fetch(
    repo: tuple[Path, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _, _ = repo
    with pytest.raises(BaseUnavailable, match=r"^commit 0{12} is not in this repository$"):
        fetch_commit(Path("defs"), "0" * 40)
    with pytest.raises(BaseUnavailable, match=r"not a full commit SHA"):
        fetch_commit(Path("defs"), "HEAD")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{path}", str(clone)], check=True)
    monkeypatch.chdir(clone)
    with pytest.raises(BaseUnavailable, match=r"fetching it from origin failed .*fetch-depth: 0"):
        fetch_commit(Path("defs"), "1" * 40)


# --- history ------------------------------------------------------------------------------------


def test_history_names_the_newest_commit_after_the_base_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    schema = {"deploy/defs/schemas/price.json": SCHEMA.format(kind="number")}
    a, b, c = (f"deploy/defs/{n}.yaml" for n in "abc")
    base = commit(path, {**schema, a: "1", b: "1", c: "1"}, "base")
    commit(path, {a: "2"}, "older edit of a", author="Bob")
    newest = commit(path, {a: "3", "elsewhere.yaml": "x"}, "newest edit of a", author="Cy")
    hostile = "Eve \x1b[31m" + "e" * 500
    of_b = commit(path, {b: "2"}, "subject " + "s" * 500, author=hostile)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    root = path / "deploy" / "defs"
    found = history_since(
        root, base, [str(root / "a.yaml"), str(root / "b.yaml"), str(root / "c.yaml")]
    )
    assert set(found) == {str(root / "a.yaml"), str(root / "b.yaml")}
    info = found[str(root / "a.yaml")]
    assert (info.sha, info.author, info.subject) == (newest, "Cy", "newest edit of a")
    assert info.date.endswith("+00:00")
    assert info.short == newest[:7]
    long = found[str(root / "b.yaml")]
    assert long.sha == of_b
    assert long.author.startswith("Eve \x1b[31m")
    assert len(long.author) == MAX_COMMIT_TEXT
    assert len(long.subject) == MAX_COMMIT_TEXT
    monkeypatch.chdir(path / "deploy")
    relative = history_since(Path("defs"), base, ["defs/a.yaml", "defs/c.yaml"])
    assert list(relative) == ["defs/a.yaml"]
    assert history_since(Path("defs"), newest, ["defs/a.yaml"]) == {}


# --- the walk and `$file` over the tree, against the disk -----------------------------------------


def tree_problems(root: Path, sha: str) -> list[Problem]:
    """Every problem validating the base gives (the error shows the first only)."""
    git_ = _Git(Path.cwd())
    entries = _list_tree(git_, sha, str(root), sha)
    assert entries is not None
    tree = MemoryTree(root, entries, _read_blobs(git_, wanted_blobs(entries.values()), sha))
    sources, problems = read_tree_files(tree)
    try:
        state = validate_sources(
            root, sources, problems, Pack(), None, environ={}, read_yaml=tree.read_yaml, tree=tree
        )[1]
    except ValidationFailed as exc:
        return exc.problems
    return sorted(state.warnings)


def disk_problems(root: Path) -> list[Problem]:
    try:
        return sorted(validate_directory(root, environ={}).warnings)
    except ValidationFailed as exc:
        return exc.problems


def same_as_disk(path: Path, files: dict[str, str], links: dict[str, str]) -> list[Problem]:
    write(path, files)
    for link, target in links.items():
        (path / link).parent.mkdir(parents=True, exist_ok=True)
        (path / link).symlink_to(target)
    sha = commit(path, {}, "case")
    from_git = tree_problems(Path("defs"), sha)
    assert from_git == disk_problems(Path("defs"))
    return from_git


def with_ref(name: str, ref: str) -> str:
    return TASK.format(name=name, objective="O.").replace("schemas/price.json", ref)


def test_the_walk_over_the_tree_refuses_and_skips_what_the_disk_walk_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    monkeypatch.chdir(path)
    deep = "/".join(f"d{i}" for i in range(MAX_FOLDER_DEPTH + 1))
    files = {
        "defs/schemas/price.json": SCHEMA.format(kind="number"),
        "defs/ok.yaml": TASK.format(name="ok", objective="O."),
        "defs/.hidden/bad.yaml": "[",
        "defs/.hidden.yaml": "[",
        f"defs/sub/{INCOMPLETE_EXPORT_MARKER}": "",
        f"defs/{INCOMPLETE_EXPORT_MARKER}/x.yaml": "",
        "defs/folder.yaml/x.yaml": TASK.format(name="x", objective="O."),
        "defs/folder.yaml/y.yaml": TASK.format(name="y", objective="O."),
        "defs/bad\x01name.yaml": "",
        "defs/bad\x01folder/x.yaml": "",
        f"defs/{deep}/deep.yaml": "",
        f"defs/{deep[:-3]}/shallow-enough.yaml": TASK.format(name="d", objective="O."),
        "defs/empty.yaml": "# nothing\n",
        "defs/big.yaml": "#" * (MAX_FILE_BYTES + 1),
        "defs/titan-gitops.yaml": "max_deletes: 1\n---\nmax_deletes: 2\n",
        "defs/sub/notes.txt": "ignored",
    }
    problems = same_as_disk(path, files, {"defs/sub/other.txt": "../ok.yaml"})
    messages = {(p.path, p.message.split(";")[0]) for p in problems}
    assert ("defs/folder.yaml", "is a folder, not a definition file") in messages
    assert ("defs/big.yaml", f"file is {MAX_FILE_BYTES + 1} bytes") in messages
    assert len(problems) == 9


def test_non_utf8_content_and_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = new_repo(tmp_path / "repo")
    monkeypatch.chdir(path)
    (path / "defs").mkdir()
    (path / "defs" / "latin.yaml").write_bytes(b"kind: task\nname: caf\xe9\n")
    (path / os.fsdecode(b"defs/bad\xff.yaml")).write_bytes(b"")
    problems = same_as_disk(path, {}, {})
    assert [p.message for p in problems] == [
        "the name is not valid UTF-8; rename it",
        "the file is not valid UTF-8",
    ]


@pytest.mark.parametrize(
    ("ref", "links"),
    [
        ("missing.json", {}),
        ("schemas", {}),
        ("link.json", {"defs/link.json": "nowhere.json"}),
        ("link.json", {"defs/link.json": "link.json"}),
        ("link.json", {"defs/link.json": "../outside.json"}),
        ("link.json", {"defs/link.json": "/etc/hostname"}),
        ("via/price.json", {"defs/via": "schemas"}),
        ("ok.yaml", {}),
        ("schemas/list.json", {}),
        ("big.json", {}),
    ],
)
def test_file_references_in_the_tree_resolve_as_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, links: dict[str, str]
) -> None:
    path = new_repo(tmp_path / "repo")
    monkeypatch.chdir(path)
    files = {
        "outside.json": "{}",
        "defs/schemas/price.json": SCHEMA.format(kind="number"),
        "defs/schemas/list.json": "[1]",
        "defs/big.json": " " * (MAX_FILE_BYTES + 1),
        "defs/ok.yaml": TASK.format(name="ok", objective="O."),
        "defs/t.yaml": with_ref("t", ref),
    }
    same_as_disk(path, files, links)


def test_a_submodule_in_the_base_is_a_located_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    monkeypatch.chdir(path)
    sha = commit(path, {"defs/t.yaml": with_ref("t", "mod")}, "t")
    git(path, "update-index", "--add", "--cacheinfo", f"160000,{sha},defs/mod")
    git(path, "update-index", "--add", "--cacheinfo", f"160000,{sha},defs/.hidden-mod")
    git(path, "commit", "-q", "-m", "submodule")
    problems = tree_problems(Path("defs"), git(path, "rev-parse", "HEAD"))
    assert [(p.path, p.message) for p in problems] == [
        ("defs/mod", "is a git submodule; a base read from git does not look inside it"),
        ("defs/t.yaml", "'mod' is a git submodule, not a regular file"),
    ]


def test_the_caps_on_one_base(repo: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, first, _ = repo
    monkeypatch.setattr(gitbase, "MAX_BASE_FILES", 4)
    with pytest.raises(BaseUnavailable, match=r": the directory holds over 4 files$"):
        read_base(Path("defs"), first, environ={})
    monkeypatch.setattr(gitbase, "MAX_BASE_FILES", 5)
    monkeypatch.setattr(gitbase, "MAX_BASE_BYTES", 300)
    with pytest.raises(
        BaseUnavailable, match=r": the files to read hold \d{3} bytes; the limit is 300$"
    ):
        read_base(Path("defs"), first, environ={})


def test_the_root_as_dot_is_located_from_the_top(repo: tuple[Path, str, str]) -> None:
    path, _, _ = repo
    sha = commit(path, {"defs/teams/shop/tasks.yaml": "kind: nope\n"}, "bad")
    os.chdir(path / "defs")
    with pytest.raises(
        BaseUnavailable, match=rf"the first: {sha[:7]}:defs/teams/shop/tasks.yaml:1:"
    ):
        read_base(Path("."), sha, environ={})


def test_history_refusals(repo: tuple[Path, str, str], tmp_path: Path) -> None:
    with pytest.raises(BaseUnavailable, match=r"^commit 0{12} is not in this repository$"):
        history_since(Path("defs"), "0" * 40, ["defs/teams/shop/tasks.yaml"])
    with pytest.raises(BaseUnavailable, match=r"^not a full commit SHA: '--all'$"):
        history_since(Path("defs"), "--all", [])
    outside = tmp_path / "outside"
    outside.mkdir()
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    try:
        with pytest.raises(BaseUnavailable, match=r"^reading history needs a git checkout"):
            history_since(outside, "1" * 40, [])
        with pytest.raises(BaseUnavailable, match=r"^fetching the base needs a git checkout"):
            fetch_commit(outside, "1" * 40)
    finally:
        del os.environ["GIT_CEILING_DIRECTORIES"]


def test_the_memory_tree_outside_its_root() -> None:
    tree = MemoryTree(Path("defs"), {})
    assert tree.real_path(Path("other/x.json")) == Path("other/x.json")
    assert tree.file_problem(Path("other/x.json")) == "does not exist"
    (problem,) = tree.read_yaml(Path("defs/x.json"), "defs/x.json")[1]
    assert problem.message == "the file does not exist"


# --- files unchanged since the base are parsed once -----------------------------------------------

PLAIN = (
    "kind: task\nname: {name}\nurls: ['https://shop.example.com/{name}']\nobjective: {objective}\n"
)
PLAIN += "execution_type: single\noutput_schema: {{type: object}}\n"
SECRET = PLAIN.replace("objective: {objective}", "objective: '{objective} ${{TITAN_VAR_KEY}}'")


def test_a_base_read_with_the_checkouts_pack_shares_only_what_validation_leaves_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    files = {
        "defs/titan-gitops.yaml": PROJECT,
        "defs/plain.yaml": PLAIN.format(name="plain", objective="Same."),
        "defs/secret.yaml": SECRET.format(name="secret", objective="Same."),
        "defs/schemas/price.json": SCHEMA.format(kind="number"),
        "defs/ref.yaml": TASK.format(name="ref", objective="Same."),
        "defs/moved.yaml": PLAIN.format(name="moved", objective="Old."),
    }
    first = commit(path, files, "first")
    commit(path, {"defs/moved.yaml": PLAIN.format(name="moved", objective="New.")}, "second")
    monkeypatch.chdir(path)
    environ = {"TITAN_VAR_KEY": "k3y-value"}
    _, current, pack = load_and_validate(Path("defs"), environ=environ, cache=None)
    assert pack is not None
    assert pack.files is not None
    # Substituted (${) or resolved ($file) in place by validation: never in the pack.
    assert set(pack.files) == {"defs/plain.yaml", "defs/moved.yaml"}
    with_pack = read_base(Path("defs"), first, environ=environ, reusable=pack)[1]
    without = read_base(Path("defs"), first, environ=environ)[1]
    same_state(with_pack, without)
    ours = {id(t) for t in current.tasks}
    assert [t.name for t in with_pack.tasks if id(t) in ours] == ["plain"]
    secret = next(t for t in with_pack.tasks if t.name == "secret")
    assert secret.sensitive_paths == frozenset({"/objective"})
    assert next(t for t in with_pack.tasks if t.name == "moved").body["objective"] == "Old."


def test_git_trusts_another_users_repository_only_inside_an_actions_workspace(
    tmp_path: Path,
) -> None:
    from titan_gitops.gitbase import trusted_folders

    workspace = tmp_path / "work"
    inner = workspace / "repo" / "defs"
    inner.mkdir(parents=True)
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace)}
    real = Path(os.path.realpath(workspace))
    assert trusted_folders(inner, actions) == [real / "repo" / "defs", real / "repo", real]
    # Outside a job, or outside the workspace, nothing is trusted beyond git's own rules: a
    # repository planted in a shared folder above the directory is never trusted.
    assert trusted_folders(inner, {}) == []
    assert trusted_folders(tmp_path, actions) == []
    assert trusted_folders(inner, {"GITHUB_WORKSPACE": str(workspace)}) == []


TEMPLATE_DOC = (
    "kind: template\nname: page\nexecution_type: single\noutput_schema: {{type: {kind}}}\n"
)
EXTENDING = (
    "kind: task\nname: {name}\nextends: page\n"
    "urls: ['https://shop.example.com/{name}']\nobjective: {objective}\n"
)


def three_on_a_template() -> dict[str, str]:
    """A project, a template, two tasks extending it and one plain task."""
    return {
        "defs/titan-gitops.yaml": PROJECT,
        "defs/page.yaml": TEMPLATE_DOC.format(kind="object"),
        "defs/a.yaml": EXTENDING.format(name="alpha", objective="A."),
        "defs/b.yaml": EXTENDING.format(name="beta", objective="B."),
        "defs/c.yaml": PLAIN.format(name="gamma", objective="C."),
    }


def base_and_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: Mapping[str, str | None]
) -> tuple[str, DesiredState, DesiredState]:
    """A base of three tasks on one template, then `second` committed: the base read with the
    checkout's load and state (shortcut allowed), and read alone (every file validated)."""
    path = new_repo(tmp_path / "repo")
    first = commit(path, three_on_a_template(), "first")
    commit(path, second, "second")
    monkeypatch.chdir(path)
    _, current, pack = load_and_validate(Path("defs"), environ={}, cache=None)
    fast = read_base(Path("defs"), first, environ={}, reusable=pack)[1]
    slow = read_base(Path("defs"), first, environ={})[1]
    # Through a cache on disk, written and read back: the same.
    cache = DefinitionCache(tmp_path / "cache")
    load_and_validate(Path("defs"), environ={}, cache=cache)
    _, cached, stored = load_and_validate(Path("defs"), environ={}, cache=cache)
    assert cached == current
    packed = read_base(Path("defs"), first, environ={}, reusable=stored)[1]
    for other in (fast, packed):
        assert other.tasks == slow.tasks
        assert [t.body for t in other.tasks] == [t.body for t in slow.tasks]
        assert dict(other.templates) == dict(slow.templates)
        assert other.project == slow.project
        assert other.warnings == slow.warnings
    return first, fast, current


def test_unchanged_task_documents_take_the_checkouts_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base, current = base_and_checkout(
        tmp_path, monkeypatch, {"defs/a.yaml": EXTENDING.format(name="alpha", objective="New.")}
    )
    by_name = {t.name: t for t in current.tasks}
    kept = [t.name for t in base.tasks if t is by_name[t.name]]
    assert kept == ["beta", "gamma"]  # alpha changed: validated at the base, not taken
    assert next(t for t in base.tasks if t.name == "alpha").body["objective"] == "A."


@pytest.mark.parametrize(
    "second",
    [
        {"defs/page.yaml": TEMPLATE_DOC.format(kind="object") + "proxy_locations: [de]\n"},
        {"defs/titan-gitops.yaml": "max_deletes: 4\n"},  # the project file moved
        {
            "defs/c.yaml": PLAIN.format(name="gamma", objective="C.")
            + "---\n"
            + TEMPLATE_DOC.format(kind="object").replace("page", "other")
        },
    ],
    ids=["template", "project", "a-template-added-to-a-task-file"],
)
def test_anything_but_task_documents_moving_validates_the_whole_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, second: Mapping[str, str | None]
) -> None:
    _, base, current = base_and_checkout(tmp_path, monkeypatch, second)
    by_name = {t.name: t for t in current.tasks}
    assert not [t.name for t in base.tasks if t is by_name.get(t.name)]


def test_the_checkouts_pack_stands_in_for_the_bases_unchanged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = new_repo(tmp_path / "repo")
    first = commit(path, three_on_a_template(), "first")
    commit(path, {"defs/a.yaml": EXTENDING.format(name="alpha", objective="New.")}, "second")
    monkeypatch.chdir(path)
    cache = DefinitionCache(tmp_path / "cache")
    _, current, pack = load_and_validate(Path("defs"), environ={}, cache=cache)
    base = read_base(Path("defs"), first, environ={}, reusable=pack)[1]
    ours = {id(t) for t in current.tasks}
    assert [t.name for t in base.tasks if id(t) in ours] == ["beta", "gamma"]
    assert next(t for t in base.tasks if t.name == "alpha").body["objective"] == "A."
    # A template that moved since the base: nothing is taken from the pack.
    moved = TEMPLATE_DOC.format(kind="object") + "proxy_locations: [de]\n"
    commit(path, {"defs/page.yaml": moved}, "third")
    _, current, pack = load_and_validate(Path("defs"), environ={}, cache=cache)
    base = read_base(Path("defs"), first, environ={}, reusable=pack)[1]
    assert not {id(t) for t in base.tasks} & {id(t) for t in current.tasks}
    assert base == read_base(Path("defs"), first, environ={})[1]
