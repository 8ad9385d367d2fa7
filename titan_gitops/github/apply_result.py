"""After apply, the loop is closed: the merged pull request hears how its apply went, and a
directory whose apply failed keeps one issue open until an apply succeeds.

The result comment is one per pull request and directory (a re-run edits it in place), found by a
hidden marker in a bot-written comment; the plan's sticky comment is never touched. The failure
issue is found the same way among the open issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import TitanGitopsError
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.approval import find_merged_pull
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubRest
from titan_gitops.github.sticky import is_bot_comment, normalise_directory, quote_directory

if TYPE_CHECKING:
    from titan_gitops.model import ApplyReport

ACTIONS = ("create", "update", "rename", "delete")
_ICONS = {"applied": "✅", "refused": "⛔", "failed": "❌"}


@dataclass(frozen=True)
class ApplyResult:
    """How one apply run ended: for the deployment, the exit code, the comment and the issue."""

    verdict: str  # applied | refused | failed
    reason: str
    code: int
    # The deployment status (success, failure, error); empty when no deployment was recorded.
    state: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    digest: str = ""
    # True when the directory is left not applied and nothing else will apply it: an issue.
    needs_issue: bool = False


def applied_counts(report: ApplyReport) -> dict[str, int]:
    """How many changes of each action were applied (or found applied on re-listing)."""
    from titan_gitops.model import Action, Status

    return {
        name: report.count(Status.APPLIED, Action(name))
        + report.count(Status.RECONCILED, Action(name))
        for name in ACTIONS
    }


def result_outputs(result: ApplyResult) -> dict[str, str]:
    """The applied-* counting outputs (0 when nothing was applied)."""
    return {f"applied-{name}s": str(result.counts.get(name, 0)) for name in ACTIONS}


def _marker(kind: str, directory: str) -> str:
    return f"<!-- titan-gitops:{kind} dir={quote_directory(directory)} -->"


def _find(items: Iterable[dict[str, Any]], marker: str) -> dict[str, Any] | None:
    for item in items:
        body = item.get("body")
        if isinstance(body, str) and marker in body and is_bot_comment(item):
            return item
    return None


def compose_result(result: ApplyResult, directory: str, context: GitHubContext) -> str:
    """The result comment's body (also the failure issue's, with another marker)."""
    where = escape_code(normalise_directory(directory))
    counts = " · ".join(f"{result.counts.get(n, 0)} {n}d" for n in ACTIONS)
    lines = [
        f"### {_ICONS[result.verdict]} titan-gitops apply: <code>{where}</code> {result.verdict}",
        "",
        escape_text(result.reason[:1000]),
        "",
        f"Applied: {counts}.",
    ]
    facts = f"Commit <code>{escape_code(context.sha[:12])}</code>"
    if result.digest:
        facts += f", change set <code>{escape_code(result.digest[:12])}</code>"
    if context.run_url:
        facts += f". [The run]({context.run_url})"
    lines += ["", f"<sub>{facts}.</sub>"]
    return "\n".join(lines) + "\n"


def post_result_comment(rest: GitHubRest, context: GitHubContext, directory: str, body: str) -> str:
    """Create or edit the merged pull request's result comment; its URL ("" with no PR)."""
    pull = find_merged_pull(rest.list_commit_pulls(context.sha), context.sha)
    if pull is None:
        return ""
    number = int(pull["number"])
    marker = _marker("apply", directory)
    text = f"{marker}\n{body}"
    found = _find(rest.list_issue_comments(number), marker)
    if found is not None:
        posted = rest.update_issue_comment(int(found["id"]), text)
    else:
        posted = rest.create_issue_comment(number, text)
    url = posted.get("html_url")
    return url if isinstance(url, str) else f"#{number}"


def sync_failure_issue(
    rest: GitHubRest, context: GitHubContext, directory: str, result: ApplyResult, body: str
) -> int | None:
    """Open or update the directory's failure issue, or close it after a success; its number
    (None when there is none left open)."""
    marker = _marker("apply-failed", directory)
    issue = _find(rest.list_issues("open"), marker)
    if result.needs_issue:
        text = f"{marker}\n{body}\nThis issue is closed by the next successful apply.\n"
        if issue is None:
            title = f"titan-gitops: apply failed in {normalise_directory(directory)}"
            return int(rest.create_issue(title, text)["number"])
        rest.update_issue(int(issue["number"]), body=text)
        return int(issue["number"])
    if issue is not None and result.verdict == "applied":
        where = f" ([run]({context.run_url}))" if context.run_url else ""
        rest.create_issue_comment(
            int(issue["number"]), f"Applied{where} on commit {context.sha[:12]}. Closing."
        )
        rest.update_issue(int(issue["number"]), state="closed", state_reason="completed")
    return None


def close_the_loop(
    rest: GitHubRest,
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    result: ApplyResult,
) -> None:
    """Tell the merged pull request, keep the failure issue, set the outputs. A GitHub failure
    here is a warning: what was applied is applied."""
    out.set_outputs(result_outputs(result))
    if result.digest:
        out.set_outputs({"change-digest": result.digest})
    if not inputs.comment:
        out.log("comment is false: no result comment and no failure issue")
        return
    body = out.check(compose_result(result, inputs.directory, context), what="apply result")
    try:
        url = post_result_comment(rest, context, inputs.directory, body)
        out.set_outputs({"comment-url": url})
        out.log(f"result comment: {url}" if url else "no merged pull request: no result comment")
        number = sync_failure_issue(rest, context, inputs.directory, result, body)
        out.set_outputs({"issue-number": "" if number is None else str(number)})
    except TitanGitopsError as exc:
        out.warning(f"could not report the apply result on GitHub: {exc}")
