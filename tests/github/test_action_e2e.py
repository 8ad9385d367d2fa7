"""The Action's entry point as action.yml runs it, against `emulator serve` and a fake GitHub.

Each test starts `python -m titan_gitops.github` as a subprocess with the runner's variables,
an event payload file and the output/summary files, exactly as the composite step does.
"""

from __future__ import annotations

import base64
import json
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from testing.cachefiles import packs_in
from titan_gitops.github.sticky import COMMENT_LIMIT, format_markers, parse_approval

from .conftest import (
    DIRECTORY,
    GITHUB_TOKEN,
    SECRET_VALUE,
    TOKEN,
    ActionRun,
    pull_request_event,
    push_event,
    run_action,
    write_task,
)
from .fake_github import HUMAN, FakeGitHub

pytestmark = pytest.mark.e2e
HEAD = "a" * 40
MERGE = "b" * 40


def titan_tasks(url: str) -> dict[str, dict[str, Any]]:
    from titan_gitops.client import TitanClient

    with TitanClient(url, TOKEN) as client:
        return {t.name: t.model_dump() for t in client.list_tasks()}


def bot_comments(github: FakeGitHub, number: int = 7) -> list[dict[str, Any]]:
    return [c for c in github.comments.get(number, []) if c["user"]["type"] == "Bot"]


def plan_pr(workspace: Path, github: FakeGitHub, titan_url: str, **kwargs: Any) -> ActionRun:
    return run_action(
        workspace,
        command="plan",
        event_name="pull_request",
        event=kwargs.pop("event", pull_request_event(7, head_sha=HEAD)),
        github=github,
        titan_url=titan_url,
        sha=HEAD,
        **kwargs,
    )


def apply_merge(workspace: Path, github: FakeGitHub, titan_url: str, **kwargs: Any) -> ActionRun:
    github.branches.setdefault("main", MERGE)  # the merge commit is the head of main
    return run_action(
        workspace,
        command="apply",
        event_name="push",
        event=push_event(MERGE),
        github=github,
        titan_url=titan_url,
        sha=MERGE,
        ref="refs/heads/main",
        **kwargs,
    )


def merge_pull(github: FakeGitHub) -> None:
    github.commit_pulls[MERGE] = [
        {
            "number": 7,
            "merged_at": "2026-11-28T12:00:00Z",
            "merge_commit_sha": MERGE,
            "head": {"sha": HEAD},
        }
    ]


def no_traceback(*runs: ActionRun) -> None:
    for run in runs:
        assert "Traceback" not in run.stdout + run.stderr


# --- plan ------------------------------------------------------------------------------------


