"""The entry point's error boundary, in-process: bad inputs end as one annotation and exit 1."""

from __future__ import annotations

import io
from pathlib import Path

from titan_gitops.github.commands import collect_secrets, run_action

from .conftest import parse_outputs


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text('{"repository": {"default_branch": "main"}}', encoding="utf-8")
    (tmp_path / "out.txt").write_text("", encoding="utf-8")
    return {
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_REPOSITORY": "acme/tasks",
        **extra,
    }


def test_an_unknown_command_is_one_error_and_exit_code_1(tmp_path: Path) -> None:
    stream = io.StringIO()
    code = run_action(_environ(tmp_path, TG_COMMAND="destroy"), stream)
    assert code == 1
    assert "::error::titan-gitops action: input command must be one of" in stream.getvalue()
    assert parse_outputs((tmp_path / "out.txt").read_text()) == {"exit-code": "1"}
    assert "failed" in (tmp_path / "summary.md").read_text()


def test_an_unreadable_event_payload_is_reported_not_raised(tmp_path: Path) -> None:
    environ = _environ(tmp_path, TG_COMMAND="plan")
    Path(environ["GITHUB_EVENT_PATH"]).write_text("{broken", encoding="utf-8")
    stream = io.StringIO()
    assert run_action(environ, stream) == 1
    assert stream.getvalue().endswith("::error::GITHUB_EVENT_PATH is not valid JSON\n")


def test_drift_on_pull_request_target_is_refused(tmp_path: Path) -> None:
    environ = _environ(
        tmp_path, TG_COMMAND="drift", GITHUB_EVENT_NAME="pull_request_target", TG_API_URL="x"
    )
    stream = io.StringIO()
    assert run_action(environ, stream) == 1
    assert "refusing to run on pull_request_target" in stream.getvalue()


def test_masks_cover_tokens_and_every_titan_var(tmp_path: Path) -> None:
    environ = _environ(
        tmp_path,
        TG_COMMAND="destroy",
        TG_TOKEN="tok-canary-aaaa",
        TITAN_VAR_B="second-canary",
        TITAN_VAR_A="first-canary",
        OTHER="not-a-secret",
    )
    assert set(collect_secrets(environ)) == {"tok-canary-aaaa", "first-canary", "second-canary"}
    stream = io.StringIO()
    run_action(environ, stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("::add-mask::")
    assert "::add-mask::second-canary" in lines
    assert not any("not-a-secret" in line for line in lines)
