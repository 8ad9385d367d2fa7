"""The plan command on a pull request: log, summary, outputs, and the sticky comment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops import exit_codes
from titan_gitops.errors import TitanGitopsError, ValidationFailed
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.base import find_base, plan_with_base
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.deployments import environment_name
from titan_gitops.github.labels import plan_kinds, sync_plan_labels
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.previews import (
    preview_blocks,
    preview_notes_markdown,
    preview_pull_request,
)
from titan_gitops.github.rest import GitHubError, GitHubRest
from titan_gitops.github.steps import (
    SUMMARY_PLAN_CHARS,
    make_action_plan,
    open_github,
    publish_plan,
    report_invalid,
    resolve_action_target,
    run_validate,
    source_links,
)
from titan_gitops.github.sticky import (
    NO_DIGEST,
    change_items,
    comment_room,
    compose_plan_comment,
    ensure_comment_shows,
    find_sticky_comments,
    format_markers,
    normalise_directory,
)

if TYPE_CHECKING:
    from titan_gitops.model import Change, Plan
    from titan_gitops.render.markdown import Mask
    from titan_gitops.render.sections import Link


def run_plan(
    inputs: ActionInputs, context: GitHubContext, out: Outbox, environ: Mapping[str, str]
) -> int:
    """Plan on a pull request: log, summary, outputs and the sticky comment."""
    if context.is_fork and not inputs.token:
        return run_validate(
            inputs,
            context,
            out,
            environ,
            note=(
                "This pull request comes from a fork and GitHub gives fork runs no secrets, so "
                "there is no Titan token: only offline validation ran, no plan was made."
            ),
        )
    target = resolve_action_target(inputs, environ)
    from titan_gitops.connect import open_client
    from titan_gitops.defcache import open_cache
    from titan_gitops.render.markdown import render_plan_markdown

    cache = open_cache(environ)
    root = Path(inputs.directory)
    where = normalise_directory(inputs.directory)
    title = f"titan-gitops plan: {where}"
    base = find_base(inputs, context, out)
    try:
        with open_client(target, secrets=out.secrets) as client:
            plan = plan_with_base(
                lambda sha: make_action_plan(client, inputs, target, environ, sha, cache),
                base,
                out,
                environment_name(inputs),
            )
            # After the plan and apart from it: its change digest is already fixed.
            previews = preview_pull_request(plan, client, inputs, context, out)
    except ValidationFailed as exc:
        code = report_invalid(exc, out, root, f"{title}: invalid definitions")
        failure = (
            f"### {escape_text(title)}\n\n**❌ The definitions are invalid**: "
            f"{escape_text(str(exc))}. See the annotations and the step summary."
        )
        post_plan_comment(inputs, context, out, failure=failure)
        return code
    except TitanGitopsError as exc:
        reason = escape_text(out.secrets.mask(str(exc)))
        failure = f"### {escape_text(title)}\n\n**❌ The plan failed**: {reason}"
        try:
            post_plan_comment(inputs, context, out, failure=failure)
        except TitanGitopsError as comment_error:
            out.warning(f"could not update the plan comment: {comment_error}")
        raise
    publish_plan(plan, out, inputs, previews=previews)
    mask = out.secrets.mask
    extra = preview_blocks(previews, mask)
    summary = render_plan_markdown(
        plan,
        title=title,
        max_chars=SUMMARY_PLAN_CHARS,
        mask=mask,
        full_plan="the job log",
        link=source_links(context),
        extra=extra,
    )
    out.summary(mask(summary) + preview_notes_markdown(previews, mask))
    post_plan_comment(inputs, context, out, plan=plan, title=title, extra=extra)
    # After the comment: the labels are read back from every directory's comment, this one's too.
    sync_plan_labels(inputs, context, out, plan)
    return exit_codes.OK


def compose_reviewed_comment(
    plan: Plan,
    *,
    title: str,
    directory: str,
    sha: str,
    footer: str,
    overflow_note: str,
    mask: Mask,
    full_plan: str = "the step summary",
    link: Link | None = None,
    extra: Callable[[Change], list[str]] | None = None,
) -> str:
    """The sticky comment of `plan`: its marker, counts and Markdown all from this one plan.

    The Markdown is rendered to fit the room the markers and footer leave, so nothing is cut
    after it; a body that still lost the counts table or the delete warning is refused. `extra`
    adds blocks to a change's section (its preview); the marker never depends on them.

    Raises:
        IncompleteComment: the body would not show the counts its marker approves.
    """
    from titan_gitops.render.markdown import MIN_CHARS, must_show, render_plan_markdown

    items = change_items(plan)
    kinds = plan_kinds(plan)
    markers = format_markers(directory, plan.change_digest, sha=sha, items=items, kinds=kinds)
    room = max(comment_room(markers, footer), MIN_CHARS)
    markdown = mask(
        render_plan_markdown(
            plan,
            title=title,
            max_chars=room,
            mask=mask,
            full_plan=full_plan,
            link=link,
            extra=extra,
        )
    )
    body = compose_plan_comment(
        markdown,
        directory=directory,
        digest=plan.change_digest,
        sha=sha,
        items=items,
        kinds=kinds,
        footer=footer,
        overflow_note=overflow_note,
    )
    ensure_comment_shows(body, [mask(r) for r in must_show(plan)], what="pull request comment")
    return body


def _footer(digest: str, sha: str, run: str) -> str:
    commit = f"<code>{escape_code(sha[:12])}</code>"
    if digest == NO_DIGEST:
        return (
            f"<sub>No plan could be made on commit {commit}, so there is nothing to approve: "
            f"apply refuses to run for this pull request until a plan succeeds. "
            f"Details are in the step summary{run}.</sub>"
        )
    return (
        f"<sub>Planned on commit {commit}, change set <code>{escape_code(digest[:12])}</code>. "
        "Merging applies this change set and nothing more: if the plan on the merged commit "
        f"would do anything else, apply stops. The full plan is in the step summary{run}.</sub>"
    )


def post_plan_comment(
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    *,
    plan: Plan | None = None,
    title: str = "",
    failure: str = "",
    extra: Callable[[Change], list[str]] | None = None,
) -> None:
    """Create or edit the directory's sticky comment: `plan`'s, or `failure` with no approval.

    On a read-only token, say so and go on.
    """
    if not inputs.comment:
        out.log("comment is false: no pull request comment")
        return
    if context.pull_number is None:
        out.log("not a pull request: the plan is in the step summary only")
        return
    rest = open_github(inputs, context, out)
    if rest is None:
        out.warning("no github-token: the plan is in the step summary only")
        return
    sha = context.pull_head_sha or context.sha
    run = f" of [this run]({context.run_url})" if context.run_url else ""
    footer = _footer(plan.change_digest if plan else NO_DIGEST, sha, run)
    overflow_note = (
        "_The plan was cut to fit in a pull request comment (GitHub allows 65,536 "
        f"characters); the full plan is in the step summary{run}._"
    )
    if plan is None:
        body = compose_plan_comment(
            failure,
            directory=inputs.directory,
            digest=NO_DIGEST,
            sha=sha,
            footer=footer,
            overflow_note=overflow_note,
        )
    else:
        body = compose_reviewed_comment(
            plan,
            title=title,
            directory=inputs.directory,
            sha=sha,
            footer=footer,
            overflow_note=overflow_note,
            mask=out.secrets.mask,
            full_plan=f"the step summary{run}",
            link=source_links(context),
            extra=extra,
        )
    out.check(body, what="pull request comment")
    # comment-on-empty false: an empty plan posts no new comment, but an existing one is still
    # updated to say there are no changes, so no stale plan stays up for reviewers.
    create = plan is None or plan.has_changes or inputs.comment_on_empty
    with rest:
        send_comment(rest, context.pull_number, inputs.directory, body, out, create=create)


def send_comment(
    rest: GitHubRest,
    number: int,
    directory: str,
    body: str,
    out: Outbox,
    *,
    create: bool = True,
) -> None:
    """Edit the directory's sticky comment in place, or create it (only when `create`).

    Two runs at once can each create one: after creating, the comments are read again, and of
    the directory's sticky comments the oldest is kept (holding `body`) and the rest deleted. A
    token without the permission is a warning; a rate limit GitHub kept up is an error.
    """
    try:
        found = _sticky_ids(rest, number, directory)
        if not found and not create:
            out.log("comment-on-empty is false and the plan is empty: no pull request comment")
            return
        if found:
            rest.update_issue_comment(found[0], body)
            out.log(f"updated the plan comment {found[0]} in place")
        else:
            created = int(rest.create_issue_comment(number, body)["id"])
            out.log(f"created the plan comment {created}")
            found = _sticky_ids(rest, number, directory) or [created]
            if found[0] != created:
                rest.update_issue_comment(found[0], body)
                out.log(f"another run created plan comment {found[0]} first: updated it")
        for duplicate in found[1:]:
            if rest.delete_issue_comment(duplicate):
                out.log(f"deleted the duplicate plan comment {duplicate}")
    except GitHubError as exc:
        if not exc.read_only:
            raise
        message = (
            "could not post the plan comment (HTTP 403: the token is read-only, as on pull "
            "requests from forks); the plan is in the step summary only"
        )
        out.warning(message)
        out.summary(f"> **Note:** {escape_text(message)}.\n")


def _sticky_ids(rest: GitHubRest, number: int, directory: str) -> list[int]:
    """The ids of the directory's sticky comments, oldest first (GitHub's ids only grow)."""
    found = find_sticky_comments(rest.list_issue_comments(number), directory)
    return sorted(int(comment["id"]) for comment, _ in found)
