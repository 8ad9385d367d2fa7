"""`on-drift: pull-request`, end to end: the drift command run as action.yml runs it, git pushing
to a local bare repository as `origin`, the fake GitHub serving the pull request calls."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from .conftest import DIRECTORY, GITHUB_TOKEN, TOKEN, ActionRun, write_task
from .fake_github import HUMAN, FakeGitHub
from .test_action_e2e import no_traceback
from .test_threeway_action import ALLOW, apply, commit, drift, edit_in_console, git, start_repo

BRANCH = f"titan-gitops/adopt/{DIRECTORY}"
PRICES = f"{DIRECTORY}/tasks/shop-prices.yaml"
STOCK = f"{DIRECTORY}/tasks/shop-stock.yaml"
PULL = {"TG_ON_DRIFT": "pull-request"}


@pytest.fixture
def origin(workspace: Path, tmp_path: Path) -> Path:
    """A bare repository as the checkout's `origin` (file://)."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    return bare


def deployed(workspace: Path, origin: Path, github: FakeGitHub, titan_url: str) -> str:
    """Commit A pushed to origin and applied (the base)."""
    sha = start_repo(workspace)
    git(workspace, "remote", "add", "origin", f"file://{origin}")
    git(workspace, "push", "-q", "origin", "main")
    github.push(sha)
    run = apply(workspace, github, titan_url, sha, inputs=ALLOW)
    assert run.returncode == 0, run.stdout + run.stderr
    return sha


def branch_head(origin: Path) -> str | None:
    listed = git(origin, "for-each-ref", "--format=%(objectname)", f"refs/heads/{BRANCH}")
    return listed or None


def shown(origin: Path, rev: str, path: str) -> str:
    return git(origin, "show", f"{rev}:{path}") + "\n"


def adopt_pulls(github: FakeGitHub) -> list[dict[str, Any]]:
    return [p for p in github.pulls.values() if p["head"]["ref"] == BRANCH]


