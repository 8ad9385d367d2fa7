"""The safety flags as the Action's inputs (allow-empty, allow-deletes, only, exclude, auth-header),
and refusals told in the Action's words: inputs, never CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.errors import ConfigError
from titan_gitops.github.context import read_inputs

from .conftest import DIRECTORY, ActionRun
from .fake_github import FakeGitHub
from .test_action_e2e import (
    apply_merge,
    bot_comments,
    drift_check,
    merge_pull,
    no_traceback,
    plan_pr,
    titan_tasks,
)

pytestmark = pytest.mark.e2e


def test_the_new_inputs_are_parsed_with_their_defaults() -> None:
    inputs = read_inputs({})
    assert (inputs.allow_empty, inputs.only, inputs.exclude, inputs.auth_header) == (
        False,
        (),
        (),
        "",
    )
    inputs = read_inputs(
        {
            "TG_ALLOW_EMPTY": "true",
            "TG_ONLY": "shop-*\n  shop-b ,shop-c\n\n",
            "TG_EXCLUDE": "shop-old-*",
            "TG_AUTH_HEADER": " X-API-Key ",
        }
    )
    assert inputs.allow_empty is True
    assert inputs.only == ("shop-*", "shop-b", "shop-c")
    assert inputs.exclude == ("shop-old-*",)
    assert inputs.auth_header == "x-api-key"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TG_ALLOW_EMPTY", "maybe", "input allow-empty must be true or false, got 'maybe'"),
        ("TG_ALLOW_DELETES", "x", "input allow-deletes must be a whole number, got 'x'"),
        ("TG_ALLOW_DELETES", "-1", "input allow-deletes must be a whole number, got '-1'"),
        ("TG_ONLY", "shop a", "input only: 'shop a' holds whitespace"),
        ("TG_EXCLUDE", "a, b c", "input exclude: 'b c' holds whitespace"),
        ("TG_AUTH_HEADER", "basic", "input auth-header must be bearer or x-api-key, got 'basic'"),
    ],
)
def test_a_bad_input_is_named(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_inputs({variable: value})
    assert str(caught.value).startswith(message)


def errors(run: ActionRun) -> list[str]:
    return [line for line in run.stdout.splitlines() if line.startswith("::error")]


def test_a_bad_input_is_one_error_line_and_exit_1(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = plan_pr(workspace, github, titan_url, inputs={"TG_ALLOW_DELETES": "x"})
    no_traceback(run)
    assert (run.returncode, run.outputs["exit-code"]) == (1, "1")
    [line] = errors(run)
    assert "input allow-deletes must be a whole number, got 'x'" in line
    assert titan_tasks(titan_url) == {}


def retire(workspace: Path) -> None:
    """Remove every definition of the directory, keeping its project file."""
    for path in (workspace / DIRECTORY / "tasks").glob("*.yaml"):
        path.unlink()


def apply_all(workspace: Path, github: FakeGitHub, titan_url: str) -> None:
    assert plan_pr(workspace, github, titan_url).returncode == 0
    merge_pull(github)
    applied = apply_merge(workspace, github, titan_url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert set(titan_tasks(titan_url)) == {"shop-prices", "shop-stock"}


def test_retiring_a_directory_needs_allow_empty_and_says_so_as_an_input(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    apply_all(workspace, github, titan_url)
    retire(workspace)
    refused = plan_pr(workspace, github, titan_url)
    no_traceback(refused)
    assert refused.returncode == 1
    text = refused.stdout + refused.summary + bot_comments(github)[0]["body"]
    assert "set the input allow-empty: true if that is really meant" in text
    assert "--allow-empty" not in text

    planned = plan_pr(workspace, github, titan_url, inputs={"TG_ALLOW_EMPTY": "true"})
    assert planned.returncode == 0, planned.stdout
    assert planned.outputs["deletes"] == "2"
    merge_pull(github)
    # Apply plans again with its own inputs: without allow-empty it refuses, with it it deletes.
    assert apply_merge(workspace, github, titan_url).returncode == 1
    assert len(titan_tasks(titan_url)) == 2
    applied = apply_merge(workspace, github, titan_url, inputs={"TG_ALLOW_EMPTY": "true"})
    assert applied.returncode == 0, applied.stdout
    assert titan_tasks(titan_url) == {}


def test_the_delete_limit_is_lifted_by_the_input_and_named_as_one(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    (workspace / DIRECTORY / "titan-gitops.yaml").write_text(
        "namespace: shop-\nmax_deletes: 1\n", encoding="utf-8"
    )
    apply_all(workspace, github, titan_url)
    retire(workspace)
    allow = {"TG_ALLOW_EMPTY": "true"}
    refused = plan_pr(workspace, github, titan_url, inputs=allow)
    assert refused.returncode == 1
    assert "set the input allow-deletes: 2 to allow it" in refused.stdout
    assert "--allow-deletes" not in refused.stdout + refused.summary
    low = plan_pr(workspace, github, titan_url, inputs={**allow, "TG_ALLOW_DELETES": "1"})
    assert "more than the 1 allowed (input allow-deletes: 1)" in low.stdout
    ok = plan_pr(workspace, github, titan_url, inputs={**allow, "TG_ALLOW_DELETES": "2"})
    assert (ok.returncode, ok.outputs["deletes"]) == (0, "2")


def test_only_and_exclude_narrow_plan_apply_and_drift(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    narrow = {"TG_ONLY": "shop-*, shop-nope", "TG_EXCLUDE": "shop-stock"}
    planned = plan_pr(workspace, github, titan_url, inputs=narrow)
    no_traceback(planned)
    assert planned.returncode == 0, planned.stdout
    assert (planned.outputs["creates"], planned.outputs["has-changes"]) == ("1", "true")
    assert "input only: 'shop-nope' matches no task name" in planned.stdout
    assert "--only" not in planned.stdout + planned.summary + bot_comments(github)[0]["body"]
    merge_pull(github)
    applied = apply_merge(workspace, github, titan_url, inputs=narrow)
    assert applied.returncode == 0, applied.stdout
    assert set(titan_tasks(titan_url)) == {"shop-prices"}
    # Drift over the same names finds nothing; over all of them, the task never applied.
    narrowed = drift_check(workspace, github, titan_url, **narrow)
    assert (narrowed.returncode, narrowed.outputs["drift"]) == (0, "false")
    whole = drift_check(workspace, github, titan_url)
    assert (whole.returncode, whole.outputs["drift"]) == (1, "true")


def test_auth_header_input_wins_over_the_environment_and_is_checked(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    # TITAN_AUTH_HEADER alone would be refused; the input is used instead.
    env = {"TITAN_AUTH_HEADER": "cookie"}
    bad_env = plan_pr(workspace, github, titan_url, env=env)
    assert bad_env.returncode == 1
    assert "TITAN_AUTH_HEADER must be" in bad_env.stdout
    run = plan_pr(workspace, github, titan_url, env=env, inputs={"TG_AUTH_HEADER": "x-api-key"})
    assert run.returncode == 0, run.stdout
    assert run.outputs["creates"] == "2"
    bad = plan_pr(workspace, github, titan_url, inputs={"TG_AUTH_HEADER": "token"})
    no_traceback(bad)
    [line] = errors(bad)
    assert "input auth-header must be bearer or x-api-key, got 'token'" in line


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"TG_API_URL": "ftp://titan.example"}, "input api-url must be an http(s) origin"),
        ({"TG_TOKEN": ""}, "input token is empty"),
    ],
)
def test_target_errors_name_the_inputs_not_flags(
    workspace: Path, github: FakeGitHub, titan_url: str, inputs: dict[str, str], message: str
) -> None:
    run = plan_pr(workspace, github, titan_url, inputs=inputs)
    no_traceback(run)
    assert run.returncode == 1
    [line] = errors(run)
    assert message in line
    assert "--api-url" not in run.stdout
    assert "--token" not in run.stdout
