"""`on-drift: pull-request`: the drift command keeps live edits by proposing them in git.

With a base (the directory's last successful deployment), the live edits adopt can keep are
written into the definitions on the branch titan-gitops/adopt/<directory>, committed by the bot
and pushed to origin, and ONE pull request per directory ("Adopt live edits in teams/shop") is
opened or updated, its body the three-way drift report and what was adopted and left. When
nothing is left to adopt (reverted in Titan, or adopted and merged) the pull request is closed
with a comment and the branch deleted.

Idempotent: the same live state leaves the branch as it is; a new live edit adds one commit.
A branch holding a commit the bot did not make is never pushed to: it is left, and said so.
Only an open pull request whose head is that branch of this repository, opened by a bot and
carrying the marker, is ever edited or closed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops.commands.drift import drift_found
from titan_gitops.errors import ConfigError
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.adopt_git import AdoptGit, adopt_branch, auth_environment
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.pulls import PullRequests, head_filter, open_pulls
from titan_gitops.github.rest import GitHubError
from titan_gitops.github.sticky import (
    COMMENT_BUDGET,
    cap_comment,
    comment_room,
    is_bot_comment,
    normalise_directory,
    quote_directory,
)
from titan_gitops.render.markdown import utf8_size

if TYPE_CHECKING:
    from titan_gitops.adopt import AdoptReport
    from titan_gitops.model import Plan
    from titan_gitops.render.markdown import Mask
    from titan_gitops.render.sections import Link
    from titan_gitops.settings import Target

_PUSH_HINT = "the job needs permissions: contents: write"


def format_adopt_marker(directory: str) -> str:
    """The hidden marker that identifies the adopt pull request of `directory`."""
    return f"<!-- titan-gitops:adopt dir={quote_directory(directory)} -->"


def adopt_pull_title(directory: str) -> str:
    return f"Adopt live edits in {normalise_directory(directory)}"


def find_adopt_pull(
    pulls: Iterable[dict[str, Any]], *, branch: str, repository: str, directory: str
) -> dict[str, Any] | None:
    """The open pull request of `branch` in this repository, opened by a bot, with the marker."""
    marker = format_adopt_marker(directory)
    for pull in pulls:
        head = pull.get("head")
        head = head if isinstance(head, dict) else {}
        repo = head.get("repo")
        name = repo.get("full_name") if isinstance(repo, dict) else None
        body = pull.get("body")
        if (
            head.get("ref") == branch
            and name == repository
            and is_bot_comment(pull)
            and isinstance(body, str)
            and marker in body
        ):
            return pull
    return None


def commit_message(
    adoption: AdoptReport, directory: str, paths: Collection[str] | None = None
) -> str:
    """The commit's message: a subject, then each task adopted and its fields (only those
    whose file is in `paths`, the files the commit changes, when given)."""
    lines = [f"titan-gitops: adopt live edits in {normalise_directory(directory)}", ""]
    for item in adoption.adopted:
        if paths is not None and item.path not in paths:
            continue
        what = {"created": "created in Titan", "removed": "deleted in Titan"}.get(item.how)
        lines.append(f"- {item.name}: {what or ', '.join(item.fields)} ({item.path})")
    return "\n".join(lines) + "\n"


def adoption_markdown(adoption: AdoptReport) -> str:
    """What was adopted and what was left and why, as Markdown."""
    lines = ["### Adopted from Titan", ""]
    for item in adoption.adopted:
        name, path = escape_code(item.name), escape_code(item.path)
        if item.how == "created":
            lines.append(f"- <code>{name}</code>: created in Titan → new file <code>{path}</code>")
        elif item.how == "removed":
            lines.append(
                f"- <code>{name}</code>: deleted in Titan → removed from <code>{path}</code>"
            )
        else:
            fields = ", ".join(f"<code>{escape_code(f)}</code>" for f in item.fields)
            lines.append(f"- <code>{name}</code>: {fields} (<code>{path}</code>)")
        for key, origin in item.overrides:
            lines.append(
                f"  - <code>{escape_code(key)}</code> came from {escape_text(origin)}: written "
                "as an override in the task's own file"
            )
    if adoption.not_adopted:
        lines += ["", "### Left as they are", ""]
    for left in adoption.not_adopted:
        where = f" <code>{escape_code(left.field)}</code>" if left.field else ""
        lines.append(f"- <code>{escape_code(left.name)}</code>{where}: {escape_text(left.reason)}")
    return "\n".join(lines) + "\n"


def compose_adopt_pull(
    drift: Plan,
    adoption: AdoptReport,
    *,
    directory: str,
    run_url: str,
    mask: Mask,
    note: str = "",
    link: Link | None = None,
    checked_at: str | None = None,
) -> str:
    """The pull request body: marker, a note, what is adopted, the drift report; within budget."""
    from titan_gitops.render.markdown import MIN_CHARS, render_plan_markdown

    where = normalise_directory(directory)
    seen = f"[this workflow run]({run_url})" if run_url else "a scheduled drift check"
    footer = (
        f"Opened by {seen}. Merging keeps these edits in git; the next drift check of "
        f"<code>{escape_code(where)}</code> updates this pull request, and closes it when nothing "
        "is left to adopt."
    )
    head = format_adopt_marker(directory)
    if note:
        head += f"\n> **Note:** {escape_text(note)}\n"
    head += "\n" + mask(adoption_markdown(adoption))
    room = max(comment_room(head, footer), MIN_CHARS)
    report = render_plan_markdown(
        drift,
        title=f"titan-gitops drift: {where}",
        drift=True,
        max_chars=room,
        mask=mask,
        full_plan="the run's step summary",
        link=link,
        checked_at=checked_at,
    )
    capped = cap_comment(
        head + "\n" + mask(report).rstrip(),
        overflow_note="_The report was cut to fit; the full report is in the run's step summary._",
        limit=COMMENT_BUDGET - utf8_size(footer) - 3,
    )
    return f"{capped}\n\n{footer}\n"


@dataclass(frozen=True)
class BranchOutcome:
    """What was done to the adopt branch, for the log, the summary and the pull request."""

    verb: str  # created | updated | recreated | unchanged | human
    head: str = ""

    @property
    def note(self) -> str:
        if self.verb != "human":
            return ""
        return (
            "The adopt branch holds a commit not made by titan-gitops, so it was left as it is "
            "(never force-pushed), and the live edits this drift check found were not pushed. "
            "Merge or close the pull request, or delete the branch, and the next drift check "
            "starts it again."
        )


def update_branch(
    git: AdoptGit,
    branch: str,
    base: str,
    files: Mapping[str, str | None],
    message: Callable[[Collection[str]], str],
) -> BranchOutcome:
    """Put `files` on the adopt branch: created from `base`, one commit on top, recreated from
    `base` when it moved (the branch bot-only), or left alone (the same tree, or a human's
    commit on it). `message` words the commit from the paths it changes.

    Raises:
        ConfigError: git failed (a push refused: naming the permission it needs).
    """
    state = git.branch_state(branch, base)
    if state.head is not None and not state.bot_only:
        return BranchOutcome("human", state.head)
    parent = base
    verb = "created"
    if state.head is not None:
        on_base = state.based_on == base
        tree = git.tree_with(state.head if on_base else base, files)
        if on_base and tree == git.tree_of(state.head):
            return BranchOutcome("unchanged", state.head)
        parent, verb = (state.head, "updated") if on_base else (base, "recreated")
    else:
        tree = git.tree_with(base, files)
    sha = git.commit(tree, parent, message(git.changed_paths(parent, tree)))
    try:
        git.push(sha, branch, over=state.head)
    except ConfigError as exc:
        raise ConfigError(f"{exc} ({_PUSH_HINT})") from None
    return BranchOutcome(verb, sha)


def branch_files(adoption: AdoptReport, top: Path) -> dict[str, str | None]:
    """Each edited file by its path from the checkout's top: its new text, or None (removed)."""
    return {from_top(edit.path, top): edit.after or None for edit in adoption.edits}


