"""The `approval` input end to end: review and codeowners approvals checked before apply.

A pull request is planned (the bot's comment records its head commit), merged, and the push run
applies with `approval: review` or `approval: codeowners`; reviews, the pull request's files,
CODEOWNERS at its base commit and team memberships come from the fake GitHub.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import DIRECTORY, ActionRun, write_task
from .fake_github import FakeGitHub
from .test_action_e2e import HEAD, MERGE, apply_merge, no_traceback, plan_pr, titan_tasks
from .test_deployments import HEAD_A, HEAD_B, HEAD_C, SHA_A, SHA_B, SHA_C, apply, merge, plan

pytestmark = pytest.mark.e2e
AUTHOR = "pat"
BASE = "c0" * 20
OLDER = "d0" * 20
TASK_FILE = f"{DIRECTORY}/tasks/shop-prices.yaml"


def planned_and_merged(
    workspace: Path, github: FakeGitHub, titan_url: str, files: tuple[str, ...] = (TASK_FILE,)
) -> None:
    """PR #7 (by @pat, base BASE, head HEAD) is planned, then merged as MERGE."""
    assert plan_pr(workspace, github, titan_url).returncode == 0
    github.commit_pulls[MERGE] = [
        {
            "number": 7,
            "merged_at": "2026-11-28T12:00:00Z",
            "merge_commit_sha": MERGE,
            "head": {"sha": HEAD},
            "base": {"sha": BASE, "ref": "main"},
            "user": {"login": AUTHOR, "type": "User"},
        }
    ]
    github.pull_files[7] = list(files)


def apply_with(
    workspace: Path, github: FakeGitHub, titan_url: str, mode: str, **inputs: str
) -> ActionRun:
    return apply_merge(workspace, github, titan_url, inputs={"TG_APPROVAL": mode, **inputs})


def shown(run: ActionRun) -> str:
    """The step summary as it reads: @-mentions are defused with a word joiner."""
    return run.summary.replace("\u2060", "")


def refused(run: ActionRun, titan_url: str, *phrases: str) -> None:
    assert run.returncode == 1, run.stdout
    for phrase in phrases:
        assert phrase in shown(run), run.summary
    assert "::error::Refusing to apply" in run.stdout
    assert titan_tasks(titan_url) == {}
    no_traceback(run)


# --- review ----------------------------------------------------------------------------------


def test_an_approval_of_the_planned_commit_applies(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, "alice", "COMMENTED", HEAD)
    github.add_review(7, "alice", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "review")
    assert run.returncode == 0, run.stdout
    assert f"@alice approved commit {HEAD[:12]} (approval: review)" in shown(run)
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}


def test_an_approval_of_an_earlier_commit_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, "alice", "APPROVED", OLDER)
    run = apply_with(workspace, github, titan_url, "review")
    refused(
        run,
        titan_url,
        f"pull request #7 has no approving review of commit {HEAD[:12]} (the commit its plan "
        f"comment shows); @alice approved {OLDER[:12]}, a different commit: approve again after "
        "the plan comment was updated",
    )
    (deployment,) = github.deployments
    assert github.states(deployment["id"]) == ["in_progress", "failure"]


