"""The plan command on a pull request: log, summary, outputs, and the sticky comment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from titan_gitops import exit_codes
from titan_gitops.errors import TitanGitopsError, ValidationFailed
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubError
from titan_gitops.github.steps import (
    SUMMARY_PLAN_CHARS,
    make_action_plan,
    open_github,
    publish_plan,
    report_invalid,
    resolve_action_target,
    run_validate,
)
from titan_gitops.github.sticky import (
    NO_DIGEST,
    change_items,
    compose_plan_comment,
    find_sticky_comment,
    normalise_directory,
)


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
    from titan_gitops.render.markdown import render_plan_markdown

    root = Path(inputs.directory)
    where = normalise_directory(inputs.directory)
    title = f"titan-gitops plan: {where}"
    try:
        with open_client(target, secrets=out.secrets) as client:
            plan = make_action_plan(client, inputs, target, environ)
    except ValidationFailed as exc:
        code = report_invalid(exc, out, root, f"{title}: invalid definitions")
        failure = (
            f"### {escape_text(title)}\n\n**❌ The definitions are invalid**: "
            f"{escape_text(str(exc))}. See the annotations and the step summary."
        )
        post_plan_comment(inputs, context, out, failure, digest=NO_DIGEST, items=())
        return code
    except TitanGitopsError as exc:
        reason = escape_text(out.secrets.mask(str(exc)))
        failure = f"### {escape_text(title)}\n\n**❌ The plan failed**: {reason}"
        try:
            post_plan_comment(inputs, context, out, failure, digest=NO_DIGEST, items=())
        except TitanGitopsError as comment_error:
            out.warning(f"could not update the plan comment: {comment_error}")
        raise
    publish_plan(plan, out, inputs)
    out.summary(
        out.secrets.mask(render_plan_markdown(plan, title=title, max_chars=SUMMARY_PLAN_CHARS))
    )
    post_plan_comment(
        inputs,
        context,
        out,
        out.secrets.mask(render_plan_markdown(plan, title=title)),
        digest=plan.change_digest,
        items=change_items(plan),
    )
    return exit_codes.OK


def post_plan_comment(
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    markdown: str,
    *,
    digest: str,
    items: list[str] | tuple[str, ...],
) -> None:
    """Create or edit the directory's sticky comment; on a read-only token, say so and go on."""
    if not inputs.comment:
        out.log("comment is false: no pull request comment")
        return
    if context.pull_number is None:
        out.log("not a pull request: the plan is in the step summary only")
        return
    rest = open_github(inputs, context)
    if rest is None:
        out.warning("no github-token: the plan is in the step summary only")
        return
    sha = context.pull_head_sha or context.sha
    run = f" of [this run]({context.run_url})" if context.run_url else ""
    commit = f"<code>{escape_code(sha[:12])}</code>"
    if digest == NO_DIGEST:
        footer = (
            f"<sub>No plan could be made on commit {commit}, so there is nothing to approve: "
            f"apply refuses to run for this pull request until a plan succeeds. "
            f"Details are in the step summary{run}.</sub>"
        )
    else:
        footer = (
            f"<sub>Planned on commit {commit}, change set <code>{escape_code(digest[:12])}</code>. "
            "Merging applies this change set and nothing more: if the plan on the merged commit "
            f"would do anything else, apply stops. The full plan is in the step summary{run}.</sub>"
        )
    body = compose_plan_comment(
        markdown,
        directory=inputs.directory,
        digest=digest,
        sha=sha,
        items=items,
        footer=footer,
        overflow_note=(
            "_The plan was cut to fit in a pull request comment (GitHub allows 65,536 "
            f"characters); the full plan is in the step summary{run}._"
        ),
    )
    out.check(body, what="pull request comment")
    with rest:
        try:
            comments = rest.list_issue_comments(context.pull_number)
            found = find_sticky_comment(comments, inputs.directory)
            if found is not None:
                rest.update_issue_comment(int(found[0]["id"]), body)
                out.log(f"updated the plan comment {found[0]['id']} in place")
            else:
                created = rest.create_issue_comment(context.pull_number, body)
                out.log(f"created the plan comment {created.get('id')}")
        except GitHubError as exc:
            if exc.status != 403:
                raise
            message = (
                "could not post the plan comment (HTTP 403: the token is read-only, as on pull "
                "requests from forks); the plan is in the step summary only"
            )
            out.warning(message)
            out.summary(f"> **Note:** {escape_text(message)}.\n")
