"""The two-job apply: job 1 (`command: approve`) checks the order and the review and saves the
plan; job 2 (`command: apply` with `plan-file`), behind the protected environment, applies exactly
that plan, or nothing.

Between the jobs the file travels as an artifact; here it is copied, as download-artifact would,
and what can happen meanwhile is made to happen: live moves, the file is edited, main moves on.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.fingerprint import change_digest
from titan_gitops.planfile import plan_from_dict, plan_to_dict

from .conftest import DIRECTORY, TOKEN, ActionRun, push_event, run_action
from .fake_github import FakeGitHub
from .test_action_e2e import MERGE, merge_pull, no_traceback, plan_pr, titan_tasks
from .test_apply_result import result_comments

pytestmark = pytest.mark.e2e
NEWER = "c" * 40


def on_main(
    workspace: Path, github: FakeGitHub, titan_url: str, command: str, **inputs: str
) -> ActionRun:
    github.branches.setdefault("main", MERGE)  # the merge commit is the head of main
    return run_action(
        workspace,
        command=command,
        event_name="push",
        event=push_event(MERGE),
        github=github,
        titan_url=titan_url,
        sha=MERGE,
        ref="refs/heads/main",
        inputs=inputs,
    )


def approve(workspace: Path, github: FakeGitHub, titan_url: str, **inputs: str) -> ActionRun:
    return on_main(workspace, github, titan_url, "approve", **inputs)


def apply_saved(workspace: Path, github: FakeGitHub, titan_url: str, path: Path) -> ActionRun:
    return on_main(workspace, github, titan_url, "apply", TG_PLAN_FILE=str(path))


def approved_artifact(workspace: Path, github: FakeGitHub, titan_url: str) -> tuple[Path, str]:
    """A reviewed pull request merged, job 1 run: the downloaded artifact and its digest."""
    assert plan_pr(workspace, github, titan_url).returncode == 0
    merge_pull(github)
    job1 = approve(workspace, github, titan_url)
    assert job1.returncode == 0, job1.stdout + job1.stderr
    downloaded = workspace.parent / "download" / "approved.json"
    downloaded.parent.mkdir()
    shutil.copyfile(job1.outputs["plan-file"], downloaded)
    return downloaded, job1.outputs["change-digest"]


def nothing_applied(titan_url: str, github: FakeGitHub) -> None:
    assert titan_tasks(titan_url) == {}
    for deployment in github.deployments:
        assert github.states(deployment["id"])[-1] != "success"


def test_job_one_approves_and_saves_without_writing_anything(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    assert plan_pr(workspace, github, titan_url).returncode == 0
    merge_pull(github)
    job1 = approve(workspace, github, titan_url)
    assert job1.returncode == 0, job1.stdout + job1.stderr
    assert job1.outputs["approved"] == "true"
    assert job1.outputs["has-changes"] == "true"
    saved = json.loads(Path(job1.outputs["plan-file"]).read_text(encoding="utf-8"))
    assert saved["commit"] == MERGE
    assert saved["directory"] == DIRECTORY
    assert saved["plan"]["change_digest"] == job1.outputs["change-digest"]
    # What the environment's reviewers read before they let job 2 run: the plan and the verdict.
    assert "shop-prices" in job1.summary
    assert "shop-stock" in job1.summary
    assert "matches the one reviewed on pull request #7" in job1.summary
    assert "Saved for the apply job" in job1.summary
    assert titan_tasks(titan_url) == {}
    assert github.deployments == []
    assert result_comments(github) == []
    no_traceback(job1)


def test_job_two_applies_exactly_the_saved_plan_and_closes_the_loop(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    downloaded, digest = approved_artifact(workspace, github, titan_url)
    job2 = apply_saved(workspace, github, titan_url, downloaded)
    assert job2.returncode == 0, job2.stdout + job2.stderr
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}
    assert job2.outputs["change-digest"] == digest
    assert job2.outputs["applied-creates"] == "2"
    (deployment,) = github.deployments
    assert deployment["sha"] == MERGE
    assert deployment["payload"]["change_digest"] == digest
    assert github.states(deployment["id"]) == ["in_progress", "success"]
    (comment,) = result_comments(github)
    assert "applied" in comment["body"]
    assert job2.outputs["comment-url"] == comment["html_url"]
    no_traceback(job2)


def test_live_moving_between_the_jobs_makes_the_saved_plan_stale(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    from titan_gitops.client import TitanClient

    downloaded, _ = approved_artifact(workspace, github, titan_url)
    with TitanClient(titan_url, TOKEN) as client:  # someone creates one of the tasks by hand
        client.create_task(
            {
                "name": "shop-prices",
                "urls": ["https://shop.example/products"],
                "objective": "Made by hand.",
                "output_schema": {"type": "object"},
                "execution_type": "single",
            }
        )
    job2 = apply_saved(workspace, github, titan_url, downloaded)
    assert job2.returncode == 1
    assert "Refusing to apply the saved plan" in job2.summary
    assert "Nothing was written to Titan" in job2.summary
    assert {name: t["objective"] for name, t in titan_tasks(titan_url).items()} == {
        "shop-prices": "Made by hand."
    }
    (deployment,) = github.deployments
    assert github.states(deployment["id"]) == ["in_progress", "failure"]
    (comment,) = result_comments(github)
    assert "refused" in comment["body"]
    no_traceback(job2)


def add_extra_change(path: Path, *, keep_digest_valid: bool) -> None:
    """Edit the artifact as an attacker would: one more create than was approved."""
    data = json.loads(path.read_text(encoding="utf-8"))
    plan = plan_from_dict(data["plan"])
    extra = dataclasses.replace(plan.changes[0], name="shop-extra")
    changes = (*plan.changes, extra)
    digest = change_digest(changes) if keep_digest_valid else plan.change_digest
    data["plan"] = plan_to_dict(dataclasses.replace(plan, changes=changes, change_digest=digest))
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("keep_digest_valid", "needle"),
    [(False, "it was edited after it was made"), (True, "that the definitions in")],
)
def test_a_plan_file_edited_between_the_jobs_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str, keep_digest_valid: bool, needle: str
) -> None:
    downloaded, _ = approved_artifact(workspace, github, titan_url)
    add_extra_change(downloaded, keep_digest_valid=keep_digest_valid)
    job2 = apply_saved(workspace, github, titan_url, downloaded)
    assert job2.returncode == 1
    assert needle in job2.summary
    nothing_applied(titan_url, github)
    no_traceback(job2)


def test_a_newer_merge_between_the_jobs_refuses_job_two(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    downloaded, _ = approved_artifact(workspace, github, titan_url)
    github.push(NEWER, parent=MERGE)  # merged while job 2 waited for the environment's reviewers
    job2 = apply_saved(workspace, github, titan_url, downloaded)
    assert job2.returncode == 1
    assert "no longer the head of main" in job2.summary
    assert titan_tasks(titan_url) == {}
    assert github.deployments == []
    no_traceback(job2)


def test_an_unreviewed_merge_is_refused_by_job_one_and_nothing_is_saved(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    merge_pull(github)  # merged without a plan comment
    job1 = approve(workspace, github, titan_url)
    assert job1.returncode == 1
    assert job1.outputs["approved"] == "false"
    assert "plan-file" not in job1.outputs
    assert "Refusing to apply" in job1.summary
    assert "No plan was saved" in job1.summary
    assert not (workspace.parent / "runner" / "titan-gitops" / "approved-teams-shop.json").exists()
    assert titan_tasks(titan_url) == {}
    assert github.deployments == []
    no_traceback(job1)


def edit_stamp(path: Path, **stamp: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, **stamp}), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ({"commit": "d" * 40}, "was approved for commit dddddddddddd, not this run's commit"),
        ({"directory": "teams/other"}, "holds the plan of directory 'teams/other'"),
        ({"plan": {"format_version": "2"}}, "input plan-file"),
        (None, "input plan-file: cannot read"),
    ],
)
def test_a_plan_file_of_another_commit_or_directory_or_unreadable_names_the_input(
    workspace: Path,
    github: FakeGitHub,
    titan_url: str,
    edit: dict[str, Any] | None,
    needle: str,
) -> None:
    downloaded, _ = approved_artifact(workspace, github, titan_url)
    if edit is None:
        downloaded.unlink()
    else:
        edit_stamp(downloaded, **edit)
    job2 = apply_saved(workspace, github, titan_url, downloaded)
    assert job2.returncode == 1
    assert needle in job2.stdout
    assert titan_tasks(titan_url) == {}
    assert github.deployments == []
    no_traceback(job2)


def test_only_and_exclude_cannot_narrow_a_saved_plan(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    job2 = on_main(
        workspace, github, titan_url, "apply", TG_PLAN_FILE="x.json", TG_ONLY="shop-prices"
    )
    assert job2.returncode == 1
    assert "inputs only and exclude cannot be given with plan-file" in job2.stdout
    no_traceback(job2)


def test_job_two_checks_the_review_again_whatever_job_one_allowed(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    merge_pull(github)  # merged without a plan comment
    job1 = approve(workspace, github, titan_url, TG_ALLOW_UNREVIEWED="true")
    assert job1.returncode == 0, job1.stdout
    job2 = apply_saved(workspace, github, titan_url, Path(job1.outputs["plan-file"]))
    assert job2.returncode == 1
    assert "no reviewed plan was found" in job2.summary
    nothing_applied(titan_url, github)
    no_traceback(job2)