def test_first_plan_creates_the_comment_and_the_next_edits_the_same_one(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.add_comment(7, "Looks good to me", HUMAN)
    forged = github.add_comment(7, format_markers(DIRECTORY, "f" * 64), HUMAN)

    first = plan_pr(workspace, github, titan_url)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.outputs["exit-code"] == "0"
    assert first.outputs["has-changes"] == "true"
    assert (first.outputs["creates"], first.outputs["deletes"]) == ("2", "0")
    saved = json.loads(Path(first.outputs["plan-json"]).read_text())
    [comment] = bot_comments(github)
    record = parse_approval(comment["body"])
    assert record is not None
    assert record.digest == saved["change_digest"]
    assert record.sha == HEAD
    assert "shop-prices" in comment["body"]
    assert "shop-prices" in first.summary

    write_task(workspace / DIRECTORY, "shop-extra")
    second = plan_pr(workspace, github, titan_url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.outputs["creates"] == "3"
    [edited] = bot_comments(github)
    assert edited["id"] == comment["id"]
    assert "shop-extra" in edited["body"]
    edited_record = parse_approval(edited["body"])
    assert edited_record is not None
    assert edited_record.digest != record.digest
    assert forged["body"] == format_markers(DIRECTORY, "f" * 64)
    assert [r.method for r in github.requests if r.method != "GET"] == ["POST", "PATCH"]
    assert titan_tasks(titan_url) == {}  # plan never writes
    no_traceback(first, second)


def test_a_70000_character_plan_is_cut_in_the_comment_and_whole_in_the_summary(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    root = workspace / DIRECTORY
    shutil.rmtree(root / "tasks")
    names = [f"shop-item-{i:03d}" for i in range(120)]
    for name in names:
        write_task(root, name, objective=f"Extract the {name} details. " + "Be thorough. " * 50)

    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    [comment] = bot_comments(github)
    assert len(run.summary) > 70_000
    assert len(comment["body"]) < COMMENT_LIMIT
    assert comment["body"].startswith("<!-- titan-gitops:plan dir=teams/shop digest=")
    assert "not shown" in comment["body"]
    assert "step summary" in comment["body"]
    assert all(name in run.summary for name in names)
    assert sum(name in comment["body"] for name in names) < len(names)


def test_a_read_only_token_falls_back_to_the_summary_and_says_so(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.forbid_writes = True
    run = plan_pr(workspace, github, titan_url, event=pull_request_event(7, fork=True))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "HTTP 403" in run.summary
    assert "shop-prices" in run.summary
    assert "::warning::could not post the plan comment" in run.stdout
    assert bot_comments(github) == []
    assert run.outputs["has-changes"] == "true"


def test_a_fork_without_the_titan_token_is_validated_only(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = plan_pr(
        workspace,
        github,
        titan_url,
        event=pull_request_event(7, fork=True),
        inputs={"TG_TOKEN": ""},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "only offline validation ran" in run.summary
    assert "2 tasks" in run.summary
    assert "has-changes" not in run.outputs
    assert [r for r in github.requests if r.method != "GET"] == []
    no_traceback(run)


def test_an_empty_api_url_is_an_error_never_the_embedded_emulator(
    workspace: Path, github: FakeGitHub
) -> None:
    run = plan_pr(workspace, github, "")
    assert run.returncode == 1
    assert "::error::titan-gitops plan: input api-url is empty" in run.stdout
    assert run.outputs["exit-code"] == "1"
    assert "failed" in run.summary
    assert not (workspace / ".titan-local").exists()
    no_traceback(run)


def test_invalid_definitions_become_ten_annotations_and_a_full_summary(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    assert plan_pr(workspace, github, titan_url).returncode == 0
    tasks = workspace / DIRECTORY / "tasks"
    for i in range(12):
        # One problem per file: the objective is missing.
        write_task(workspace / DIRECTORY, f"shop-broken-{i:02d}")
        path = tasks / f"shop-broken-{i:02d}.yaml"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text("".join(x for x in lines if not x.startswith("objective")), "utf-8")
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 1
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::error file=")]
    assert len(annotations) == 10
    assert all(
        line.startswith("::error file=teams/shop/tasks/shop-broken-") for line in annotations
    )
    assert all(",line=" in line for line in annotations)
    assert all(f"shop-broken-{i:02d}.yaml" in run.summary for i in range(12))
    assert "2 more problems appear only in this table" in run.summary
    [comment] = bot_comments(github)
    record = parse_approval(comment["body"])
    assert record is not None
    assert record.digest == "none"  # a failed plan leaves nothing approvable behind
    assert "The definitions are invalid" in comment["body"]
    no_traceback(run)


# --- apply -----------------------------------------------------------------------------------


def test_apply_refuses_more_than_was_reviewed_and_applies_what_was(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    assert plan_pr(workspace, github, titan_url).returncode == 0
    merge_pull(github)
    write_task(workspace / DIRECTORY, "shop-unreviewed")

    refused = apply_merge(workspace, github, titan_url)
    assert refused.returncode == 1
    assert "Refusing to apply" in refused.summary
    assert "shop\\-unreviewed" in refused.summary or "shop-unreviewed" in refused.summary
    assert "::error::Refusing to apply" in refused.stdout
    assert titan_tasks(titan_url) == {}

    (workspace / DIRECTORY / "tasks" / "shop-unreviewed.yaml").unlink()
    applied = apply_merge(workspace, github, titan_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "matches the one reviewed on pull request #7" in applied.summary
    assert "Converged" in applied.summary
    assert applied.outputs["creates"] == "2"
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}

    again = apply_merge(workspace, github, titan_url)
    assert again.returncode == 0
    assert again.outputs["has-changes"] == "false"
    no_traceback(refused, applied, again)


def test_the_plan_reuses_the_definitions_cache_and_apply_never_reads_it(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    """As action.yml runs it: the cache folder in the run step's environment. A pack edited to
    say what the files do not: the plan comment shows it (the plan reads the cache), the apply
    creates what the files say."""
    cache = {"TITAN_GITOPS_CACHE_DIR": str(workspace.parent / "runner" / "definitions")}
    assert plan_pr(workspace, github, titan_url, env=cache).returncode == 0
    (pack,) = packs_in(Path(cache["TITAN_GITOPS_CACHE_DIR"]))
    text = pack.read_text(encoding="utf-8")
    assert '"objective": "Extract product names."' in text
    pack.write_text(text.replace("Extract product names.", "Poisoned."), encoding="utf-8")
    poisoned = plan_pr(workspace, github, titan_url, env=cache)
    assert poisoned.returncode == 0, poisoned.stdout + poisoned.stderr
    assert "Poisoned." in bot_comments(github)[0]["body"]
    merge_pull(github)
    # Apply derives its plan from the files, never the pack: that plan is not the (poisoned)
    # one reviewed, so it is refused, and nothing reaches Titan.
    applied = apply_merge(workspace, github, titan_url, env=cache)
    assert applied.returncode == 1
    assert "differs from the one reviewed on pull request #7" in applied.summary
    assert 'objective: "Extract product names."' in applied.stdout
    assert "Poisoned." not in applied.stdout
    assert titan_tasks(titan_url) == {}
    no_traceback(poisoned, applied)


def test_apply_accepts_fewer_changes_than_were_reviewed(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    assert plan_pr(workspace, github, titan_url).returncode == 0
    merge_pull(github)
    (workspace / DIRECTORY / "tasks" / "shop-stock.yaml").unlink()
    run = apply_merge(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 of the 2 changes reviewed on pull request #7" in run.summary
    assert set(titan_tasks(titan_url)) == {"shop-prices"}


def test_apply_without_a_reviewed_plan_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = apply_merge(workspace, github, titan_url)  # a direct push: no merged pull request
    assert run.returncode == 1
    assert "no merged pull request produced commit" in run.summary
    assert titan_tasks(titan_url) == {}


@pytest.mark.parametrize(
    ("event_name", "ref", "needle"),
    [
        ("push", "refs/heads/feature", "apply runs only on a push to the default branch"),
        ("workflow_dispatch", "refs/heads/main", "apply runs only on a push to the default branch"),
        ("pull_request_target", "refs/heads/main", "refusing to run on pull_request_target"),
    ],
)
def test_apply_anywhere_but_a_default_branch_push_is_refused(
    workspace: Path, github: FakeGitHub, titan_url: str, event_name: str, ref: str, needle: str
) -> None:
    run = run_action(
        workspace,
        command="apply",
        event_name=event_name,
        event=push_event(MERGE, ref=ref),
        github=github,
        titan_url=titan_url,
        sha=MERGE,
        ref=ref,
        inputs={"TG_ALLOW_UNREVIEWED": "true"},
    )
    assert run.returncode == 1
    assert needle in run.stdout
    assert run.outputs["exit-code"] == "1"
    assert titan_tasks(titan_url) == {}
    assert github.requests == []
    no_traceback(run)


# --- drift -----------------------------------------------------------------------------------


def drift_check(workspace: Path, github: FakeGitHub, titan_url: str, **inputs: str) -> ActionRun:
    return run_action(
        workspace,
        command="drift",
        event_name="schedule",
        event={"schedule": "17 6 * * *", "repository": {"default_branch": "main"}},
        github=github,
        titan_url=titan_url,
        ref="refs/heads/main",
        inputs=inputs,
    )


def test_drift_opens_updates_and_closes_one_issue(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    from titan_gitops.client import TitanClient

    applied = apply_merge(workspace, github, titan_url, inputs={"TG_ALLOW_UNREVIEWED": "true"})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "allow-unreviewed is set" in applied.summary
    clean = drift_check(workspace, github, titan_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.outputs["drift"] == "false"
    assert github.issues == {}

    task_id = titan_tasks(titan_url)["shop-prices"]["id"]
    with TitanClient(titan_url, TOKEN) as client:
        client.update_task(task_id, {"objective": "Edited by hand in the console."})
    opened = drift_check(workspace, github, titan_url)
    assert opened.returncode == 1
    assert opened.outputs["drift"] == "true"
    [issue] = github.issues.values()
    assert issue["state"] == "open"
    assert issue["title"] == "titan-gitops: drift in teams/shop"
    assert "shop-prices" in issue["body"]

    again = drift_check(workspace, github, titan_url, TG_FAIL_ON_DRIFT="false")
    assert again.returncode == 0
    assert again.outputs["drift"] == "true"
    assert list(github.issues) == [issue["number"]]
    assert "updated drift issue" in again.summary

    with TitanClient(titan_url, TOKEN) as client:
        client.update_task(task_id, {"objective": "Extract product names."})
    closed = drift_check(workspace, github, titan_url)
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert closed.outputs["drift"] == "false"
    assert github.issues[issue["number"]]["state"] == "closed"
    assert "Drift is gone" in github.comments[issue["number"]][0]["body"]
    no_traceback(opened, again, closed)


# --- secrets ---------------------------------------------------------------------------------


def test_masks_come_first_and_no_secret_appears_anywhere(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    write_task(
        workspace / DIRECTORY,
        "shop-login",
        objective="Sign in as ${TITAN_VAR_ACCOUNT} and extract the orders.",
    )
    env = {"TITAN_VAR_ACCOUNT": SECRET_VALUE}
    planned = plan_pr(workspace, github, titan_url, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    merge_pull(github)
    applied = apply_merge(workspace, github, titan_url, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    for run in (planned, applied):
        lines = run.stdout.splitlines()
        masks = [line for line in lines if line.startswith("::add-mask::")]
        assert lines[: len(masks)] == masks, "every mask precedes every other line"
        assert f"::add-mask::{TOKEN}" in masks
        assert f"::add-mask::{SECRET_VALUE}" in masks
        assert f"::add-mask::{GITHUB_TOKEN}" in masks
    leaks = []
    for secret in (TOKEN, SECRET_VALUE, GITHUB_TOKEN):
        forms = [
            secret,
            base64.b64encode(secret.encode()).decode().rstrip("="),
            urllib.parse.quote(secret, safe=""),
        ]
        texts = {
            "github": "\n".join(github.posted_bodies()),
            "plan-json": Path(planned.outputs["plan-json"]).read_text(),
        }
        for run in (planned, applied):
            body = "\n".join(line for line in run.stdout.splitlines() if "::add-mask::" not in line)
            texts[f"stdout {id(run)}"] = body
            texts[f"stderr {id(run)}"] = run.stderr
            texts[f"summary {id(run)}"] = run.summary
            texts[f"outputs {id(run)}"] = json.dumps(run.outputs)
        leaks += [(where, form) for where, text in texts.items() for form in forms if form in text]
    assert leaks == []
    assert "shop-login" in bot_comments(github)[0]["body"]


def test_the_saved_plan_json_masks_a_secret_the_live_service_holds_in_clear(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    """A live value equal to a TITAN_VAR_ secret shows up in the plan's `before`: it is masked."""
    from titan_gitops.client import TitanClient

    write_task(workspace / DIRECTORY, "shop-orders", objective="Extract the orders.")
    with TitanClient(titan_url, TOKEN) as client:
        client.create_task(
            {
                "name": "shop-orders",
                "urls": ["https://shop.example/products"],
                "objective": f"Extract the orders; log in with {SECRET_VALUE}.",
                "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
                "execution_type": "single",
            }
        )
    planned = plan_pr(workspace, github, titan_url, env={"TITAN_VAR_ACCOUNT": SECRET_VALUE})
    assert planned.returncode == 0, planned.stdout + planned.stderr
    saved = Path(planned.outputs["plan-json"]).read_text(encoding="utf-8")
    assert "shop-orders" in saved
    assert SECRET_VALUE not in saved
    assert "log in with ***" in saved
