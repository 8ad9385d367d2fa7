"""Closing the loop: the merged pull request hears how its apply went; a directory whose apply
does not go through keeps one issue open, closed by the next successful apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .fake_github import FakeGitHub
from .test_action_e2e import apply_merge, merge_pull, no_traceback, plan_pr, titan_tasks
from .test_deployments import SHA_A, apply, apply_a_then_b, set_objective

pytestmark = pytest.mark.e2e


def result_comments(github: FakeGitHub, number: int = 7) -> list[dict[str, Any]]:
    return [c for c in github.comments.get(number, []) if "titan-gitops:apply dir=" in c["body"]]


def open_issues(github: FakeGitHub) -> list[dict[str, Any]]:
    return [i for i in github.issues.values() if i["state"] == "open"]


def test_the_merged_pull_request_hears_the_apply_once_with_counts_and_the_run(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    plan_pr(workspace, github, titan_url)
    merge_pull(github)
    applied = apply_merge(workspace, github, titan_url)
    assert applied.returncode == 0, applied.stdout
    (comment,) = result_comments(github)
    assert "✅ titan-gitops apply: <code>teams/shop</code> applied" in comment["body"]
    assert "Applied: 2 created · 0 updated · 0 renamed · 0 deleted." in comment["body"]
    assert "(https://github.example/acme/tasks/actions/runs/4242)" in comment["body"]
    assert applied.outputs["comment-url"] == comment["html_url"]
    assert applied.outputs["applied-creates"] == "2"
    assert applied.outputs["applied-deletes"] == "0"
    assert applied.outputs["issue-number"] == ""
    assert applied.outputs["change-digest"][:12] in comment["body"]
    again = apply_merge(workspace, github, titan_url)  # a re-run edits the same comment
    (comment,) = result_comments(github)
    assert "No changes" in comment["body"]
    assert again.outputs["comment-url"] == comment["html_url"]
    assert len(github.comments[7]) == 2  # the plan comment and the result comment


@pytest.mark.slow  # several applies end to end; the result comment test stays in the default run
def test_a_refused_apply_opens_one_issue_closed_by_the_next_success(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    merge_pull(github)  # merged without a plan comment: nothing was reviewed
    refused = apply_merge(workspace, github, titan_url)
    again = apply_merge(workspace, github, titan_url)
    assert refused.returncode == again.returncode == 1
    (comment,) = result_comments(github)
    assert "⛔ titan-gitops apply: <code>teams/shop</code> refused" in comment["body"]
    (issue,) = open_issues(github)
    assert issue["title"] == "titan-gitops: apply failed in teams/shop"
    assert refused.outputs["issue-number"] == again.outputs["issue-number"] == str(issue["number"])
    plan_pr(workspace, github, titan_url)
    applied = apply_merge(workspace, github, titan_url)
    assert applied.returncode == 0, applied.stdout
    assert open_issues(github) == []
    assert applied.outputs["issue-number"] == ""
    assert "Closing" in github.comments[issue["number"]][-1]["body"]
    no_traceback(refused, again, applied)


@pytest.mark.slow  # several applies end to end; the result comment test stays in the default run
def test_a_rerun_of_an_old_apply_tells_its_pull_request_why(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    apply_a_then_b(workspace, github, titan_url)
    set_objective(workspace, "Version A")
    rerun = apply(workspace, github, titan_url, SHA_A)
    assert rerun.returncode == 1
    (comment,) = result_comments(github, 1)
    assert "refused" in comment["body"]
    assert "no longer the head of main" in comment["body"]
    assert open_issues(github) == []  # the newer merge's run applies it: nothing to chase


def test_comment_false_posts_no_result(workspace: Path, github: FakeGitHub, titan_url: str) -> None:
    plan_pr(workspace, github, titan_url)
    merge_pull(github)
    applied = apply_merge(workspace, github, titan_url, inputs={"TG_COMMENT": "false"})
    assert applied.returncode == 0
    assert result_comments(github) == []
    assert applied.outputs["applied-creates"] == "2"
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}
