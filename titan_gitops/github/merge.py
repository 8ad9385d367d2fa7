"""The apply command on a merge: only on the default branch, only what the review saw."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops import exit_codes
from titan_gitops.errors import ConfigError, ValidationFailed
from titan_gitops.escape import escape_code, escape_text, fence
from titan_gitops.github.approval import ApprovalVerdict, decide_approval, find_merged_pull
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.steps import (
    SUMMARY_PLAN_CHARS,
    make_action_plan,
    open_github,
    publish_plan,
    report_invalid,
    resolve_action_target,
)
from titan_gitops.github.sticky import ApprovalRecord, find_sticky_comment, normalise_directory

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient
    from titan_gitops.model import ApplyReport, Outcome, Plan


def run_apply_command(
    inputs: ActionInputs, context: GitHubContext, out: Outbox, environ: Mapping[str, str]
) -> int:
    """Apply on a push to the default branch, only what the merged pull request's review saw."""
    if not context.on_default_branch_push:
        branch = context.default_branch or "unknown"
        raise ConfigError(
            f"apply runs only on a push to the default branch ({branch}); this run is a "
            f"{context.event_name or 'unknown'} event on {context.ref or 'an unknown ref'}: "
            "merge a reviewed pull request instead"
        )
    target = resolve_action_target(inputs, environ)
    # Imported only once the run is allowed: a refusal needs none of the planning machinery.
    from titan_gitops.connect import open_client
    from titan_gitops.render.markdown import render_plan_markdown
    from titan_gitops.render.report import render_report_text, summary_line

    root = Path(inputs.directory)
    where = normalise_directory(inputs.directory)
    title = f"titan-gitops apply: {where}"
    with open_client(target, secrets=out.secrets) as client:
        try:
            plan = make_action_plan(client, inputs, target, environ)
        except ValidationFailed as exc:
            return report_invalid(exc, out, root, f"{title}: invalid definitions")
        publish_plan(plan, out, inputs)
        if not plan.has_changes:
            out.summary(
                f"### {escape_text(title)}\n\n**No changes.** Live tasks match the definitions.\n"
            )
            return exit_codes.OK
        verdict = check_approval(plan, inputs, context)
        summary = out.secrets.mask(
            render_plan_markdown(
                plan,
                title=title,
                max_chars=SUMMARY_PLAN_CHARS,
                mask=out.secrets.mask,
                full_plan="the job log",
            )
        )
        out.summary(summary + "\n" + render_verdict(verdict))
        if not verdict.approved:
            out.error(verdict.message)
            return exit_codes.ERROR
        out.log(verdict.message)
        report = apply_until_cancelled(plan, client, environ, inputs.parallelism, out)
    text = render_report_text(report)
    out.log(text)
    line = summary_line(report)
    masked_text, masked_line = out.secrets.mask(text), out.secrets.mask(line)
    out.summary(f"#### Apply report\n\n{fence(masked_text)}\n\n**{escape_text(masked_line)}**\n")
    if not report.ok:
        out.error(line)
        return exit_codes.ERROR
    return exit_codes.OK


def apply_until_cancelled(
    plan: Plan,
    client: TitanClient,
    environ: Mapping[str, str],
    parallelism: int,
    out: Outbox,
) -> ApplyReport:
    """Apply; a cancelled job (SIGINT) starts nothing new and still reports; a second signal
    (GitHub's SIGTERM that follows) ends the job at once."""
    from titan_gitops.commands.apply import apply_with_signals
    from titan_gitops.render.report import describe_outcome

    def log_progress(outcome: Outcome, done: int, total: int) -> None:
        out.log(f"[{done}/{total}] {describe_outcome(outcome)}")

    return apply_with_signals(
        plan,
        client,
        environ=environ,
        parallelism=parallelism,
        progress=log_progress,
        announce=out.log,
    )


def check_approval(plan: Plan, inputs: ActionInputs, context: GitHubContext) -> ApprovalVerdict:
    """Find the merged pull request's reviewed change set and compare the fresh plan with it."""
    record: ApprovalRecord | None = None
    rest = open_github(inputs, context)
    if rest is None:
        source = "no github-token was given to read the pull request"
    else:
        with rest:
            pull = find_merged_pull(rest.list_commit_pulls(context.sha), context.sha)
            if pull is None:
                source = f"no merged pull request produced commit {context.sha[:12]}"
            else:
                number = int(pull["number"])
                source = f"pull request #{number}"
                found = find_sticky_comment(rest.list_issue_comments(number), inputs.directory)
                record = found[1] if found is not None else None
    return decide_approval(plan, record, allow_unreviewed=inputs.allow_unreviewed, source=source)


def render_verdict(verdict: ApprovalVerdict) -> str:
    """The approval verdict for the summary, with the unreviewed changes named."""
    icon = "✅" if verdict.approved else "⛔"
    # The message is our own wording (numbers and commit ids, no user text): HTML-escaping is
    # enough, and keeps it readable in the raw summary.
    text = f"{icon} **{html.escape(verdict.message)}**\n"
    if verdict.unreviewed:
        names = ", ".join(f"<code>{escape_code(n)}</code>" for n in verdict.unreviewed)
        text += f"\nNot reviewed: {names}\n"
    return text
