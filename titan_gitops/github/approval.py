"""Apply-on-merge approval: a fresh plan may do what reviewers saw, or less, never more.

The reviewed change set is read from the merged pull request's sticky comment (not from any
artifact a pull-request run could have written). Identical digest: approved. Every fresh change
among the reviewed ones: approved, and said (part was already done, or a definition was dropped).
Anything else: refused, naming the changes nobody reviewed, unless the user allows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from titan_gitops.github.sticky import NO_DIGEST, ApprovalRecord, change_items
from titan_gitops.model import Plan


@dataclass(frozen=True)
class ApprovalVerdict:
    """Whether apply may go ahead, and the sentence that says why."""

    approved: bool
    message: str
    unreviewed: tuple[str, ...] = ()


def find_merged_pull(pulls: list[dict[str, Any]], sha: str) -> dict[str, Any] | None:
    """The merged pull request whose merge produced commit `sha`, if any."""
    for pull in pulls:
        if pull.get("merged_at") and pull.get("merge_commit_sha") == sha:
            return pull
    return None


def decide_approval(
    plan: Plan, record: ApprovalRecord | None, *, allow_unreviewed: bool, source: str
) -> ApprovalVerdict:
    """Compare the fresh plan with the reviewed one recorded in `record` (found in `source`)."""
    if not plan.has_changes:
        return ApprovalVerdict(True, "The plan is empty: nothing to approve.")
    if record is None or record.digest == NO_DIGEST:
        reason = (
            f"no reviewed plan was found for this directory ({source})"
            if record is None
            else f"the last plan posted on {source} failed, so no change set was reviewed"
        )
        return _unreviewed(plan, reason, [c.name for c in plan.actionable], allow_unreviewed)
    if record.digest == plan.change_digest:
        return ApprovalVerdict(True, f"The change set matches the one reviewed on {source}.")
    fresh = change_items(plan)
    if record.items is not None:
        extra = [
            c.name
            for c, item in zip(plan.actionable, fresh, strict=True)
            if item not in record.items
        ]
        if not extra:
            return ApprovalVerdict(
                True,
                f"The plan does {len(fresh)} of the {len(record.items)} changes reviewed on "
                f"{source} (the others are no longer needed) and nothing else.",
            )
        reason = f"the plan on the merged commit differs from the one reviewed on {source}"
        return _unreviewed(plan, reason, extra, allow_unreviewed)
    reason = (
        f"the plan on the merged commit differs from the one reviewed on {source} "
        "(the reviewed plan was too large to record change by change)"
    )
    return _unreviewed(plan, reason, [c.name for c in plan.actionable], allow_unreviewed)


def _unreviewed(
    plan: Plan, reason: str, names: list[str], allow_unreviewed: bool
) -> ApprovalVerdict:
    if allow_unreviewed:
        return ApprovalVerdict(
            True, f"Applying although {reason}: allow-unreviewed is set.", tuple(names)
        )
    return ApprovalVerdict(
        False,
        f"Refusing to apply: {reason}. Open a pull request so the plan is reviewed, "
        "or set allow-unreviewed: true to apply anyway.",
        tuple(names),
    )
