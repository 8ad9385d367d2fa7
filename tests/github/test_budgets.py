"""Size budgets of what the Action posts: comment, drift issue and step summary, in UTF-8 bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.github.drift_issue import compose_drift_issue
from titan_gitops.github.review import compose_reviewed_comment
from titan_gitops.github.sticky import (
    COMMENT_BUDGET,
    IncompleteComment,
    cap_comment,
    comment_room,
    parse_approval,
)
from titan_gitops.github.workflow import SUMMARY_LIMIT, append_summary
from titan_gitops.model import Action, Change, FieldChange, Plan
from titan_gitops.render.markdown import counts_table, utf8_size, verdict_line
from titan_gitops.secrets import SecretSet


def hostile_plan() -> Plan:
    """A 100,000-character delete sorted last behind 500 creates with 4-byte characters."""
    creates = tuple(
        Change(
            action=Action.CREATE,
            name=f"shop-new-{i:03d}",
            reason="not live yet",
            fields=(FieldChange("/objective", None, "😀" * 1_000),),
        )
        for i in range(500)
    )
    delete = Change(
        action=Action.DELETE, name="shop-" + "z" * 100_000, task_id="7", reason="orphan"
    )
    return Plan(changes=(*creates, delete), namespace="shop-", change_digest="c" * 64)


def test_the_comment_marker_counts_and_warning_come_from_one_plan_within_budget() -> None:
    plan = hostile_plan()
    body = compose_reviewed_comment(
        plan,
        title="titan-gitops plan: teams/shop",
        directory="teams/shop",
        sha="a" * 40,
        footer="<sub>footer</sub>",
        overflow_note="_cut_",
        mask=SecretSet.of([]).mask,
    )
    assert utf8_size(body) <= COMMENT_BUDGET
    record = parse_approval(body)
    assert record is not None
    assert record.digest == plan.change_digest
    table = body.index(counts_table(plan))
    assert body.index(verdict_line(plan)) < body.index("> [!CAUTION]")
    assert body.index("**1 task will be deleted:** <code>shop-zzz") < table
    assert body.index("<details>") > table
    assert "- <b>delete</b> <code>shop-zzz" in body
    assert "(99,885 more characters)" in body
    assert "not shown (create: " in body
    assert body.rstrip().endswith("<sub>footer</sub>")


def test_a_comment_that_would_lose_its_counts_is_refused() -> None:
    with pytest.raises(IncompleteComment, match="refusing to post the pull request comment"):
        compose_reviewed_comment(
            hostile_plan(),
            title="t",
            directory="d" * 70_000,
            sha="a" * 40,
            footer="",
            overflow_note="_cut_",
            mask=SecretSet.of([]).mask,
        )


def test_the_drift_issue_keeps_its_marker_banner_and_table_within_budget() -> None:
    body = compose_drift_issue(
        hostile_plan(), title="titan-gitops drift: teams/shop", directory="teams/shop", run_url=""
    )
    assert utf8_size(body) <= COMMENT_BUDGET
    assert body.startswith("<!-- titan-gitops:drift dir=teams/shop -->")
    # The drift leads with what changed live; what was created outside git comes last.
    plan = hostile_plan()
    assert body.index(verdict_line(plan, drift=True)) < body.index(counts_table(plan, drift=True))
    assert body.index("| + | missing live | 500 | creates it again |") < body.index(
        "| - | created outside git | 1 | deletes it |"
    )
    assert "shop-zzz" in body
    assert body.rstrip().endswith("definitions again.")


def test_cap_comment_counts_bytes_not_characters() -> None:
    body = "<!-- marker -->\n" + "é€😀\n" * 30_000
    capped = cap_comment(body, overflow_note="_cut_", limit=10_000)
    assert utf8_size(capped) <= 10_000
    assert capped.startswith("<!-- marker -->")
    assert capped.endswith("_cut_")


def test_comment_room_leaves_space_for_the_parts() -> None:
    assert comment_room("abc", "😀", limit=100) == 100 - 5 - 6 - 1


def test_appends_to_the_summary_share_one_budget_and_say_when_it_is_full(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    append_summary(path, "### first\n\n" + "row\n" * 150_000)  # 600 KB
    append_summary(path, "### second\n\n" + "😀 row\n" * 100_000)  # 900 KB
    append_summary(path, "### third\n")
    append_summary(path, "### fourth\n")
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= SUMMARY_LIMIT
    assert text.startswith("### first")
    assert "### second" in text
    assert "The summary was cut" in text
    assert "### third" not in text
    assert text.count("The step summary is full") == 1
