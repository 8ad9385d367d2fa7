"""The drift command and its issue: one open issue per definitions directory, found by a marker.

Drift appears: open it. Drift persists: rewrite the same issue's body. Drift gone: comment and
close it. Only bot-written issues are considered, so a hand-written issue is never edited.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops import exit_codes
from titan_gitops.commands.drift import drift_found
from titan_gitops.errors import ValidationFailed
from titan_gitops.escape import escape_code
from titan_gitops.github.base import find_base, plan_with_base
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.deployments import environment_name
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubError, GitHubRest
from titan_gitops.github.steps import (
    SUMMARY_PLAN_CHARS,
    open_github,
    publish_plan,
    report_invalid,
    resolve_action_target,
    source_links,
)
from titan_gitops.github.sticky import (
    COMMENT_BUDGET,
    cap_comment,
    comment_room,
    ensure_comment_shows,
    is_bot_comment,
    normalise_directory,
    quote_directory,
)
from titan_gitops.render.markdown import utf8_size

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient
    from titan_gitops.model import Plan
    from titan_gitops.render.markdown import Mask
    from titan_gitops.render.sections import Link
    from titan_gitops.settings import Target


def format_drift_marker(directory: str) -> str:
    """The hidden marker that identifies the drift issue of `directory`."""
    return f"<!-- titan-gitops:drift dir={quote_directory(directory)} -->"


def drift_issue_title(directory: str) -> str:
    """The drift issue's title."""
    return f"titan-gitops: drift in {normalise_directory(directory)}"


def find_drift_issue(issues: Iterable[dict[str, Any]], directory: str) -> dict[str, Any] | None:
    """The open, bot-written issue carrying the drift marker of `directory`."""
    marker = format_drift_marker(directory)
    for issue in issues:
        body = issue.get("body")
        if isinstance(body, str) and marker in body and is_bot_comment(issue):
            return issue
    return None


def compose_drift_issue(
    report: Plan,
    *,
    title: str,
    directory: str,
    run_url: str,
    mask: Mask | None = None,
    checked_at: str | None = None,
    link: Link | None = None,
) -> str:
    """The issue body: marker, the drift report, where it was seen; within COMMENT_BUDGET bytes.

    The report is rendered to fit the room the marker and footer leave, so its banner and counts
    table always show.

    Raises:
        IncompleteComment: the body would not show the counts table.
    """
    from titan_gitops.render.markdown import MIN_CHARS, must_show, render_plan_markdown

    mask = mask or (lambda text: text)
    seen = f"Seen by [this workflow run]({run_url})." if run_url else "Seen by a scheduled check."
    footer = (
        f"{seen} This issue is updated by every drift check of "
        f"<code>{escape_code(normalise_directory(directory))}</code> and closed when the "
        "live tasks match the definitions again."
    )
    marker = format_drift_marker(directory)
    room = max(comment_room(marker, footer), MIN_CHARS)
    full = "the run's step summary"
    markdown = mask(
        render_plan_markdown(
            report,
            title=title,
            drift=True,
            max_chars=room,
            mask=mask,
            full_plan=full,
            link=link,
            checked_at=checked_at,
        )
    )
    capped = cap_comment(
        marker + "\n" + markdown.rstrip(),
        overflow_note="_The report was cut to fit; the full report is in the run's step summary._",
        limit=COMMENT_BUDGET - utf8_size(footer) - 3,
    )
    body = f"{capped}\n\n{footer}\n"
    ensure_comment_shows(body, [mask(r) for r in must_show(report, drift=True)], what="drift issue")
    return body


def sync_drift_issue(
    rest: GitHubRest,
    *,
    directory: str,
    drift: bool,
    body: str,
    run_url: str,
    pending: int = 0,
) -> str:
    """Open, update or close the directory's drift issue; returns what was done, for the log.

    Raises:
        GitHubError: a call failed.
    """
    issue = find_drift_issue(rest.list_issues("open"), directory)
    if drift:
        if issue is None:
            created = rest.create_issue(drift_issue_title(directory), body)
            return f"opened drift issue #{created.get('number')}"
        rest.update_issue(int(issue["number"]), body=body)
        return f"updated drift issue #{issue['number']}"
    if issue is None:
        return "no drift issue to close"
    where = f" ([run]({run_url}))" if run_url else ""
    gone = f"Drift is gone{where}: the live tasks match the definitions again. Closing."
    if pending:
        gone = (
            f"Drift is gone{where}: nothing was changed in Titan outside git any more. "
            f"{pending_line(pending)} Closing."
        )
    rest.create_issue_comment(int(issue["number"]), gone)
    rest.update_issue(int(issue["number"]), state="closed", state_reason="completed")
    return f"closed drift issue #{issue['number']}"


