"""The last-line secret guard: every encoded form is caught and nothing is posted."""

from __future__ import annotations

import base64
import html
import io
import re
import urllib.parse
from pathlib import Path

import pytest

from titan_gitops.github.context import GitHubContext
from titan_gitops.github.guard import SecretLeak, ensure_no_secrets
from titan_gitops.github.outbox import Outbox
from titan_gitops.secrets import SecretSet

SECRET = "s3cr3t/val+ue&more"


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
        urllib.parse.quote(SECRET, safe=""),
        urllib.parse.quote_plus(SECRET),
        html.escape(SECRET),
    ],
)
def test_each_form_of_a_secret_is_found(form: str) -> None:
    text = f"| task | value {form} here |"
    secrets = SecretSet.of([SECRET])
    assert secrets.find_leak(text) is not None
    with pytest.raises(SecretLeak) as caught:
        ensure_no_secrets(text, secrets, what="pull request comment")
    assert SECRET not in str(caught.value)
    assert form not in str(caught.value)
    assert "pull request comment" in str(caught.value)


def test_clean_text_passes_and_short_values_are_ignored() -> None:
    assert SecretSet.of([SECRET, "", "ab"]).find_leak("nothing to see") is None
    ensure_no_secrets("ab is fine", SecretSet.of(["ab"]), what="summary")


def _context(tmp_path: Path) -> GitHubContext:
    return GitHubContext(
        event_name="pull_request",
        repository="acme/tasks",
        ref="refs/pull/1/merge",
        sha="a" * 40,
        api_url="http://127.0.0.1:9",
        server_url="https://github.example",
        run_id="1",
        summary_path=tmp_path / "summary.md",
        output_path=tmp_path / "out.txt",
    )


def test_outbox_refuses_a_summary_holding_the_token_and_writes_nothing(tmp_path: Path) -> None:
    out = Outbox(_context(tmp_path), SecretSet.of(["tok-canary-1234"]), io.StringIO())
    with pytest.raises(SecretLeak):
        out.summary("plan for dG9rLWNhbmFyeS0xMjM0 ok")  # base64 of the token
    assert not (tmp_path / "summary.md").exists()
    out.summary("a clean summary")
    assert (tmp_path / "summary.md").read_text() == "a clean summary\n"


def test_outbox_log_is_masked_for_the_run_secrets(tmp_path: Path) -> None:
    stream = io.StringIO()
    out = Outbox(_context(tmp_path), SecretSet.of(["registered-canary-9911"]), stream)
    out.log("value registered-canary-9911 end")
    assert "registered-canary-9911" not in stream.getvalue()
    with pytest.raises(SecretLeak):
        out.check("x registered-canary-9911", what="drift issue")


def test_problem_table_cells_cannot_break_the_table_or_inject_html() -> None:
    from titan_gitops.errors import Problem
    from titan_gitops.github.outbox import render_problems_markdown

    problem = Problem("t/a|b.yaml", 3, 1, "objective", "use 'x' | <b>bold</b> @team\nnext")
    text = render_problems_markdown([problem], hidden=0)
    row = text.splitlines()[2]
    assert len(re.findall(r"(?<!\\)\|", row)) == 5  # four columns; the cells' own pipes escaped
    assert "<b>" not in row
    assert "'x'" in row
    assert "@\u2060team" in row