def run_drift(
    workspace: Path, github: FakeGitHub, titan_url: str, sha: str, **inputs: str
) -> ActionRun:
    run = drift(workspace, github, titan_url, sha, **{**PULL, **inputs})
    no_traceback(run)
    shown = [line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")]
    text = "\n".join([*shown, run.stderr, run.summary, *github.posted_bodies()])
    config_file = workspace / ".git" / "config"
    config = config_file.read_text(encoding="utf-8") if config_file.exists() else ""
    for secret in (
        GITHUB_TOKEN,
        TOKEN,
        base64.b64encode(f"x-access-token:{GITHUB_TOKEN}".encode()).decode(),
    ):
        assert secret not in text
        assert secret not in config
    return run


def only_line_changed(before: str, after: str, key: str) -> None:
    """`after` is `before` byte for byte but for the line of top-level `key`."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    differ = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
    assert len(differ) == 1
    assert new[differ[0]].startswith(f"{key}:")


def test_a_console_edit_opens_one_pull_request_and_runs_are_idempotent(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    first = run_drift(workspace, github, titan_url, sha)
    assert first.returncode == 1  # drift still fails the check
    [pull] = adopt_pulls(github)
    assert pull["title"] == f"Adopt live edits in {DIRECTORY}"
    assert pull["base"] == {"ref": "main"}
    assert "titan-gitops:adopt dir=teams/shop" in pull["body"]
    assert "Extract prices in EUR." in pull["body"]
    assert "Adopted from Titan" in pull["body"]
    head = branch_head(origin)
    assert head is not None
    assert git(origin, "rev-parse", f"{head}~1") == sha
    only_line_changed(shown(origin, sha, PRICES), shown(origin, head, PRICES), "objective")
    assert "Extract prices in EUR." in shown(origin, head, PRICES)
    assert shown(origin, head, STOCK) == shown(origin, sha, STOCK)
    message = git(origin, "log", "-1", "--format=%an <%ae>%n%B", head)
    assert message.startswith("github-actions[bot] <")
    assert "- shop-prices: objective" in message
    assert f"opened adopt pull request #{pull['number']}" in first.stdout
    assert not [i for i in github.issues.values()]  # pull-request alone: no drift issue
    # The checkout was not touched: same HEAD, same working tree.
    assert git(workspace, "rev-parse", "HEAD") == sha
    assert git(workspace, "status", "--porcelain") == ""

    again = run_drift(workspace, github, titan_url, sha)
    assert branch_head(origin) == head
    assert "already holds these edits: no new commit" in again.stdout
    assert len(adopt_pulls(github)) == 1

    edit_in_console(titan_url, "shop-stock", "Extract stock in boxes.")
    second = run_drift(workspace, github, titan_url, sha)
    new_head = branch_head(origin)
    assert new_head is not None
    assert new_head != head
    message = git(origin, "log", "-1", "--format=%B", new_head)
    assert "- shop-stock: objective" in message
    assert "shop-prices" not in message  # each commit names what it changes
    assert git(origin, "rev-parse", f"{new_head}~1") == head  # exactly one more commit
    assert "Extract stock in boxes." in shown(origin, new_head, STOCK)
    assert shown(origin, new_head, PRICES) == shown(origin, head, PRICES)
    [same] = adopt_pulls(github)
    assert same["number"] == pull["number"]
    assert "Extract stock in boxes." in same["body"]
    assert f"updated adopt pull request #{pull['number']}" in second.stdout


def test_reverting_in_titan_closes_the_pull_request_and_deletes_the_branch(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run_drift(workspace, github, titan_url, sha)
    [pull] = adopt_pulls(github)
    edit_in_console(titan_url, "shop-prices", "Extract product names.")
    quiet = run_drift(workspace, github, titan_url, sha)
    assert quiet.returncode == 0, quiet.stdout
    assert github.pulls[pull["number"]]["state"] == "closed"
    [comment] = github.comments[pull["number"]]
    assert "nothing to adopt" in comment["body"]
    assert branch_head(origin) is None
    assert f"closed adopt pull request #{pull['number']}; deleted branch {BRANCH}" in quiet.stdout


def test_a_human_commit_on_the_branch_is_never_force_pushed_over(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str, tmp_path: Path
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run_drift(workspace, github, titan_url, sha)
    clone = tmp_path / "human"
    git(tmp_path, "clone", "-q", "-b", BRANCH, f"file://{origin}", str(clone))
    write_task(clone / DIRECTORY, "shop-prices", objective="Extract prices in EUR, rounded.")
    human = commit(clone, "tweak the adopted objective")
    git(clone, "push", "-q", "origin", BRANCH)
    edit_in_console(titan_url, "shop-stock", "Extract stock in boxes.")
    run = run_drift(workspace, github, titan_url, sha)
    assert branch_head(origin) == human
    assert "holds a commit not made by titan-gitops" in run.stdout
    assert "never force-pushed" in run.stdout
    [pull] = adopt_pulls(github)
    assert "never force-pushed" in pull["body"]


def test_on_drift_issue_makes_no_branch_and_no_pull_request(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run = run_drift(workspace, github, titan_url, sha, TG_ON_DRIFT="issue")
    assert run.returncode == 1
    assert branch_head(origin) is None
    assert github.pulls == {}
    assert [i for i in github.issues.values() if "titan-gitops:drift" in i["body"]]


def test_both_keeps_the_issue_and_opens_the_pull_request(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run_drift(workspace, github, titan_url, sha, TG_ON_DRIFT="both")
    assert len(adopt_pulls(github)) == 1
    assert [i for i in github.issues.values() if "titan-gitops:drift" in i["body"]]


def test_without_a_base_no_pull_request_is_opened_and_it_is_said_once(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = start_repo(workspace)
    git(workspace, "remote", "add", "origin", f"file://{origin}")
    github.push(sha)
    run = run_drift(workspace, github, titan_url, sha)
    assert run.stdout.count("No adopt pull request: without a base") == 1
    assert branch_head(origin) is None
    assert github.pulls == {}


def test_a_bad_on_drift_value_is_one_line_naming_the_input(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = run_drift(workspace, github, titan_url, "a" * 40, TG_ON_DRIFT="pr")
    assert run.returncode == 1
    assert "input on-drift must be issue, pull-request or both, got 'pr'" in run.stdout


@pytest.mark.parametrize(
    "who", [{"user": HUMAN}, {"head_repo": "mallory/tasks"}], ids=["a person", "a fork"]
)
def test_a_pull_request_the_bot_did_not_open_is_not_taken_over(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str, who: dict[str, Any]
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    forged = github.add_pull(BRANCH, "<!-- titan-gitops:adopt dir=teams/shop -->", **who)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run = run_drift(workspace, github, titan_url, sha)
    assert github.pulls[forged["number"]]["body"] == "<!-- titan-gitops:adopt dir=teams/shop -->"
    assert "a pull request not opened by titan-gitops is open for branch" in run.stdout


def test_when_main_moved_a_bot_only_branch_is_recreated_on_its_head(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run_drift(workspace, github, titan_url, sha)
    (workspace / DIRECTORY / "README.md").write_text("The shop team's tasks.\n", encoding="utf-8")
    moved = commit(workspace, "B: a readme")
    git(workspace, "push", "-q", "origin", "main")
    github.push(moved, sha)
    run = run_drift(workspace, github, titan_url, moved)
    head = branch_head(origin)
    assert head is not None
    assert git(origin, "rev-parse", f"{head}~1") == moved  # one commit, on the new head
    only_line_changed(shown(origin, moved, PRICES), shown(origin, head, PRICES), "objective")
    assert "recreated branch" in run.stdout
    assert len(adopt_pulls(github)) == 1


def test_merging_the_adopt_pull_request_closes_it_and_deletes_the_branch(
    workspace: Path, origin: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha = deployed(workspace, origin, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run_drift(workspace, github, titan_url, sha)
    [pull] = adopt_pulls(github)
    git(workspace, "fetch", "-q", "origin", BRANCH)
    git(workspace, "merge", "-q", "--ff-only", "FETCH_HEAD")
    merged = git(workspace, "rev-parse", "HEAD")
    git(workspace, "push", "-q", "origin", "main")
    github.push(merged, sha)
    run = run_drift(workspace, github, titan_url, merged)
    assert run.returncode == 0, run.stdout
    assert github.pulls[pull["number"]]["state"] == "closed"
    assert branch_head(origin) is None


def test_the_branch_names_the_directory_and_a_directory_no_branch_can_name_is_refused() -> None:
    from titan_gitops.errors import ConfigError
    from titan_gitops.github.adopt_git import adopt_branch

    assert adopt_branch("./teams/shop/") == BRANCH
    assert adopt_branch(".") == "titan-gitops/adopt-root"
    for bad in ("teams/shop.lock", "teams/a..b", "teams/sh op", "../shop"):
        with pytest.raises(ConfigError, match=r"^input directory: .* on-drift: pull-request"):
            adopt_branch(bad)