def from_top(path: Path, top: Path) -> str:
    """A path (relative to the step's directory) from the checkout's top."""
    return path.resolve().relative_to(top.resolve()).as_posix()


@dataclass
class AdoptRun:
    """One drift run's adopt pull request: where, and the clients."""

    inputs: ActionInputs
    context: GitHubContext
    out: Outbox
    pulls: PullRequests
    git: AdoptGit
    branch: str

    @property
    def where(self) -> str:
        return normalise_directory(self.inputs.directory)

    def find_pull(self) -> dict[str, Any] | None:
        listed = self.pulls.list_open_pulls(head_filter(self.context.repository, self.branch))
        return find_adopt_pull(
            listed,
            branch=self.branch,
            repository=self.context.repository,
            directory=self.inputs.directory,
        )

    def close(self, pull: dict[str, Any] | None, base: str, why: str) -> str:
        """Close the pull request with a comment and delete the branch (only over the bot's own
        commits); what was done."""
        done: list[str] = []
        if pull is not None:
            number = int(pull["number"])
            where = f" ([run]({self.context.run_url}))" if self.context.run_url else ""
            self.pulls.create_issue_comment(number, f"{why}{where}. Closing.")
            self.pulls.update_pull(number, state="closed")
            done.append(f"closed adopt pull request #{number}")
        state = self.git.branch_state(self.branch, base)
        if state.head is not None and state.bot_only:
            self.git.delete(self.branch, state.head)
            done.append(f"deleted branch {self.branch}")
        elif state.head is not None:
            done.append(f"left branch {self.branch}: it holds a commit not made by titan-gitops")
        return "; ".join(done) or "no adopt pull request to close"

    def publish(self, pull: dict[str, Any] | None, body: str, outcome: BranchOutcome) -> str:
        """Open or update the pull request; what was done."""
        self.out.check(body, what="adopt pull request")
        if outcome.verb == "human":
            self.out.warning(outcome.note)
        if pull is None:
            if outcome.verb == "human":
                return f"no adopt pull request opened: branch {self.branch} {_HUMAN}"
            default = self.context.default_branch
            title = adopt_pull_title(self.inputs.directory)
            try:
                created = self.pulls.create_pull(title, body, self.branch, default)
            except GitHubError as exc:
                if exc.status != 422:
                    raise
                # GitHub allows one open pull request per head: someone else's holds it.
                return (
                    f"no adopt pull request opened: a pull request not opened by titan-gitops "
                    f"is open for branch {self.branch} ({exc})"
                )
            return f"opened adopt pull request #{created.get('number')} ({outcome.verb} branch)"
        number = int(pull["number"])
        self.pulls.update_pull(number, body=body)
        if outcome.verb == "unchanged":
            return f"adopt pull request #{number} already holds these edits: no new commit"
        if outcome.verb == "human":
            return f"adopt pull request #{number} left as it is: branch {self.branch} {_HUMAN}"
        return f"updated adopt pull request #{number} ({outcome.verb} branch {self.branch})"


