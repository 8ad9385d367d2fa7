"""The Action's three-way runs: the base is the commit of the directory's last successful
deployment, read from a real git checkout (shallow ones fetch it from origin)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from .conftest import DIRECTORY, TOKEN, ActionRun, push_event, run_action, write_task
from .fake_github import FakeGitHub
from .test_action_e2e import no_traceback, titan_tasks

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
ALLOW = {"TG_ALLOW_UNREVIEWED": "true"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def start_repo(workspace: Path) -> str:
    git(workspace, "init", "-q", "-b", "main")
    return commit(workspace, "A: the shop team")


def apply(workspace: Path, github: FakeGitHub, titan_url: str, sha: str, **kw: Any) -> ActionRun:
    github.branches["main"] = sha
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


def drift(
    workspace: Path, github: FakeGitHub, titan_url: str, sha: str, **inputs: str
) -> ActionRun:
    return run_action(
        workspace,
        command="drift",
        event_name="schedule",
        event={"repository": {"full_name": "acme/tasks", "default_branch": "main"}},
        github=github,
        titan_url=titan_url,
        sha=sha,
        ref="refs/heads/main",
        inputs=inputs,
    )


def deployed_a_then_merged_b(workspace: Path, github: FakeGitHub, titan_url: str) -> str:
    """Commit A applied (a successful deployment); commit B changes shop-stock, not applied."""
    sha_a = start_repo(workspace)
    github.push(sha_a)
    first = apply(workspace, github, titan_url, sha_a, inputs=ALLOW)
    assert first.returncode == 0, first.stdout + first.stderr
    write_task(workspace / DIRECTORY, "shop-stock", objective="Extract stock levels by store.")
    sha_b = commit(workspace, "B: stock by store")
    github.push(sha_b, sha_a)
    return sha_b


def edit_in_console(titan_url: str, name: str, objective: str) -> str:
    """Change a live task as an operator would in the Titan console; its updated_at."""
    from titan_gitops.client import TitanClient

    task_id = titan_tasks(titan_url)[name]["id"]
    with TitanClient(titan_url, TOKEN) as client:
        client.update_task(task_id, {"objective": objective})
    return str(titan_tasks(titan_url)[name]["updated_at"])


def drift_issues(github: FakeGitHub) -> list[dict[str, Any]]:
    return [i for i in github.issues.values() if "titan-gitops:drift" in str(i.get("body"))]


def test_a_merge_waiting_for_its_apply_is_pending_not_drift(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    run = drift(workspace, github, titan_url, sha_b)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["drift"] == "false"
    assert drift_issues(github) == []
    assert "pending for 1 task" in run.summary
    assert "not drift" in run.summary
    assert "nothing changed outside git" in run.summary
    assert "No base" not in run.stdout
    no_traceback(run)


def test_a_console_edit_opens_an_issue_naming_the_field_the_value_and_the_time(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    when = edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    run = drift(workspace, github, titan_url, sha_b)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.outputs["drift"] == "true"
    [issue] = drift_issues(github)
    body = issue["body"]
    assert "shop-prices" in body
    assert "objective" in body
    assert "Extract prices in EUR." in body
    assert when[:16] in body or when[:10] in body
    no_traceback(run)


def test_an_apply_that_would_revert_a_console_edit_is_refused_unless_allowed(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    write_task(workspace / DIRECTORY, "shop-prices", objective="Extract prices and currency.")
    sha_c = commit(workspace, "C: prices and currency")
    github.push(sha_c, sha_b)
    refused = apply(workspace, github, titan_url, sha_c, inputs=ALLOW)
    assert refused.returncode == 1
    assert "would throw away edits made in Titan" in refused.stdout
    assert "'shop-prices' (objective edited in Titan" in refused.stdout
    assert "set the input overwrite-live-edits: true" in refused.stdout
    assert "Nothing was written to Titan" in refused.summary
    assert titan_tasks(titan_url)["shop-prices"]["objective"] == "Extract prices in EUR."
    assert github.states(github.deployments[-1]["id"]) == ["in_progress", "failure"]
    no_traceback(refused)

    inputs = {**ALLOW, "TG_OVERWRITE_LIVE_EDITS": "true"}
    applied = apply(workspace, github, titan_url, sha_c, inputs=inputs)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert titan_tasks(titan_url)["shop-prices"]["objective"] == "Extract prices and currency."
    assert github.states(github.deployments[-1]["id"]) == ["in_progress", "success"]


def test_no_deployment_yet_is_two_way_and_said_once(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_a = start_repo(workspace)
    github.push(sha_a)
    run = drift(workspace, github, titan_url, sha_a)
    line = (
        f"No base: no successful deployment of {DIRECTORY} yet (environment "
        f"titan-gitops/{DIRECTORY}), so this plan cannot tell live edits from merges not yet "
        "applied."
    )
    assert run.stdout.count(line) == 1
    assert run.summary.count(line) == 1
    assert run.returncode == 1  # two-way: every task missing live is drift, as before
    no_traceback(run)


def test_a_shallow_clone_fetches_the_base_commit(
    workspace: Path, github: FakeGitHub, titan_url: str, tmp_path: Path
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", f"file://{workspace}", str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    run = drift(clone, github, titan_url, sha_b)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No base" not in run.stdout
    assert "pending for 1 task" in run.summary
    assert git(clone, "cat-file", "-t", github.deployments[0]["sha"]) == "commit"
    no_traceback(run)


def test_fail_on_pending_makes_a_merge_not_yet_applied_fail_the_check(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    run = drift(workspace, github, titan_url, sha_b, TG_FAIL_ON_PENDING="true")
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.outputs["drift"] == "true"
    no_traceback(run)


def test_an_open_drift_issue_closes_when_only_merges_are_pending(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    opened = drift(workspace, github, titan_url, sha_b)
    assert opened.returncode == 1
    [issue] = drift_issues(github)
    assert issue["state"] == "open"
    # The console edit is put back by hand; the merge of B is still waiting for its apply.
    edit_in_console(titan_url, "shop-prices", titan_tasks_objective_at_a(workspace))
    quiet = drift(workspace, github, titan_url, sha_b)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    [issue] = drift_issues(github)
    assert issue["state"] == "closed"
    no_traceback(quiet)


def titan_tasks_objective_at_a(workspace: Path) -> str:
    """shop-prices' objective as commit A (the deployed one) defines it."""
    text = git(workspace, "show", f"HEAD~1:{DIRECTORY}/tasks/shop-prices.yaml")
    line = next(x for x in text.splitlines() if x.startswith("objective:"))
    return line.split(":", 1)[1].strip().strip("'\"")


def test_approve_refuses_a_plan_that_would_revert_a_console_edit(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    sha_b = deployed_a_then_merged_b(workspace, github, titan_url)
    edit_in_console(titan_url, "shop-prices", "Extract prices in EUR.")
    write_task(workspace / DIRECTORY, "shop-prices", objective="Extract prices and currency.")
    sha_c = commit(workspace, "C: prices and currency")
    github.push(sha_c, sha_b)
    github.branches["main"] = sha_c
    run = run_action(
        workspace,
        command="approve",
        event_name="push",
        event=push_event(sha_c),
        github=github,
        titan_url=titan_url,
        sha=sha_c,
        ref="refs/heads/main",
        inputs=ALLOW,
    )
    assert run.returncode == 1
    assert "would throw away edits made in Titan" in run.stdout
    assert "No plan was saved" in run.summary
    assert run.outputs["approved"] == "false"
    assert titan_tasks(titan_url)["shop-prices"]["objective"] == "Extract prices in EUR."
    no_traceback(run)
