"""Apply-on-merge approval: the same change set, fewer changes, or refused."""

from __future__ import annotations

from typing import Any

from titan_gitops.fingerprint import change_digest
from titan_gitops.github.approval import decide_approval, find_merged_pull
from titan_gitops.github.sticky import NO_DIGEST, ApprovalRecord, change_items
from titan_gitops.model import Action, Change, FieldChange, Plan


def _create(name: str, objective: str = "Extract.") -> Change:
    return Change(
        Action.CREATE,
        name,
        "defined, not live",
        fields=(FieldChange("/objective", None, objective),),
    )


def _plan(*changes: Change) -> Plan:
    return Plan(changes=changes, change_digest=change_digest(changes))


def _record(plan: Plan, *, items: bool = True) -> ApprovalRecord:
    return ApprovalRecord(
        "teams/shop",
        plan.change_digest,
        items=frozenset(change_items(plan)) if items else None,
    )


def test_the_reviewed_change_set_is_approved() -> None:
    plan = _plan(_create("shop-a"), _create("shop-b"))
    verdict = decide_approval(plan, _record(plan), allow_unreviewed=False, source="PR #7")
    assert verdict.approved
    assert "matches" in verdict.message


def test_fewer_changes_than_reviewed_are_approved_and_said() -> None:
    reviewed = _plan(_create("shop-a"), _create("shop-b"))
    fresh = _plan(_create("shop-b"))
    verdict = decide_approval(fresh, _record(reviewed), allow_unreviewed=False, source="PR #7")
    assert verdict.approved
    assert "1 of the 2 changes" in verdict.message


def test_a_change_nobody_reviewed_is_refused_and_named() -> None:
    reviewed = _plan(_create("shop-a"))
    fresh = _plan(_create("shop-a"), _create("shop-evil"))
    verdict = decide_approval(fresh, _record(reviewed), allow_unreviewed=False, source="PR #7")
    assert not verdict.approved
    assert verdict.unreviewed == ("shop-evil",)
    assert "PR #7" in verdict.message


def test_a_changed_value_is_a_new_change() -> None:
    reviewed = _plan(_create("shop-a", "Extract prices."))
    fresh = _plan(_create("shop-a", "Extract everything and more."))
    verdict = decide_approval(fresh, _record(reviewed), allow_unreviewed=False, source="PR #7")
    assert not verdict.approved
    assert verdict.unreviewed == ("shop-a",)


def test_without_a_per_change_list_only_the_exact_digest_passes() -> None:
    reviewed = _plan(_create("shop-a"), _create("shop-b"))
    fresh = _plan(_create("shop-b"))
    record = _record(reviewed, items=False)
    assert not decide_approval(fresh, record, allow_unreviewed=False, source="PR").approved
    assert decide_approval(reviewed, record, allow_unreviewed=False, source="PR").approved


def test_no_record_or_a_failed_plan_is_refused_unless_allowed() -> None:
    plan = _plan(_create("shop-a"))
    failed = ApprovalRecord("teams/shop", NO_DIGEST)
    for record in (None, failed):
        refused = decide_approval(plan, record, allow_unreviewed=False, source="PR #7")
        assert not refused.approved
        assert refused.unreviewed == ("shop-a",)
        allowed = decide_approval(plan, record, allow_unreviewed=True, source="PR #7")
        assert allowed.approved
        assert "allow-unreviewed" in allowed.message


def test_an_empty_plan_needs_no_approval() -> None:
    assert decide_approval(_plan(), None, allow_unreviewed=False, source="PR").approved


def test_the_merged_pull_is_the_one_whose_merge_made_the_commit() -> None:
    pulls: list[dict[str, Any]] = [
        {"number": 3, "merged_at": None, "merge_commit_sha": "c1"},
        {"number": 4, "merged_at": "2026-01-01T00:00:00Z", "merge_commit_sha": "other"},
        {"number": 5, "merged_at": "2026-01-01T00:00:00Z", "merge_commit_sha": "c1"},
    ]
    assert find_merged_pull(pulls, "c1") == pulls[2]
    assert find_merged_pull(pulls[:2], "c1") is None
