"""Truncation never hides danger: one huge live value, or thousands of changes, in the Markdown.

Each case is a real plan: definitions on disk, live tasks in the emulator (served on loopback), and
the Action run as a subprocess as action.yml runs it, posting to a fake GitHub on loopback. The PR
comment, the step summary and the drift issue must each stay within their cap (measured in UTF-8
bytes), open with the approval marker, the warning banner and the counts table, keep every delete
visible at least by name, and mark every value they cut.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.github.conftest import (
    DIRECTORY,
    GITHUB_TOKEN,
    TOKEN,
    ActionRun,
    pull_request_event,
    run_action,
    write_task,
)
from tests.github.fake_github import FakeGitHub, start_fake_github
from titan_gitops.escape import escape_code
from titan_gitops.github.sticky import COMMENT_BUDGET, parse_approval
from titan_gitops.github.workflow import SUMMARY_LIMIT

pytestmark = pytest.mark.e2e
HEAD = "a" * 40
TABLE = "| | Change | Tasks |"
DRIFT_TABLE = "| | Live | Tasks | The next apply |"
CUT = "more characters)"
# The warning, the counts table and the marker sit in the first bytes whatever the plan holds.
HEAD_BYTES = 20_000
SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}}


@dataclass
class Case:
    """A hostile plan: what live holds, what the definitions say, what must stay visible."""

    deletes: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(token=GITHUB_TOKEN, page_size=50)
    server = start_fake_github(fake)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def titan_url() -> Iterator[str]:
    from testing.emulator import start_background_server
    from titan_gitops.emulator import EmulatorConfig, create_app

    server, url = start_background_server(create_app(EmulatorConfig(tokens={TOKEN: None})))
    try:
        yield url
    finally:
        server.shutdown()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "work" / DIRECTORY
    root.mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    write_task(root, "shop-prices")
    return tmp_path / "work"


def live_task(name: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product names.",
        "output_schema": SCHEMA,
        "execution_type": "single",
    }
    body.update(extra)
    return body


def seed_live(url: str, *bodies: dict[str, Any]) -> None:
    from titan_gitops.client import TitanClient

    with TitanClient(url, TOKEN) as client:
        for body in bodies:
            client.create_task(body)


# --- the cases ---------------------------------------------------------------------------------


def make_long_live_name(root: Path, url: str) -> Case:
    """A live task in the namespace whose name is 100,000 characters long: it will be deleted."""
    long_name = "shop-" + "z" * 100_000
    seed_live(url, live_task("shop-prices"), live_task(long_name))
    return Case(deletes=[long_name])


def make_megabyte_objective(root: Path, url: str) -> Case:
    """A live objective of 1 MB (edited in the UI) next to an orphan that will be deleted."""
    seed_live(
        url,
        live_task("shop-prices", objective="Extract everything. " * 50_000),
        live_task("shop-gone"),
    )
    return Case(deletes=["shop-gone"])


def make_two_thousand_changes(root: Path, url: str) -> Case:
    """1,990 creates sort before 10 deletes; the deletes must not be the ones hidden."""
    for i in range(1_990):
        write_task(root, f"shop-new-{i:04d}", objective=f"Extract item {i}. " + "Detail. " * 20)
    orphans = [f"shop-orphan-{i:02d}" for i in range(10)]
    seed_live(url, live_task("shop-prices"), *(live_task(n) for n in orphans))
    return Case(deletes=orphans)


def make_huge_breaking_schema(root: Path, url: str) -> Case:
    """Live allows 500 KB of enum values the definitions drop: one breaking schema change."""
    values = [f"colour-{i:06d}-" + "x" * 20 for i in range(17_000)]
    wide = {"type": "object", "properties": {"name": {"type": "string", "enum": values}}}
    narrow = {"type": "object", "properties": {"name": {"type": "string", "enum": values[:1]}}}
    assert len(json.dumps(wide)) > 500_000
    (root / "tasks" / "shop-prices.yaml").write_text(
        "kind: task\nname: shop-prices\nurls: ['https://shop.example/products']\n"
        f"objective: Extract product names.\noutput_schema: {json.dumps(narrow)}\n"
        "execution_type: single\n",
        encoding="utf-8",
    )
    seed_live(url, live_task("shop-prices", output_schema=wide), live_task("shop-gone"))
    return Case(deletes=["shop-gone"], breaking=["shop-prices"])


CASES: dict[str, Callable[[Path, str], Case]] = {
    "100k-live-name": make_long_live_name,
    "1mb-objective": make_megabyte_objective,
    "2000-changes-deletes-last": make_two_thousand_changes,
    "500kb-breaking-schema": make_huge_breaking_schema,
}


# --- what must hold ----------------------------------------------------------------------------


def shown_name(name: str) -> str:
    """What must be visible of a name: its escaped start (the whole name when it is short)."""
    return escape_code(name[:60])


def check_danger_first(
    text: str, *, limit: int, counts: dict[str, str], case: Case, drift: bool
) -> None:
    """Within `limit` bytes; warning, then table, before any section; every delete named."""
    assert len(text.encode("utf-8")) <= limit, f"{len(text.encode('utf-8')):,} bytes"
    table = DRIFT_TABLE if drift else TABLE
    assert table in text
    table_at = text.index(table)
    assert len(text[:table_at].encode("utf-8")) < HEAD_BYTES
    sections = text.find("<details>")
    assert sections == -1 or table_at < sections
    deletes = int(counts["deletes"])
    assert deletes == len(case.deletes)
    if drift:
        assert f"| - | created outside git | {deletes} | deletes it |" in text
        row = f"| + | missing live | {counts['creates']} | creates it again |"
        banner = f"{deletes} created outside git"
    else:
        assert f"| - | delete | {deletes} |" in text
        row = f"| + | create | {counts['creates']} |"
        banner = f"**{deletes} task{'s' * (deletes != 1)} will be deleted:**"
    # Only the kinds that occur have a row.
    assert (row in text) == (counts["creates"] != "0")
    assert text.index(banner) < table_at
    for name in case.breaking:
        assert text.index("Breaking output_schema change in") < table_at
        assert shown_name(name) in text
    for name in case.deletes:
        assert shown_name(name) in text, name[:60]
        if len(name) > 1_000:
            assert name[:1_000] not in text
    assert "Traceback" not in text


def check_cut_is_visible(text: str, case_name: str, *, drift: bool) -> None:
    """A cut value or a dropped section is always said, never silent; no delete is dropped."""
    if case_name == "2000-changes-deletes-last":
        note = text[text.index("more changes not shown (") :].split(")")[0]
        assert ("missing live: " if drift else "create: ") in note
        assert "delete" not in note
        assert "outside git" not in note
    else:
        assert CUT in text


def plan_pr(workspace: Path, github: FakeGitHub, url: str, case: Case) -> ActionRun:
    return run_action(
        workspace,
        command="plan",
        event_name="pull_request",
        event=pull_request_event(7, head_sha=HEAD),
        github=github,
        titan_url=url,
        sha=HEAD,
        inputs=case.inputs,
    )


def drift_check(workspace: Path, github: FakeGitHub, url: str, case: Case) -> ActionRun:
    return run_action(
        workspace,
        command="drift",
        event_name="schedule",
        event={"schedule": "17 6 * * *", "repository": {"default_branch": "main"}},
        github=github,
        titan_url=url,
        ref="refs/heads/main",
        inputs={"TG_FAIL_ON_DRIFT": "false", **case.inputs},
    )


@pytest.mark.attack
@pytest.mark.parametrize("case_name", list(CASES))
def test_the_pr_comment_and_summary_keep_the_warning_table_and_marker_first(
    case_name: str, workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    case = CASES[case_name](workspace / DIRECTORY, titan_url)
    run = plan_pr(workspace, github, titan_url, case)
    assert run.returncode == 0, run.stdout[-3_000:] + run.stderr[-3_000:]
    saved = json.loads(Path(run.outputs["plan-json"]).read_text(encoding="utf-8"))

    [comment] = [c for c in github.comments.get(7, []) if c["user"]["type"] == "Bot"]
    body = comment["body"]
    assert body.startswith("<!-- titan-gitops:plan dir=teams/shop digest=")
    record = parse_approval(body)
    assert record is not None
    assert record.digest == saved["change_digest"]
    check_danger_first(body, limit=COMMENT_BUDGET, counts=run.outputs, case=case, drift=False)
    check_cut_is_visible(body, case_name, drift=False)
    assert "Planned on commit" in body[-1_000:]

    check_danger_first(run.summary, limit=SUMMARY_LIMIT, counts=run.outputs, case=case, drift=False)
    if case_name != "2000-changes-deletes-last":
        check_cut_is_visible(run.summary, case_name, drift=False)


@pytest.mark.attack
@pytest.mark.parametrize("case_name", list(CASES))
def test_the_drift_issue_and_summary_keep_the_banner_and_table_first(
    case_name: str, workspace: Path, github: FakeGitHub, titan_url: str
) -> None:
    case = CASES[case_name](workspace / DIRECTORY, titan_url)
    run = drift_check(workspace, github, titan_url, case)
    assert run.returncode == 0, run.stdout[-3_000:] + run.stderr[-3_000:]
    assert run.outputs["drift"] == "true"

    [issue] = github.issues.values()
    body = issue["body"]
    assert body.startswith("<!-- titan-gitops:drift dir=teams/shop -->")
    check_danger_first(body, limit=COMMENT_BUDGET, counts=run.outputs, case=case, drift=True)
    check_cut_is_visible(body, case_name, drift=True)
    assert "This issue is updated by every drift check" in body[-1_000:]

    check_danger_first(run.summary, limit=SUMMARY_LIMIT, counts=run.outputs, case=case, drift=True)
    if case_name != "2000-changes-deletes-last":
        check_cut_is_visible(run.summary, case_name, drift=True)
