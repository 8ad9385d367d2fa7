"""The Action's `strict` input: warnings (such as YAML 1.1 traps) fail validate, plan and apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.errors import ConfigError
from titan_gitops.github.context import read_inputs
from titan_gitops.github.sticky import parse_approval

from .conftest import DIRECTORY, pull_request_event, run_action
from .fake_github import FakeGitHub
from .test_action_e2e import apply_merge, bot_comments, merge_pull, plan_pr, titan_tasks

pytestmark = pytest.mark.e2e
TRAP_FILE = f"{DIRECTORY}/tasks/shop-prices.yaml"
TRAP = "title=titan-gitops::payload.zip: 010 is read as the number 10 here"


def add_trap(workspace: Path) -> int:
    """Append `payload: {zip: 010}` to one task; returns the line it is on."""
    path = workspace / TRAP_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, "payload: {zip: 010}"]) + "\n", encoding="utf-8")
    return len(lines) + 1


def test_strict_is_parsed_as_a_flag_and_defaults_to_false() -> None:
    assert read_inputs({}).strict is False
    assert read_inputs({"TG_STRICT": "true"}).strict is True
    assert read_inputs({"TG_STRICT": " False "}).strict is False
    with pytest.raises(ConfigError, match="input strict must be true or false"):
        read_inputs({"TG_STRICT": "sometimes"})


def validate_run(workspace: Path, strict: str) -> tuple[int, str, str, str]:
    run = run_action(
        workspace,
        command="validate",
        event_name="pull_request",
        event=pull_request_event(7),
        github=None,
        titan_url=None,
        inputs={"TG_STRICT": strict},
    )
    assert "Traceback" not in run.stdout + run.stderr
    return run.returncode, run.stdout, run.summary, run.outputs.get("exit-code", "")


def test_validate_warns_by_default_and_fails_under_strict(workspace: Path) -> None:
    line = add_trap(workspace)
    code, stdout, summary, exit_code = validate_run(workspace, "false")
    assert (code, exit_code) == (0, "0")
    assert f"::warning file={TRAP_FILE},line={line},col=16,{TRAP}" in stdout
    assert "valid." in summary

    code, stdout, summary, exit_code = validate_run(workspace, "true")
    assert (code, exit_code) == (1, "1")
    assert f"::error file={TRAP_FILE},line={line},col=16,{TRAP}" in stdout
    assert "::warning file=" not in stdout
    assert "is invalid" in stdout
    assert "payload.zip" in summary


def test_strict_validate_passes_clean_definitions(workspace: Path) -> None:
    code, _stdout, summary, _exit_code = validate_run(workspace, "true")
    assert code == 0
    assert "2 tasks, 0 templates: valid." in summary


def test_a_malformed_strict_input_is_one_error(workspace: Path) -> None:
    code, stdout, _summary, exit_code = validate_run(workspace, "maybe")
    assert (code, exit_code) == (1, "1")
    assert "input strict must be true or false" in stdout


def test_strict_plan_refuses_and_leaves_nothing_approvable(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    add_trap(workspace)
    assert plan_pr(workspace, github, titan_url).returncode == 0
    run = plan_pr(workspace, github, titan_url, inputs={"TG_STRICT": "true"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"::error file={TRAP_FILE}" in run.stdout
    assert "has-changes" not in run.outputs
    [comment] = bot_comments(github)
    record = parse_approval(comment["body"])
    assert record is not None
    assert record.digest == "none"
    assert "The definitions are invalid" in comment["body"]
    assert titan_tasks(titan_url) == {}


def test_strict_apply_refuses_a_reviewed_plan_with_warnings_and_changes_nothing(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    add_trap(workspace)
    assert plan_pr(workspace, github, titan_url).returncode == 0
    merge_pull(github)
    refused = apply_merge(workspace, github, titan_url, inputs={"TG_STRICT": "true"})
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"::error file={TRAP_FILE}" in refused.stdout
    assert "invalid definitions" in refused.stdout
    assert titan_tasks(titan_url) == {}
    # The same reviewed plan applies without strict: the warning was the only reason.
    applied = apply_merge(workspace, github, titan_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}