def pending_line(pending: int) -> str:
    """What merges not yet applied are: reported, not drift."""
    tasks = f"{pending} task{'s' * (pending != 1)}"
    return (
        f"Merges not yet applied are pending for {tasks}: git changed since the last "
        "successful deployment and live still matches it, so this is not drift; the next "
        "apply puts them live."
    )


def make_action_drift_report(
    client: TitanClient,
    inputs: ActionInputs,
    target: Target,
    environ: Mapping[str, str],
    base: str | None = None,
) -> Plan:
    """The drift report of the Action's directory, over the names `only` and `exclude` select;
    three-way since commit `base` when given."""
    from titan_gitops.defcache import open_cache
    from titan_gitops.pipeline import make_drift_report

    return make_drift_report(
        Path(inputs.directory),
        client,
        environ=environ,
        target=target.describe(),
        only=inputs.only,
        exclude=inputs.exclude,
        action_inputs=True,
        base=base,
        cache=open_cache(environ),
    )


def run_drift(
    inputs: ActionInputs, context: GitHubContext, out: Outbox, environ: Mapping[str, str]
) -> int:
    """Compare live with the definitions; keep one drift issue per directory up to date."""
    target = resolve_action_target(inputs, environ)
    from titan_gitops.connect import open_client
    from titan_gitops.render.markdown import render_plan_markdown

    root = Path(inputs.directory)
    where = normalise_directory(inputs.directory)
    title = f"titan-gitops drift: {where}"
    base = find_base(inputs, context, out)
    try:
        with open_client(target, secrets=out.secrets) as client:
            report = plan_with_base(
                lambda sha: make_action_drift_report(client, inputs, target, environ, sha),
                base,
                out,
                environment_name(inputs),
            )
    except ValidationFailed as exc:
        return report_invalid(exc, out, root, f"{title}: invalid definitions")
    publish_plan(report, out, inputs, drift=True)
    # With a base, only live edits, conflicts and unmanaged tasks are drift (and merges not yet
    # applied with fail-on-pending); without one, any difference is.
    drift = drift_found(report, inputs.fail_on_pending)
    pending = report.threeway.counts()["pending"] if report.threeway is not None else 0
    out.set_outputs({"drift": "true" if drift else "false"})
    mask = out.secrets.mask
    checked_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    links = source_links(context)
    summary = render_plan_markdown(
        report,
        title=title,
        drift=True,
        max_chars=SUMMARY_PLAN_CHARS,
        mask=mask,
        full_plan="the job log",
        link=links,
        checked_at=checked_at,
    )
    out.summary(mask(summary))
    if pending and not drift:
        out.log(pending_line(pending))
        out.summary(f"\n**{html.escape(pending_line(pending))}**\n")
    wants_issue = inputs.on_drift in ("issue", "both")
    rest = open_github(inputs, context, out) if inputs.comment and wants_issue else None
    if rest is not None:
        with rest:
            done = keep_drift_issue(
                rest, report, inputs, context, out, title=title, checked_at=checked_at, link=links
            )
        out.log(done)
        out.summary(f"_{html.escape(done)}._\n")
    if inputs.on_drift in ("pull-request", "both"):
        from titan_gitops.github.adopt_pr import run_adopt_pull

        run_adopt_pull(inputs, context, out, environ, report=report, target=target)
    if drift and inputs.fail_on_drift:
        out.error(f"drift found in {where}: see the step summary")
        return exit_codes.ERROR
    return exit_codes.OK


def keep_drift_issue(
    rest: GitHubRest,
    report: Plan,
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    *,
    title: str,
    checked_at: str,
    link: Link | None,
) -> str:
    """Open, update or close the drift issue of the report; what was done (a token that may
    not write issues: a warning)."""
    body = compose_drift_issue(
        report,
        title=title,
        directory=inputs.directory,
        run_url=context.run_url,
        mask=out.secrets.mask,
        checked_at=checked_at,
        link=link,
    )
    out.check(body, what="drift issue")
    pending = report.threeway.counts()["pending"] if report.threeway is not None else 0
    try:
        return sync_drift_issue(
            rest,
            directory=inputs.directory,
            drift=drift_found(report, inputs.fail_on_pending),
            body=body,
            run_url=context.run_url,
            pending=pending,
        )
    except GitHubError as exc:
        if not exc.read_only:
            raise
        done = "could not update the drift issue (HTTP 403: the token lacks issues: write)"
        out.warning(done)
        return done