_HUMAN = "holds a commit not made by titan-gitops, so it was not pushed to"


def say(out: Outbox, text: str) -> None:
    """One line in the log and one in the summary."""
    out.log(text)
    out.summary(f"\n_{html.escape(text)}._\n")


def run_adopt_pull(
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    environ: Mapping[str, str],
    *,
    report: Plan,
    target: Target,
) -> None:
    """Open, update or close the directory's adopt pull request after a drift report.

    Raises:
        ConfigError: a directory that cannot name a branch, or git failed.
        GitHubError: a call failed (a read-only token is a warning).
    """
    if report.threeway is None:
        say(
            out,
            "No adopt pull request: without a base this drift check is two-way, and a merge "
            "not yet applied would look like an edit made in Titan",
        )
        return
    branch = adopt_branch(inputs.directory)
    pulls = open_pulls(inputs, context, out)
    if pulls is None:
        say(out, "No adopt pull request: input github-token is empty")
        return
    with pulls:
        try:
            done = _sync(inputs, context, out, environ, pulls, branch, report, target)
        except GitHubError as exc:
            if not exc.read_only:
                raise
            done = (
                "could not update the adopt pull request (HTTP 403: the token lacks "
                "pull-requests: write)"
            )
            out.warning(done)
    say(out, done)


def _sync(
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    environ: Mapping[str, str],
    pulls: PullRequests,
    branch: str,
    report: Plan,
    target: Target,
) -> str:
    if not context.default_branch:
        from dataclasses import replace

        context = replace(context, default_branch=pulls.default_branch())
    if context.ref != f"refs/heads/{context.default_branch}":
        return (
            f"no adopt pull request: the checkout is {context.ref or 'unknown'}, not the default "
            f"branch {context.default_branch}"
        )
    git = AdoptGit(Path.cwd(), auth_environment(context.server_url, inputs.github_token))
    run = AdoptRun(inputs, context, out, pulls, git, branch)
    base = git.head()
    pull = run.find_pull()
    if not drift_found(report):
        return run.close(pull, base, "The live tasks match the definitions again: nothing to adopt")
    adoption = make_action_adoption(inputs, environ, report, target, out)
    if not adoption.edits:
        return run.close(pull, base, "Nothing made in Titan can be adopted any more")
    top = git.top()
    files = branch_files(adoption, top)

    def message(paths: Collection[str]) -> str:
        named = {a.path for a in adoption.adopted if from_top(Path(a.path), top) in paths}
        return commit_message(adoption, inputs.directory, named)

    outcome = update_branch(git, branch, base, files, message)
    from titan_gitops.github.steps import source_links

    body = compose_adopt_pull(
        report,
        adoption,
        directory=inputs.directory,
        run_url=context.run_url,
        mask=out.secrets.mask,
        note=outcome.note,
        link=source_links(context),
        checked_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return run.publish(pull, body, outcome)


def make_action_adoption(
    inputs: ActionInputs,
    environ: Mapping[str, str],
    report: Plan,
    target: Target,
    out: Outbox,
) -> AdoptReport:
    """What adopt would write for the Action's directory: live edits only (no conflicts, no
    deletions), since the drift report's base."""
    from titan_gitops.adopt import AdoptOptions
    from titan_gitops.connect import open_client
    from titan_gitops.model import PlanOptions
    from titan_gitops.pipeline import make_adoption

    assert report.threeway is not None
    options = PlanOptions(
        only=inputs.only,
        exclude=inputs.exclude,
        allow_deletes=2**31,
        allow_empty=True,
        action_inputs=True,
        base=report.threeway.base.sha,
    )
    with open_client(target, secrets=out.secrets) as client:
        return make_adoption(
            Path(inputs.directory),
            client,
            options,
            AdoptOptions(include_conflicts=False, include_deletes=False),
            environ=environ,
            secrets=out.secrets,
        )