def test_the_authors_own_approval_never_counts(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, AUTHOR, "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "review")
    refused(run, titan_url, f"pull request #7 has no approving review of commit {HEAD[:12]}")
    assert f"@{AUTHOR}" not in shown(run)


def test_a_reviewer_requesting_changes_blocks(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, "alice", "APPROVED", HEAD)
    github.add_review(7, "bob", "APPROVED", OLDER)
    github.add_review(7, "bob", "CHANGES_REQUESTED", HEAD)
    github.add_review(7, "bob", "COMMENTED", HEAD)  # a later comment does not lift it
    run = apply_with(workspace, github, titan_url, "review")
    refused(run, titan_url, "@bob requested changes on pull request #7")


def test_allow_unreviewed_overrides_and_says_so(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    planned_and_merged(workspace, github, titan_url)
    run = apply_with(workspace, github, titan_url, "review", TG_ALLOW_UNREVIEWED="true")
    assert run.returncode == 0, run.stdout
    assert "Applying although pull request #7 has no approving review" in shown(run)
    assert "allow-unreviewed is set" in shown(run)
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}


def test_an_unknown_approval_mode_is_one_line_naming_the_input(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = apply_with(workspace, github, titan_url, "reviews")
    assert run.returncode == 1
    assert "input approval must be comment, review or codeowners, got 'reviews'" in run.stdout
    assert github.requests == []
    no_traceback(run)


# --- codeowners ------------------------------------------------------------------------------

CODEOWNERS = "* @acme/platform\n/teams/shop/ @alice @acme/shop lead@acme.example\n"


def test_a_code_owners_approval_applies(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.contents[(BASE, ".github/CODEOWNERS")] = CODEOWNERS
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, "Alice", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "codeowners")
    assert run.returncode == 0, run.stdout
    assert f"@alice, code owner of {DIRECTORY}, approved commit {HEAD[:12]}" in shown(run)


def test_an_approval_by_someone_who_owns_nothing_there_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.contents[(BASE, "CODEOWNERS")] = CODEOWNERS
    github.teams["acme/shop"] = {"carol"}
    # A path is the pull request's text: escaped in the summary.
    odd = f"{DIRECTORY}/tasks/*new*.yaml"
    planned_and_merged(workspace, github, titan_url, files=(TASK_FILE, odd))
    github.add_review(7, "mallory", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "codeowners")
    refused(
        run,
        titan_url,
        f"from a code owner of {DIRECTORY}/tasks/\\*new\\*.yaml (owners: @alice, @acme/shop)",
        "email owners cannot be matched to a login and were skipped",
        "@mallory approved it but is not among them",
    )


def test_codeowners_changed_by_the_pull_request_itself_does_not_count(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.contents[(BASE, ".github/CODEOWNERS")] = CODEOWNERS
    github.contents[(HEAD, ".github/CODEOWNERS")] = "* @mallory\n"
    github.contents[(MERGE, ".github/CODEOWNERS")] = "* @mallory\n"
    github.teams["acme/shop"] = {"carol"}
    planned_and_merged(workspace, github, titan_url, files=(TASK_FILE, ".github/CODEOWNERS"))
    github.add_review(7, "mallory", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "codeowners")
    refused(run, titan_url, "owners: @alice, @acme/shop")
    reads = [r for r in github.requests if "/contents/" in r.path]
    assert reads
    assert all(r.path.endswith("/contents/.github/CODEOWNERS") for r in reads)


def test_a_member_of_an_owning_team_approves(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.contents[(BASE, "docs/CODEOWNERS")] = CODEOWNERS
    github.teams["acme/shop"] = {"carol"}
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, "carol", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "codeowners")
    assert run.returncode == 0, run.stdout
    assert "@carol, code owner of" in shown(run)
    assert any(r.path == "/orgs/acme/teams/shop/memberships/carol" for r in github.requests)


def test_a_team_the_token_cannot_see_is_refused_naming_read_org(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.contents[(BASE, "docs/CODEOWNERS")] = CODEOWNERS
    github.teams["acme/shop"] = {"carol"}
    github.hidden_teams.add("acme/shop")
    planned_and_merged(workspace, github, titan_url)
    github.add_review(7, "carol", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "codeowners")
    refused(run, titan_url, "cannot see team @acme/shop", "read:org")


def test_no_owner_for_the_directory_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    # Only a $file target outside the directory changed: its titan-gitops.yaml is what counts.
    github.contents[(BASE, "CODEOWNERS")] = "/teams/shop/tasks/ @alice\n/shared/ @alice\n"
    planned_and_merged(workspace, github, titan_url, files=("shared/prices.json",))
    github.add_review(7, "alice", "APPROVED", HEAD)
    run = apply_with(workspace, github, titan_url, "codeowners")
    refused(
        run,
        titan_url,
        f"CODEOWNERS names no owner for {DIRECTORY}: codeowners approval cannot be met; add an "
        "owner or use approval: review",
    )


# --- queued merges ---------------------------------------------------------------------------


def test_queued_merges_each_need_their_own_approval(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    root = workspace / DIRECTORY
    mode = {"TG_APPROVAL": "review"}
    write_task(root, "shop-prices", objective="Version A")
    plan(workspace, github, titan_url, 1, HEAD_A)
    merge(github, 1, SHA_A, HEAD_A)
    github.add_review(1, "alice", "APPROVED", HEAD_A)
    assert apply(workspace, github, titan_url, SHA_A, inputs=mode).returncode == 0
    # PR #2 edits shop-stock, PR #3 adds shop-new; both merge while queued; only #3 is approved.
    write_task(root, "shop-stock", objective="Stock, version B.")
    plan(workspace, github, titan_url, 2, HEAD_B)
    write_task(root, "shop-stock", objective="Extract stock levels.")
    write_task(root, "shop-new", objective="New in C.")
    plan(workspace, github, titan_url, 3, HEAD_C)
    merge(github, 2, SHA_B, HEAD_B, parent=SHA_A)
    merge(github, 3, SHA_C, HEAD_C, parent=SHA_B)
    github.add_review(3, "alice", "APPROVED", HEAD_C)
    write_task(root, "shop-stock", objective="Stock, version B.")
    run = apply(workspace, github, titan_url, SHA_C, inputs=mode)
    assert run.returncode == 1, run.stdout
    assert f"pull request #2 has no approving review of commit {HEAD_B[:12]}" in shown(run)
    assert "#3 has no" not in shown(run)
    assert "shop-new" not in titan_tasks(titan_url)
    github.add_review(2, "bob", "APPROVED", HEAD_B)
    again = apply(workspace, github, titan_url, SHA_C, inputs=mode)
    assert again.returncode == 0, again.stdout
    assert titan_tasks(titan_url)["shop-new"]["objective"] == "New in C."
