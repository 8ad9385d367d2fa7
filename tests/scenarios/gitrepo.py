"""A real git repository in a temporary folder, for the three-way golden scenarios.

Every commit is made with a fixed author, committer and date, so its id is the same on every run
and machine; the scenarios still name commit ids by their number (`<commit-1>`), never by value.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

AUTHOR = "Dana Reviewer"
EMAIL = "dana@example.test"
DATES = ("2026-11-20T10:00:00+00:00", "2026-11-25T15:30:00+00:00")


def git(cwd: Path, *args: str, date: str = DATES[0]) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": AUTHOR,
        "GIT_AUTHOR_EMAIL": EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR,
        "GIT_COMMITTER_EMAIL": EMAIL,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
    }
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgSign=false", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def commit_definitions(repo: Path, source: Path | None, message: str, number: int) -> str:
    """Make `repo/definitions` hold exactly the files of `source` (none: no such directory) and
    commit that; returns the commit id."""
    target = repo / "definitions"
    if target.exists():
        shutil.rmtree(target)
    if source is not None:
        shutil.copytree(source, target)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message, date=DATES[number - 1])
    return git(repo, "rev-parse", "HEAD")


def new_repository(folder: Path) -> Path:
    """An empty repository with a README, so that a commit without definitions/ is not empty."""
    folder.mkdir()
    git(folder, "init", "--quiet")
    (folder / "README.md").write_text("Scraping tasks.\n", encoding="utf-8")
    return folder


def shallow_clone(origin: Path, folder: Path) -> Path:
    """A clone of `origin` holding its newest commit only, as actions/checkout makes by default."""
    git(origin.parent, "clone", "--quiet", "--depth=1", origin.resolve().as_uri(), str(folder))
    return folder
