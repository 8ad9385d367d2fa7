"""The apply command on a merge: only the default branch's newest commit, only what the review
saw, recorded as a GitHub deployment."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops import exit_codes
from titan_gitops.errors import (
    ConfigError,
    LiveEditsRefused,
    StalePlan,
    TitanGitopsError,
    ValidationFailed,
)
from titan_gitops.escape import escape_code, escape_text, fence
from titan_gitops.github.apply_result import ApplyResult, applied_counts, close_the_loop
from titan_gitops.github.approval import ApprovalVerdict, decide_approval, find_merged_pull
from titan_gitops.github.base import ActionBase, base_of_deployment, plan_with_base
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.deployments import (
    Deployment,
    check_order,
    environment_name,
    short,
    start_deployment,
)
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubRest
from titan_gitops.github.reviews import require_reviews
from titan_gitops.github.saved_plan import (
    ApprovedPlan,
    check_inputs_for_saved_plan,
    read_approved_plan,
    rederive_approved,
    refuse_stale,
)
from titan_gitops.github.steps import (
    SUMMARY_PLAN_CHARS,
    make_action_plan,
    open_github,
    publish_plan,
    report_invalid,
    resolve_action_target,
)
from titan_gitops.github.sticky import (
    NO_DIGEST,
    ApprovalRecord,
    find_sticky_comment,
    normalise_directory,
)
from titan_gitops.threeway import refuse_live_edits

# How a refusal to throw away live edits says to allow it.
HOW_TO_OVERWRITE = "set the input overwrite-live-edits: true"
# The digest of a change set put together from several reviews: it never equals a plan's.
COMBINED_DIGEST = "combined"

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient
    from titan_gitops.model import ApplyReport, Outcome, Plan
    from titan_gitops.settings import Target


def run_apply_command(
    inputs: ActionInputs, context: GitHubContext, out: Outbox, environ: Mapping[str, str]
) -> int:
    """Apply on a push to the default branch: only the branch's newest commit, only what the
    merged pull request's review saw, recorded as a deployment. With plan-file, exactly the
    plan the approve job saved, re-derived and approved again."""
    require_default_branch_push(context, "apply")
    approved: ApprovedPlan | None = None
    if inputs.plan_file:
        check_inputs_for_saved_plan(inputs)
        approved = read_approved_plan(inputs, context)
    target = resolve_action_target(inputs, environ)
    rest = require_github(inputs, context, "record the deployment", out)
    environment = environment_name(inputs)
    with rest:
        order = check_order(rest, context, environment)
        if order.refusal:
            result = refuse_out_of_order(order.refusal, inputs, out)
        else:
            if order.last is not None:
                out.log(f"last successful deployment to {environment}: {short(order.last.sha)}")
            last_sha = order.last.sha if order.last is not None else ""
            base = base_of_deployment(inputs, order.last, environment)
            run = ApplyRun(
                inputs, context, out, environ, rest, environment, last_sha, approved, base
            )
            try:
                result = plan_and_apply(run, target)
            except TitanGitopsError as exc:
                reason = f"The apply stopped with an error: {out.secrets.mask(str(exc))}"
                failed = ApplyResult("failed", reason, exit_codes.ERROR, needs_issue=True)
                close_the_loop(rest, inputs, context, out, failed)
                raise
        close_the_loop(rest, inputs, context, out, result)
    return result.code


def require_default_branch_push(context: GitHubContext, command: str) -> None:
    """Refuse any event but a push to the default branch.

    Raises:
        ConfigError: another event or branch.
    """
    if not context.on_default_branch_push:
        branch = context.default_branch or "unknown"
        raise ConfigError(
            f"{command} runs only on a push to the default branch ({branch}); this run is a "
            f"{context.event_name or 'unknown'} event on {context.ref or 'an unknown ref'}: "
            "merge a reviewed pull request instead"
        )


def require_github(
    inputs: ActionInputs, context: GitHubContext, what: str, out: Outbox
) -> GitHubRest:
    """The GitHub client apply and approve cannot do without (its rate-limit waits logged).

    Raises:
        ConfigError: the github-token input is empty.
    """
    rest = open_github(inputs, context, out)
    if rest is None:
        raise ConfigError(
            f"input github-token is empty: {inputs.command} needs it to check that the commit "
            f"is the head of {context.default_branch} and to {what}"
        )
    return rest


def refuse_out_of_order(reason: str, inputs: ActionInputs, out: Outbox) -> ApplyResult:
    """Say why this run writes nothing to Titan."""
    where = normalise_directory(inputs.directory)
    message = f"Refusing to apply: {reason}."
    out.summary(
        f"### ⛔ titan-gitops apply: <code>{escape_code(where)}</code>\n\n"
        f"**{html.escape(message)}**\n\nNothing was written to Titan.\n"
    )
    out.error(message)
    return ApplyResult("refused", f"Not applied by this run: {reason}.", exit_codes.ERROR)


@dataclass(frozen=True)
class ApplyRun:
    """What one apply run works with, once it is known to be in order."""

    inputs: ActionInputs
    context: GitHubContext
    out: Outbox
    environ: Mapping[str, str]
    rest: GitHubRest
    environment: str
    # The commit of the environment's last successful deployment ("" when none).
    last_sha: str
    # The plan the approve job saved (the plan-file input), applied exactly; None: plan now.
    approved: ApprovedPlan | None = None
    # The base of the three-way plan (the last successful deployment's commit), or why none.
    base: ActionBase = field(default_factory=lambda: ActionBase(None))

    def make_plan(self, client: TitanClient, target: Target) -> Plan:
        """The plan to apply, three-way since the base: made now, or the saved one re-derived
        now."""
        inputs, environ, out, approved = self.inputs, self.environ, self.out, self.approved

        def make(sha: str | None) -> Plan:
            if approved is None:
                return make_action_plan(client, inputs, target, environ, sha)
            return rederive_approved(approved, inputs, client, target, environ, out, sha)

        return plan_with_base(make, self.base, out, self.environment)


def plan_and_apply(run: ApplyRun, target: Target) -> ApplyResult:
    """Plan, record the deployment with the change digest, check the approval, apply, and
    record the outcome."""
    from titan_gitops.connect import open_client

    inputs, context, out = run.inputs, run.context, run.out
    rest, environment = run.rest, run.environment

    root = Path(inputs.directory)
    title = f"titan-gitops apply: {normalise_directory(inputs.directory)}"

    def start(digest: str | None) -> Deployment:
        return start_deployment(rest, context, environment, inputs.directory, digest, out)

    def record_error(description: str) -> None:
        # The failure being reported matters more than the record of it.
        try:
            start(None).set_status("error", description, out)
        except TitanGitopsError as exc:
            out.warning(f"could not record the failed apply as a deployment: {exc}")

    with open_client(target, secrets=out.secrets) as client:
        try:
            plan = run.make_plan(client, target)
        except ValidationFailed as exc:
            record_error("the definitions are invalid")
            code = report_invalid(exc, out, root, f"{title}: invalid definitions")
            reason = "The definitions are invalid: see the annotations of the run."
            return ApplyResult("failed", reason, code, "error", needs_issue=True)
        except StalePlan as exc:
            if run.approved is None:
                record_error("no plan could be made")
                raise
            start(run.approved.plan.change_digest).set_status(
                "failure", "the saved plan is stale or was edited", out
            )
            return refuse_stale(exc, run.approved, out)
        except TitanGitopsError:
            record_error("no plan could be made")
            raise
        publish_plan(plan, out, inputs)
        out.set_outputs({"change-digest": plan.change_digest})
        deployment = start(plan.change_digest)
        try:
            result = approve_and_apply(run, plan, client, title)
        except BaseException:
            deployment.set_status("error", "the apply stopped with an error", out)
            raise
    deployment.set_status(result.state, result.reason, out)
    out.summary(
        f"Recorded as deployment {deployment.id} to <code>{escape_code(environment)}</code>: "
        f"**{result.state}**.\n"
    )
    return result


def approve_and_apply(run: ApplyRun, plan: Plan, client: TitanClient, title: str) -> ApplyResult:
    """Check the approval and apply."""
    inputs, out = run.inputs, run.out
    from titan_gitops.render.report import render_report_text, summary_line

    if not plan.has_changes:
        out.summary(
            f"### {escape_text(title)}\n\n**No changes.** Live tasks match the definitions.\n"
        )
        reason = "No changes: the live tasks already match the definitions."
        return ApplyResult("applied", reason, exit_codes.OK, "success", digest=plan.change_digest)
    verdict = check_approval(plan, inputs, run.context, run.rest, run.last_sha)
    summarise_verdict(plan, title, verdict, out)
    if not verdict.approved:
        out.error(verdict.message)
        return ApplyResult(
            "refused",
            verdict.message,
            exit_codes.ERROR,
            "failure",
            digest=plan.change_digest,
            needs_issue=True,
        )
    out.log(verdict.message)
    try:
        refuse_live_edits(plan, how_to_overwrite=HOW_TO_OVERWRITE)
        report = apply_until_cancelled(plan, client, run.environ, inputs.parallelism, out)
    except LiveEditsRefused as exc:
        return refuse_live_edit_revert(exc, plan, out)
    text = render_report_text(report)
    out.log(text)
    line = summary_line(report)
    masked_text, masked_line = out.secrets.mask(text), out.secrets.mask(line)
    out.summary(f"#### Apply report\n\n{fence(masked_text)}\n\n**{escape_text(masked_line)}**\n")
    counts, digest = applied_counts(report), plan.change_digest
    if not report.ok:
        out.error(line)
        reason = f"Some changes failed: {masked_line}"
        return ApplyResult("failed", reason, exit_codes.ERROR, "failure", counts, digest, True)
    reason = f"Applied: {masked_line}"
    return ApplyResult("applied", reason, exit_codes.OK, "success", counts, digest)


def refuse_live_edit_revert(exc: LiveEditsRefused, plan: Plan, out: Outbox) -> ApplyResult:
    """An apply that would throw away edits made in Titan: an ordinary refusal, nothing
    written."""
    reason = out.secrets.mask(str(exc))
    reason = reason[:1].upper() + reason[1:]
    out.summary(f"\n⛔ **{escape_text(reason)}**\n\nNothing was written to Titan.\n")
    out.error(reason)
    return ApplyResult(
        "refused",
        reason,
        exit_codes.ERROR,
        "failure",
        digest=plan.change_digest,
        needs_issue=True,
    )


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
        how_to_overwrite=HOW_TO_OVERWRITE,
    )


def check_approval(
    plan: Plan, inputs: ActionInputs, context: GitHubContext, rest: GitHubRest, last_sha: str
) -> ApprovalVerdict:
    """Find the merged pull request's reviewed change set and compare the fresh plan with it.

    When that alone does not approve the plan and other pull requests were merged since the
    last successful deployment (their own apply runs were refused as no longer the head), the
    change sets reviewed on all of them together may.
    """
    record: ApprovalRecord | None = None
    pull = find_merged_pull(rest.list_commit_pulls(context.sha), context.sha)
    if pull is None:
        source = f"no merged pull request produced commit {context.sha[:12]}"
    else:
        number = int(pull["number"])
        source = f"pull request #{number}"
        found = find_sticky_comment(rest.list_issue_comments(number), inputs.directory)
        record = found[1] if found is not None else None
    allow = inputs.allow_unreviewed
    verdict = decide_approval(plan, record, allow_unreviewed=False, source=source)
    reviewed = [(pull, record)] if pull is not None and record is not None else []
    if not verdict.approved and last_sha and last_sha != context.sha:
        combined = reviewed_since(rest, last_sha, context.sha, inputs.directory)
        if combined is not None:
            verdict = decide_approval(plan, combined[0], allow_unreviewed=False, source=combined[1])
            reviewed = combined[2]
    if verdict.approved:
        # The `approval` input: who must have approved the reviewed commit (github/reviews.py).
        return require_reviews(
            verdict,
            reviewed,
            mode=inputs.approval,
            directory=inputs.directory,
            allow_unreviewed=allow,
            rest=rest,
        )
    return decide_approval(plan, record, allow_unreviewed=allow, source=source)


# Commits after the last deployment searched for reviewed pull requests; past it, none are.
MAX_QUEUED_COMMITS = 50


def reviewed_since(
    rest: GitHubRest, last_sha: str, sha: str, directory: str
) -> tuple[ApprovalRecord, str, list[tuple[dict[str, Any], ApprovalRecord]]] | None:
    """The union of the change sets reviewed for `directory` on the pull requests merged after
    commit `last_sha` up to `sha`, where they were found, and each pull request with its own
    record; None when one of them recorded no per-change list, or fewer than two were found."""
    commits = rest.compare_commits(last_sha, sha)
    if not commits or len(commits) > MAX_QUEUED_COMMITS:
        return None
    items: set[str] = set()
    numbers: list[str] = []
    reviewed: list[tuple[dict[str, Any], ApprovalRecord]] = []
    for commit in commits:
        pull = find_merged_pull(rest.list_commit_pulls(commit), commit)
        if pull is None:
            continue  # a direct push: nothing of it was reviewed
        found = find_sticky_comment(rest.list_issue_comments(int(pull["number"])), directory)
        if found is None:
            continue  # the pull request did not touch this directory
        if found[1].items is None or found[1].digest == NO_DIGEST:
            return None
        items |= found[1].items
        numbers.append(f"#{int(pull['number'])}")
        reviewed.append((pull, found[1]))
    if len(numbers) < 2:
        return None
    source = f"pull requests {', '.join(numbers)} (merged since commit {short(last_sha)})"
    return ApprovalRecord(directory, COMBINED_DIGEST, sha, frozenset(items)), source, reviewed


def summarise_verdict(plan: Plan, title: str, verdict: ApprovalVerdict, out: Outbox) -> None:
    """The whole plan in the step summary (what reviewers of a protected environment read),
    then the approval verdict."""
    from titan_gitops.render.markdown import render_plan_markdown

    summary = render_plan_markdown(
        plan,
        title=title,
        max_chars=SUMMARY_PLAN_CHARS,
        mask=out.secrets.mask,
        full_plan="the job log",
    )
    out.summary(out.secrets.mask(summary) + "\n" + render_verdict(verdict))


def render_verdict(verdict: ApprovalVerdict) -> str:
    """The approval verdict for the summary, with the unreviewed changes named."""
    icon = "✅" if verdict.approved else "⛔"
    # The approval input's messages name paths a pull request changed and CODEOWNERS owners:
    # escaped as any user text.
    text = f"{icon} **{escape_text(verdict.message)}**\n"
    if verdict.unreviewed:
        names = ", ".join(f"<code>{escape_code(n)}</code>" for n in verdict.unreviewed)
        text += f"\nNot reviewed: {names}\n"
    return text
