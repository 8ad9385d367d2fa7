"""Previews on a pull request: the `preview` input or the `titan-gitops:preview` label.

The plan is made first and its change digest is fixed before any preview is asked for; the
previews only add blocks to the comment and the summary, so what the reviewer approves (and
what apply checks) is the same with or without them. Nothing a preview meets fails the plan:
a spent quota or a failed preview is a note.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from titan_gitops.errors import TitanGitopsError
from titan_gitops.escape import escape_text
from titan_gitops.github.context import PREVIEW_LABEL, ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient
    from titan_gitops.model import Change, Plan, PlanPreviews


def preview_reason(inputs: ActionInputs, context: GitHubContext) -> str | None:
    """Why this run previews (`input preview` or the label), or None when it does not."""
    if inputs.preview:
        return "input preview is true"
    if context.has_preview_label:
        return f"the pull request has the label {PREVIEW_LABEL}"
    return None


def preview_pull_request(
    plan: Plan, client: TitanClient, inputs: ActionInputs, context: GitHubContext, out: Outbox
) -> PlanPreviews | None:
    """The previews of `plan` when this run asks for them (as `plan --preview` makes them)."""
    from titan_gitops.preview import DEFAULT_PREVIEW_LIMIT, preview_plan

    reason = preview_reason(inputs, context)
    if reason is None:
        return None
    out.log(f"previewing up to {DEFAULT_PREVIEW_LIMIT} tasks: {reason}")
    try:
        return preview_plan(plan, client, limit=DEFAULT_PREVIEW_LIMIT)
    except TitanGitopsError as exc:
        # A sample of output is a courtesy to the reviewer: the plan stands without it.
        out.warning(f"previews were left out: {out.secrets.mask(str(exc))}")
        return None


def preview_blocks(
    previews: PlanPreviews | None, mask: Callable[[str], str]
) -> Callable[[Change], list[str]] | None:
    """The `extra` hook of render_plan_markdown: each change's preview block, or a line saying
    it was left out over the limit; None without previews."""
    if previews is None:
        return None
    from titan_gitops.render.previews import preview_markdown

    found = previews
    skipped = set(found.skipped)

    def blocks(change: Change) -> list[str]:
        if change.name in skipped:
            return [f"_Not previewed: over the limit of {found.limit} previews per plan._"]
        return preview_markdown(found.find(change.name), mask)

    return blocks


def preview_notes_markdown(previews: PlanPreviews | None, mask: Callable[[str], str]) -> str:
    """The plan-level notes (a spent quota) as Markdown for the summary; "" when there are none."""
    if previews is None or not previews.notes:
        return ""
    return "".join(f"> **Note:** {escape_text(mask(note))}\n" for note in previews.notes)
