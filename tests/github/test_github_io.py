"""Robust GitHub I/O, run as the runner runs the Action: rate limits, one sticky comment per
directory however many runs race, comment-on-empty, and a step summary capped in bytes."""

from __future__ import annotations

import io
import shutil
import threading
from pathlib import Path

import pytest

from titan_gitops.github.context import read_context
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubRest
from titan_gitops.github.review import send_comment
from titan_gitops.github.sticky import format_markers, parse_approval
from titan_gitops.github.workflow import SUMMARY_LIMIT, append_summary
from titan_gitops.secrets import SecretSet

from .conftest import DIRECTORY, GITHUB_TOKEN, write_task
from .fake_github import HUMAN, FakeGitHub, Refusal, secondary_rate_limit
from .test_action_e2e import HEAD, apply_merge, bot_comments, no_traceback, plan_pr

pytestmark = pytest.mark.e2e
MIB = 1_048_576


# --- rate limits -----------------------------------------------------------------------------


def test_a_secondary_rate_limit_on_the_plan_comment_is_waited_out(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.refusals.append(secondary_rate_limit(method="POST", times=2))
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    [comment] = bot_comments(github)
    assert parse_approval(comment["body"]) is not None
    assert "read-only" not in run.stdout + run.summary
    assert [r.method for r in github.requests if r.method != "GET"] == ["POST"] * 3
    no_traceback(run)


def test_a_retry_after_http_date_is_waited_until_that_date_and_logged(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    import time

    github.refusals.append(
        Refusal(403, {}, "You have exceeded a secondary rate limit.", method="POST", retry_in=2)
    )
    started = time.monotonic()
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    line = "GitHub rate limit: waiting 2 s before retrying POST /repos/acme/tasks/issues/7/comments"
    assert run.stdout.count(line) == 1  # not the fixed 60 s an unread date would give
    assert time.monotonic() - started >= 2
    [comment] = bot_comments(github)
    assert parse_approval(comment["body"]) is not None
    no_traceback(run)


def test_a_rate_limit_that_lasts_fails_the_step_and_is_not_called_read_only(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.refusals.append(secondary_rate_limit(method="POST", times=100))
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 1
    assert run.outputs["exit-code"] == "1"
    assert "::error::titan-gitops plan:" in run.stdout
    assert "still rate-limited after 4 attempts" in run.stdout
    assert "read-only" not in run.stdout + run.summary
    assert "still rate-limited" in run.summary
    assert bot_comments(github) == []
    no_traceback(run)


def test_a_primary_rate_limit_reset_hours_away_fails_at_once(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    import time

    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 3600)}
    github.refusals.append(Refusal(403, reset, "API rate limit exceeded for installation."))
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 1
    assert "GitHub asks to wait" in run.stdout
    assert "read-only" not in run.stdout
    no_traceback(run)


def test_a_real_read_only_403_is_still_a_warning(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    github.forbid_writes = True
    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "::warning::could not post the plan comment (HTTP 403: the token is read-only" in (
        run.stdout
    )
    assert len([r for r in github.requests if r.method == "POST"]) == 1  # never retried


# --- one sticky comment ----------------------------------------------------------------------


def test_duplicate_sticky_comments_collapse_to_the_oldest(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    human = github.add_comment(7, "LGTM", HUMAN)
    oldest = github.add_comment(7, format_markers(DIRECTORY, "1" * 64) + "\nold plan")
    other_dir = github.add_comment(7, format_markers("teams/search", "2" * 64))
    newer = github.add_comment(7, format_markers(DIRECTORY, "3" * 64) + "\nnewer plan")
    forged = github.add_comment(7, format_markers(DIRECTORY, "4" * 64), HUMAN)

    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    ids = [c["id"] for c in github.comments[7]]
    assert ids == [human["id"], oldest["id"], other_dir["id"], forged["id"]]
    assert newer["id"] not in ids
    assert "shop-prices" in github.comments[7][1]["body"]
    assert f"deleted the duplicate plan comment {newer['id']}" in run.stdout
    no_traceback(run)


def _racer(github: FakeGitHub, body: str, errors: list[BaseException]) -> None:
    context = read_context({"GITHUB_REPOSITORY": "acme/tasks"})
    out = Outbox(context, SecretSet.of([GITHUB_TOKEN]), io.StringIO())
    try:
        with GitHubRest(github.base_url, GITHUB_TOKEN, "acme/tasks") as rest:
            send_comment(rest, 7, DIRECTORY, body, out)
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)


def test_two_plan_runs_racing_leave_one_comment(github: FakeGitHub) -> None:
    # Both runs list the comments before either creates one: each creates its own.
    github.list_gate = threading.Barrier(2)
    github.gated = 2
    bodies = [format_markers(DIRECTORY, d * 64) + f"\nplan {d}" for d in ("a", "b")]
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_racer, args=(github, b, errors)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len([r for r in github.requests if r.method == "POST"]) == 2
    [comment] = bot_comments(github)
    assert comment["body"] in bodies
    assert comment["id"] == 1001  # the first created (the fake numbers from 1001) is kept


# --- comment-on-empty ------------------------------------------------------------------------


def test_comment_on_empty_false_posts_nothing_for_an_empty_plan(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    applied = apply_merge(workspace, github, titan_url, inputs={"TG_ALLOW_UNREVIEWED": "true"})
    assert applied.returncode == 0, applied.stdout + applied.stderr
    github.requests.clear()
    run = plan_pr(workspace, github, titan_url, inputs={"TG_COMMENT_ON_EMPTY": "false"})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["has-changes"] == "false"
    assert bot_comments(github) == []
    # The deployment record (the base) is read too; of the comments, only the list.
    assert [r.method for r in github.requests if "/deployments" not in r.path] == ["GET"]
    assert "comment-on-empty is false" in run.stdout


def test_comment_on_empty_false_still_clears_a_stale_plan(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    first = plan_pr(workspace, github, titan_url, inputs={"TG_COMMENT_ON_EMPTY": "false"})
    assert first.returncode == 0, first.stdout + first.stderr
    [stale] = bot_comments(github)  # a plan with changes is always posted
    assert "shop-prices" in stale["body"]
    apply_merge(workspace, github, titan_url, inputs={"TG_ALLOW_UNREVIEWED": "true"})
    run = plan_pr(workspace, github, titan_url, inputs={"TG_COMMENT_ON_EMPTY": "false"})
    assert run.returncode == 0, run.stdout + run.stderr
    [updated] = bot_comments(github)
    assert updated["id"] == stale["id"]
    assert "No changes" in updated["body"]
    record = parse_approval(updated["body"])
    assert record is not None
    assert record.sha == HEAD


def test_a_bad_comment_on_empty_names_the_input(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    run = plan_pr(workspace, github, titan_url, inputs={"TG_COMMENT_ON_EMPTY": "maybe"})
    assert run.returncode == 1
    assert "input comment-on-empty must be true or false, got 'maybe'" in run.stdout
    assert github.requests == []
    no_traceback(run)


# --- the step summary in bytes ---------------------------------------------------------------


def test_a_multibyte_summary_over_1_2_mb_is_capped_in_bytes_with_a_note(
    workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    root = workspace / DIRECTORY
    shutil.rmtree(root / "tasks")
    objective = "商品名と価格と在庫状況をすべて正確に抽出してください。" * 40
    names = [f"shop-item-{i:03d}" for i in range(400)]
    for name in names:
        write_task(root, name, objective=f"{name}: {objective}")
    assert len(objective.encode()) * 400 > 1_200_000

    run = plan_pr(workspace, github, titan_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.outputs["creates"] == "400"
    size = len(run.summary.encode("utf-8"))
    assert 800_000 < size <= SUMMARY_LIMIT < MIB
    assert "more changes not shown (create: " in run.summary
    assert "the full plan is in the job log" in run.summary
    assert "shop-item-000" in run.summary
    no_traceback(run)


def test_appends_keep_a_running_total_in_bytes_across_writes(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("前の書き込み\n" * 40_000, encoding="utf-8")  # an earlier write: 760,000 bytes
    chunk = "### 計画\n\n" + "在庫状況を抽出する。\n" * 3_000  # 93,000 bytes, 33,000 characters
    for _ in range(6):
        append_summary(path, chunk)
    data = path.read_bytes()
    assert len(data) <= SUMMARY_LIMIT
    text = data.decode("utf-8")  # never cut inside a character
    assert text.count("_The summary was cut to stay under GitHub's 1 MiB step-summary limit._") == 1
    assert text.endswith("_The step summary is full; the rest is in the job log._\n")
    assert text.count("_The step summary is full") == 1


def test_a_summary_already_over_the_limit_gets_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (MIB - 10))
    append_summary(path, "more")
    assert path.stat().st_size == MIB - 10
