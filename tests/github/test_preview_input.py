"""The Action's `preview` input and the `titan-gitops:preview` label: a sample of each created or
output-changing task's records in the comment, the summary and the log; never in the approval."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.errors import ConfigError
from titan_gitops.github.context import read_context, read_inputs
from titan_gitops.github.sticky import parse_approval

from .conftest import DIRECTORY, TOKEN, pull_request_event, push_event, write_task
from .fake_github import FakeGitHub
from .test_action_e2e import (
    apply_merge,
    bot_comments,
    merge_pull,
    no_traceback,
    plan_pr,
    titan_tasks,
)

pytestmark = pytest.mark.e2e
HEAD = "a" * 40
LABEL = "titan-gitops:preview"
MATCH = "**Preview:** ✓ 3 records match"


def labelled(*names: str) -> dict[str, Any]:
    event = pull_request_event(7, head_sha=HEAD)
    event["action"] = "labeled"
    event["pull_request"]["labels"] = [{"name": name, "color": "ededed"} for name in names]
    return event


@pytest.fixture
def spent_titan_url() -> Iterator[str]:
    """An emulator whose daily preview quota is 0: every preview is refused."""
    from testing.emulator import start_background_server
    from titan_gitops.emulator import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(tokens={TOKEN: None}, preview_quota=0))
    server, url = start_background_server(app)
    try:
        yield url
    finally:
        server.shutdown()


def test_preview_is_a_flag_off_by_default() -> None:
    assert read_inputs({}).preview is False
    assert read_inputs({"TG_PREVIEW": "true"}).preview is True
    with pytest.raises(ConfigError, match="input preview must be true or false, got 'often'"):
        read_inputs({"TG_PREVIEW": "often"})


def test_the_label_is_read_from_the_pull_request_event_only(tmp_path: Path) -> None:
    path = tmp_path / "event.json"

    def context(event_name: str, event: dict[str, Any]) -> Any:
        path.write_text(json.dumps(event), encoding="utf-8")
        return read_context({"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(path)})

    found = context("pull_request", labelled("bug", "Titan-GitOps:Preview"))
    assert found.labels == ("bug", "Titan-GitOps:Preview")
    assert found.has_preview_label
    assert not context("pull_request", labelled("bug")).has_preview_label
    malformed = labelled()
    malformed["pull_request"]["labels"] = [{"name": 3}, "titan-gitops:preview", None]
    assert context("pull_request", malformed).labels == ()
    assert not context(
        "push", {**push_event("b" * 40), "pull_request": labelled(LABEL)["pull_request"]}
    ).has_preview_label


def test_the_label_adds_previews_to_the_comment_and_summary_but_not_to_the_approval(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    plain = plan_pr(workspace, github, titan_url)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    [comment] = bot_comments(github)
    assert "Preview" not in comment["body"]
    approved = parse_approval(comment["body"])

    run = plan_pr(workspace, github, titan_url, event=labelled("bug", LABEL))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"previewing up to 3 tasks: the pull request has the label {LABEL}" in run.stdout
    [edited] = bot_comments(github)
    assert edited["id"] == comment["id"]
    assert edited["body"].count(MATCH) == 2
    assert '```json\n{"name": ' in edited["body"]
    assert run.summary.count(MATCH) == 2
    assert "preview: ✓ 3 records match" in run.stdout  # the job log's text plan
    assert parse_approval(edited["body"]) == approved  # same digest, same items
    saved = json.loads(Path(run.outputs["plan-json"]).read_text(encoding="utf-8"))
    assert "previews" not in saved
    assert titan_tasks(titan_url) == {}  # a preview creates nothing

    merge_pull(github)
    applied = apply_merge(workspace, github, titan_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "matches the one reviewed on pull request #7" in applied.summary
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}
    no_traceback(plain, run, applied)


def test_a_spent_quota_is_a_note_and_the_limit_names_what_was_left_out(
    workspace: Path, github: FakeGitHub, spent_titan_url: str
) -> None:
    for name in ("shop-extra", "shop-more"):
        write_task(workspace / DIRECTORY, name)
    run = plan_pr(workspace, github, spent_titan_url, inputs={"TG_PREVIEW": "true"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["creates"] == "4"
    assert "previewing up to 3 tasks: input preview is true" in run.stdout
    [comment] = bot_comments(github)
    body = comment["body"]
    spent = "**Preview:** not previewed: the service's daily preview quota is used up"
    assert body.count(spent) == 3
    assert body.count("_Not previewed: over the limit of 3 previews per plan._") == 1
    assert (
        "> **Note:** The daily preview quota ran out after 0 of 3 previews; the plan is "
        "complete without them." in run.summary
    )
    assert "::warning" not in run.stdout
    assert parse_approval(body) is not None
    no_traceback(run)


def test_without_the_input_or_the_label_nothing_is_previewed(
    workspace: Path, github: FakeGitHub, spent_titan_url: str
) -> None:
    run = plan_pr(workspace, github, spent_titan_url, event=labelled("bug"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "previewing" not in run.stdout
    [comment] = bot_comments(github)
    assert "Preview" not in comment["body"]
