"""Apply is order-safe and recorded: a GitHub deployment per apply, refused for an old commit.

PR A and PR B are merged and applied in turn; re-running A's push job (the commit is no longer
the head of main, or main was rewound under a newer deployment) is refused and live stays at B.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import DIRECTORY, ActionRun, pull_request_event, push_event, run_action, write_task
from .fake_github import FakeGitHub
from .test_action_e2e import apply_merge, merge_pull, no_traceback, titan_tasks

pytestmark = pytest.mark.e2e
SHA_A, HEAD_A = "a1" * 20, "a2" * 20
SHA_B, HEAD_B = "b1" * 20, "b2" * 20
ENVIRONMENT = f"titan-gitops/{DIRECTORY}"


def set_objective(workspace: Path, objective: str) -> None:
    write_task(workspace / DIRECTORY, "shop-prices", objective=objective)


def plan(workspace: Path, github: FakeGitHub, titan_url: str, number: int, head: str) -> None:
    run = run_action(
        workspace,
        command="plan",
        event_name="pull_request",
        event=pull_request_event(number, head_sha=head),
        github=github,
        titan_url=titan_url,
        sha=head,
        ref=f"refs/pull/{number}/merge",
    )
    assert run.returncode == 0, run.stdout


def merge(github: FakeGitHub, number: int, sha: str, head: str, parent: str = "") -> None:
    pull = {"number": number, "merged_at": "2026-11-28T12:00:00Z", "merge_commit_sha": sha}
    github.commit_pulls[sha] = [{**pull, "head": {"sha": head}}]
    github.push(sha, parent)


def apply(workspace: Path, github: FakeGitHub, titan_url: str, sha: str, **kw: Any) -> ActionRun:
    return run_action(
        workspace,
        command="apply",
        event_name="push",
        event=push_event(sha),
        github=github,
        titan_url=titan_url,
        sha=sha,
        ref="refs/heads/main",
        **kw,
    )


def objective(titan_url: str) -> str:
    return str(titan_tasks(titan_url)["shop-prices"]["objective"])


def apply_a_then_b(workspace: Path, github: FakeGitHub, titan_url: str) -> list[ActionRun]:
    set_objective(workspace, "Version A")
    plan(workspace, github, titan_url, 1, HEAD_A)
    merge(github, 1, SHA_A, HEAD_A)
    applied_a = apply(workspace, github, titan_url, SHA_A)
    assert applied_a.returncode == 0, applied_a.stdout
    assert objective(titan_url) == "Version A"
    set_objective(workspace, "Version B")
    plan(workspace, github, titan_url, 2, HEAD_B)
    merge(github, 2, SHA_B, HEAD_B, parent=SHA_A)
    applied_b = apply(workspace, github, titan_url, SHA_B)
    assert applied_b.returncode == 0, applied_b.stdout
    assert objective(titan_url) == "Version B"
    return [applied_a, applied_b]


@pytest.mark.slow  # several applies end to end; the re-run refusal below stays in the default run
def test_each_apply_is_a_deployment_with_its_commit_digest_and_outcome(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    runs = apply_a_then_b(workspace, github, titan_url)
    assert [d["sha"] for d in github.deployments] == [SHA_A, SHA_B]
    for deployment, run in zip(github.deployments, runs, strict=True):
        assert deployment["environment"] == ENVIRONMENT
        assert deployment["payload"]["directory"] == DIRECTORY
        assert deployment["payload"]["change_digest"] == run.outputs["change-digest"]
        assert "Recorded as deployment" in run.summary
    # B's success marked A's inactive, as GitHub does.
    first, second = (github.states(d["id"]) for d in github.deployments)
    assert first == ["in_progress", "success", "inactive"]
    assert second == ["in_progress", "success"]
    status = github.deployment_statuses[github.deployments[1]["id"]][-1]
    assert status["log_url"] == "https://github.example/acme/tasks/actions/runs/4242"


def test_rerunning_an_old_apply_job_is_refused_and_live_keeps_the_newer_merge(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    apply_a_then_b(workspace, github, titan_url)
    set_objective(workspace, "Version A")  # A's checkout
    rerun = apply(workspace, github, titan_url, SHA_A)
    assert rerun.returncode == 1
    assert "no longer the head of main" in rerun.summary
    assert "Nothing was written to Titan" in rerun.summary
    assert "::error::Refusing to apply" in rerun.stdout
    assert objective(titan_url) == "Version B"
    assert len(github.deployments) == 2  # a refused re-run records nothing
    no_traceback(rerun)


@pytest.mark.slow  # several applies end to end; the re-run refusal below stays in the default run
def test_a_commit_older_than_the_last_successful_deployment_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    apply_a_then_b(workspace, github, titan_url)
    github.push(SHA_A)  # main rewound to A: B, applied, descends from it
    set_objective(workspace, "Version A")
    rerun = apply(workspace, github, titan_url, SHA_A)
    assert rerun.returncode == 1
    assert f"is of commit {SHA_B[:12]}, which descends from {SHA_A[:12]}" in rerun.summary
    assert objective(titan_url) == "Version B"
    assert any(r.path.endswith(f"/compare/{SHA_A}...{SHA_B}") for r in github.requests)


@pytest.mark.slow  # several applies end to end; the re-run refusal below stays in the default run
def test_reapplying_the_head_is_allowed_and_recorded(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    apply_a_then_b(workspace, github, titan_url)
    again = apply(workspace, github, titan_url, SHA_B)
    assert again.returncode == 0, again.stdout
    assert "No changes" in again.summary
    assert github.states(github.deployments[-1]["id"]) == ["in_progress", "success"]


def test_a_refused_approval_is_a_failed_deployment(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = apply_merge(workspace, github, titan_url)  # no merged pull request: nothing reviewed
    assert run.returncode == 1
    assert titan_tasks(titan_url) == {}
    (deployment,) = github.deployments
    assert github.states(deployment["id"]) == ["in_progress", "failure"]
    assert deployment["payload"]["change_digest"] == run.outputs["change-digest"]


def test_a_token_that_cannot_record_deployments_writes_nothing(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    merge_pull(github)
    github.forbid_writes = True
    run = apply_merge(workspace, github, titan_url, inputs={"TG_ALLOW_UNREVIEWED": "true"})
    assert run.returncode == 1
    assert "input github-token cannot record the deployment" in run.stdout
    assert "deployments: write" in run.stdout
    assert titan_tasks(titan_url) == {}
    no_traceback(run)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"TG_GITHUB_TOKEN": ""}, "input github-token is empty"),
        ({"TG_ENVIRONMENT": "a\tb"}, "input environment must be"),
    ],
)
def test_apply_inputs_that_would_skip_the_record_are_refused(
    workspace: Path, github: FakeGitHub, titan_url: str, inputs: dict[str, str], message: str
) -> None:
    run = apply_merge(
        workspace, github, titan_url, inputs={"TG_ALLOW_UNREVIEWED": "true", **inputs}
    )
    assert run.returncode == 1
    assert message in run.stdout
    assert titan_tasks(titan_url) == {}
    assert github.deployments == []
    no_traceback(run)


def test_the_environment_input_names_the_deployment_environment(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = apply_merge(
        workspace,
        github,
        titan_url,
        inputs={"TG_ALLOW_UNREVIEWED": "true", "TG_ENVIRONMENT": "titan-prod/shop"},
    )
    assert run.returncode == 0, run.stdout
    assert [d["environment"] for d in github.deployments] == ["titan-prod/shop"]


SHA_C, HEAD_C = "c1" * 20, "c2" * 20


def test_a_queued_third_merge_applies_what_the_merges_since_the_last_deployment_reviewed(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    root = workspace / DIRECTORY
    set_objective(workspace, "Version A")
    plan(workspace, github, titan_url, 1, HEAD_A)
    merge(github, 1, SHA_A, HEAD_A)
    assert apply(workspace, github, titan_url, SHA_A).returncode == 0
    # PR B edits shop-stock, PR C (branched from A) adds shop-new; both merge while queued.
    write_task(root, "shop-stock", objective="Stock, version B.")
    plan(workspace, github, titan_url, 2, HEAD_B)
    write_task(root, "shop-stock", objective="Extract stock levels.")
    write_task(root, "shop-new", objective="New in C.")
    plan(workspace, github, titan_url, 3, HEAD_C)
    merge(github, 2, SHA_B, HEAD_B, parent=SHA_A)
    merge(github, 3, SHA_C, HEAD_C, parent=SHA_B)
    write_task(root, "shop-stock", objective="Stock, version B.")  # main at C holds both
    queued_b = apply(workspace, github, titan_url, SHA_B)
    assert queued_b.returncode == 1
    assert f"no longer the head of main ({SHA_C[:12]} is)" in queued_b.summary
    applied_c = apply(workspace, github, titan_url, SHA_C)
    assert applied_c.returncode == 0, applied_c.stdout
    assert "reviewed on pull requests #2, #3" in applied_c.summary
    live = titan_tasks(titan_url)
    assert live["shop-stock"]["objective"] == "Stock, version B."
    assert live["shop-new"]["objective"] == "New in C."
    assert github.deployments[-1]["sha"] == SHA_C


@pytest.mark.slow  # several applies end to end; the re-run refusal below stays in the default run
def test_a_change_no_merge_since_the_last_deployment_reviewed_is_still_refused(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    apply_a_then_b(workspace, github, titan_url)
    write_task(workspace / DIRECTORY, "shop-new", objective="New in C.")
    plan(workspace, github, titan_url, 3, HEAD_C)
    set_objective(workspace, "Version C, pushed without review")
    merge(github, 3, SHA_C, HEAD_C, parent=SHA_B)
    run = apply(workspace, github, titan_url, SHA_C)
    assert run.returncode == 1
    assert "Not reviewed: <code>shop-prices</code>" in run.summary
    assert objective(titan_url) == "Version B"
    assert github.states(github.deployments[-1]["id"]) == ["in_progress", "failure"]
