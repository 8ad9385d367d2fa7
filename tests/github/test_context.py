"""The Action's inputs and GitHub context: parsed strictly, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.errors import ConfigError
from titan_gitops.github.context import GitHubContext, read_context, read_inputs

from .conftest import pull_request_event, push_event


def test_defaults_when_inputs_are_empty() -> None:
    inputs = read_inputs({})
    assert (inputs.command, inputs.directory, inputs.parallelism) == ("plan", ".", 4)
    assert inputs.comment
    assert inputs.fail_on_drift
    assert not inputs.allow_unreviewed
    assert inputs.allow_deletes is None
    assert inputs.approval == "comment"


def test_the_approval_mode_ignores_case_and_spaces() -> None:
    assert read_inputs({"TG_APPROVAL": " CodeOwners "}).approval == "codeowners"


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("TG_COMMAND", "destroy", "command"),
        ("TG_PARALLELISM", "0", "parallelism"),
        ("TG_PARALLELISM", "four", "parallelism"),
        ("TG_ALLOW_DELETES", "-1", "allow-deletes"),
        ("TG_FAIL_ON_DRIFT", "maybe", "fail-on-drift"),
        ("TG_APPROVAL", "owners", "input approval must be comment, review or codeowners"),
    ],
)
def test_malformed_inputs_are_config_errors(name: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        read_inputs({name: value})


def test_tokens_stay_out_of_repr() -> None:
    inputs = read_inputs({"TG_TOKEN": "tok-canary-1", "TG_GITHUB_TOKEN": "ghs-canary-2"})
    assert "canary" not in repr(inputs)


def test_pull_request_context_and_fork_detection(tmp_path: Path) -> None:
    same = read_context_for(tmp_path, pull_request_event(9))
    assert same.pull_number == 9
    assert not same.is_fork
    fork = read_context_for(tmp_path, pull_request_event(9, fork=True))
    assert fork.is_fork
    deleted = pull_request_event(9)
    deleted["pull_request"]["head"]["repo"] = None
    assert read_context_for(tmp_path, deleted).is_fork


def test_default_branch_push_is_recognised(tmp_path: Path) -> None:
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main"}
    assert read_context_for(tmp_path, push_event("c" * 40), **env).on_default_branch_push
    env["GITHUB_REF"] = "refs/heads/feature"
    assert not read_context_for(tmp_path, push_event("c" * 40), **env).on_default_branch_push
    env = {"GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_REF": "refs/heads/main"}
    assert not read_context_for(tmp_path, push_event("c" * 40), **env).on_default_branch_push


@pytest.mark.parametrize("payload", ["not json", "[1, 2]"])
def test_a_bad_event_payload_is_a_config_error(tmp_path: Path, payload: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(payload)
    with pytest.raises(ConfigError, match="GITHUB_EVENT_PATH"):
        read_context({"GITHUB_EVENT_PATH": str(path)})


def read_context_for(tmp_path: Path, event: dict[str, Any], **env: str) -> GitHubContext:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return read_context({"GITHUB_EVENT_PATH": str(path), **env})
