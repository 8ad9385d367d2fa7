"""Optional pull request labels, run as the runner runs the Action: decided from every
directory's plan comment, only titan-gitops' three labels touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.github.sticky import format_markers, parse_approval

from .conftest import DIRECTORY, ActionRun, write_task
from .fake_github import FakeGitHub
from .test_action_e2e import apply_merge, bot_comments, no_traceback, plan_pr

pytestmark = pytest.mark.e2e
LABELS = {"TG_LABELS": "true"}
CHANGES, DELETES, BREAKING = "titan-gitops:changes", "titan-gitops:deletes", "titan-gitops:breaking"
OTHER = "teams/search"


def label_requests(github: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in github.requests if "/labels" in r.path]


def applied(
    workspace: Path, github: FakeGitHub, titan_url: str, directory: str = DIRECTORY
) -> None:
    """The directory's tasks are live (applied without review), so a plan can delete one."""
    inputs = {"TG_ALLOW_UNREVIEWED": "true", "TG_DIRECTORY": directory}
    run = apply_merge(workspace, github, titan_url, inputs=inputs)
    assert run.returncode == 0, run.stdout + run.stderr
    github.requests.clear()


def plan(workspace: Path, github: FakeGitHub, titan_url: str, **inputs: str) -> ActionRun:
    run = plan_pr(workspace, github, titan_url, inputs={**LABELS, **inputs})
    assert run.returncode == 0, run.stdout + run.stderr
    no_traceback(run)
    return run


def test_a_plan_that_deletes_adds_changes_and_deletes_creating_them_once(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    applied(workspace, github, titan_url)
    github.labels[CHANGES] = {"name": CHANGES, "color": "000000", "description": "ours already"}
    (workspace / DIRECTORY / "tasks" / "shop-stock.yaml").unlink()

    run = plan(workspace, github, titan_url)
    assert run.outputs["deletes"] == "1"
    assert github.issue_labels[7] == [CHANGES, DELETES]
    # Created with a colour and a description when missing; an existing one (422) is kept as is.
    assert github.labels[DELETES]["color"] == "d93f0b"
    assert "deletes Titan tasks" in github.labels[DELETES]["description"]
    assert github.labels[CHANGES]["description"] == "ours already"
    assert "added the pull request labels titan-gitops:changes, titan-gitops:deletes" in run.stdout
    [comment] = bot_comments(github)
    record = parse_approval(comment["body"])
    assert record is not None
    assert record.kinds == frozenset({"changes", "deletes"})


def test_a_push_that_drops_the_delete_removes_deletes_only(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    applied(workspace, github, titan_url)
    stock = workspace / DIRECTORY / "tasks" / "shop-stock.yaml"
    kept = stock.read_text(encoding="utf-8")
    stock.unlink()
    plan(workspace, github, titan_url)
    assert github.issue_labels[7] == [CHANGES, DELETES]

    stock.write_text(kept, encoding="utf-8")
    write_task(workspace / DIRECTORY, "shop-prices", objective="Extract prices in euros.")
    github.requests.clear()
    run = plan(workspace, github, titan_url)
    assert (run.outputs["updates"], run.outputs["deletes"]) == ("1", "0")
    assert github.issue_labels[7] == [CHANGES]
    assert "removed the pull request label titan-gitops:deletes" in run.stdout
    assert "DELETE /repos/acme/tasks/issues/7/labels/titan-gitops%3Adeletes" in label_requests(
        github
    )


def test_another_directory_s_plan_keeps_the_label_this_one_does_not_warrant(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    search = workspace / OTHER
    search.mkdir(parents=True)
    (search / "titan-gitops.yaml").write_text("namespace: search-\n", encoding="utf-8")
    write_task(search, "search-rank")
    write_task(search, "search-facets")
    applied(workspace, github, titan_url, directory=OTHER)
    (search / "tasks" / "search-facets.yaml").unlink()

    first = plan(workspace, github, titan_url, TG_DIRECTORY=OTHER)  # leg 1: a delete
    assert first.outputs["deletes"] == "1"
    second = plan(workspace, github, titan_url)  # leg 2: teams/shop, creates only
    assert (second.outputs["creates"], second.outputs["deletes"]) == ("2", "0")
    assert github.issue_labels[7] == [CHANGES, DELETES]
    assert "removed the pull request label" not in second.stdout
    assert len(bot_comments(github)) == 2


def test_an_older_comment_without_kinds_still_counts_its_changes(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    applied(workspace, github, titan_url)  # teams/shop plans empty now
    github.add_comment(7, format_markers(OTHER, "d" * 64, sha="c" * 40, items=["ab" * 8]))
    github.add_comment(7, format_markers("teams/failed", "none"))  # a failed plan: no kinds
    github.issue_labels[7] = [DELETES]
    plan(workspace, github, titan_url)
    assert github.issue_labels[7] == [CHANGES]


def test_other_labels_are_never_touched(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    human = ["needs review", "team/shop 🛒 100%", "titan-gitops:preview", "titan-gitops:deletes-x"]
    github.issue_labels[7] = [*human, BREAKING]
    run = plan(workspace, github, titan_url)  # creates only: neither deletes nor breaking
    assert github.issue_labels[7] == [*human, CHANGES]
    requests = label_requests(github)
    assert [r for r in requests if r.startswith("DELETE")] == [
        "DELETE /repos/acme/tasks/issues/7/labels/titan-gitops%3Abreaking"
    ]
    assert "needs review" not in run.stdout


def test_a_breaking_output_schema_change_adds_breaking(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    applied(workspace, github, titan_url)
    task = workspace / DIRECTORY / "tasks" / "shop-prices.yaml"
    task.write_text(
        task.read_text(encoding="utf-8").replace("name: {type: string}", "price: {type: number}"),
        encoding="utf-8",
    )
    plan(workspace, github, titan_url)
    assert github.issue_labels[7] == [CHANGES, BREAKING]


def test_labels_false_touches_no_label(workspace: Path, github: FakeGitHub, titan_url: str) -> None:
    github.issue_labels[7] = [DELETES]
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert label_requests(github) == []
    assert github.issue_labels[7] == [DELETES]


def test_a_read_only_token_is_a_warning_not_a_failure(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.forbid_writes = True
    run = plan(workspace, github, titan_url)
    assert run.outputs["exit-code"] == "0"
    assert "::warning::could not set the pull request labels (HTTP 403" in run.stdout
    assert github.issue_labels.get(7, []) == []


def test_a_bad_labels_input_names_it(workspace: Path, github: FakeGitHub, titan_url: str) -> None:
    run = plan_pr(workspace, github, titan_url, inputs={"TG_LABELS": "sometimes"})
    assert run.returncode == 1
    assert "input labels must be true or false, got 'sometimes'" in run.stdout
    no_traceback(run)
