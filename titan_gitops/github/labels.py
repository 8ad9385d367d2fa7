"""Optional pull request labels from the plan: `titan-gitops:changes`, `:deletes`, `:breaking`.

With `labels: true`, `command: plan` on a pull request keeps these three labels in step with the
plans of every directory the pull request changed: `changes` when any plan changes a task,
`deletes` when any deletes one, `breaking` when any breaks an output_schema (the plan's breaking
count). A matrix plans each directory in its own job, so no job decides from its own plan alone:
the other directories' kinds are read from their sticky plan comments (the kinds marker in
`github/sticky.py`); this job's directory counts by the plan just made. A comment that records no
kinds (a failed plan) warrants no label; one from before the kinds marker warrants `changes` when
it lists any change. Then the missing labels are added (created in the repository first, with a
colour and description, when missing there) and the unwarranted ones removed; no other label is
ever touched.

Races between legs: each leg writes its comment, then reads every comment and sets the labels, so
the last writer recomputes from all of them. A leg that read the comments just before another
leg's comment changed could remove a label that comment warrants; so after setting the labels the
comments are read once more and, if what they warrant moved, the labels are set again. A token
that may not write labels (HTTP 403) is a warning, never a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubError, GitHubRest
from titan_gitops.github.steps import open_github
from titan_gitops.github.sticky import KINDS, ApprovalRecord, directory_records, normalise_directory
from titan_gitops.model import Action

if TYPE_CHECKING:
    from titan_gitops.model import Plan

PREFIX = "titan-gitops:"
# Each kind's label: colour (hex, no #) and description (GitHub allows 100 characters).
LABELS: dict[str, tuple[str, str]] = {
    "changes": ("1d76db", "titan-gitops: a plan of this pull request changes Titan tasks"),
    "deletes": ("d93f0b", "titan-gitops: a plan of this pull request deletes Titan tasks"),
    "breaking": ("b60205", "titan-gitops: a plan of this pull request breaks an output_schema"),
}


def label_name(kind: str) -> str:
    """The label of a kind of change."""
    return PREFIX + kind


def plan_kinds(plan: Plan) -> tuple[str, ...]:
    """The kinds of change `plan` holds, in label order."""
    present = {
        "changes": plan.has_changes,
        "deletes": any(c.action is Action.DELETE for c in plan.actionable),
        "breaking": any(c.breaking for c in plan.actionable),
    }
    return tuple(kind for kind in KINDS if present[kind])


def record_kinds(record: ApprovalRecord) -> frozenset[str]:
    """The kinds a sticky comment's record warrants (an older one: `changes` if it lists any)."""
    if record.kinds is not None:
        return record.kinds
    return frozenset({"changes"}) if record.items else frozenset()


def warranted(rest: GitHubRest, number: int, directory: str, own: frozenset[str]) -> set[str]:
    """The kinds every directory's plan on the pull request holds: `own` for `directory`, the
    sticky comments' kinds for the others."""
    mine = normalise_directory(directory)
    kinds = set(own)
    for record in directory_records(rest.list_issue_comments(number)):
        if normalise_directory(record.directory) != mine:
            kinds |= record_kinds(record)
    return kinds


def converge_labels(rest: GitHubRest, number: int, wanted: set[str], out: Outbox) -> None:
    """Add the missing labels of `wanted`, remove our others; leave every other label alone."""
    ours = {label_name(kind): kind for kind in KINDS}
    # GitHub's label names ignore case: a label spelt otherwise is the same label.
    present = {name.lower(): name for name in rest.list_issue_labels(number)}
    add = [label_name(k) for k in KINDS if k in wanted and label_name(k) not in present]
    remove = [present[n] for n in ours if n in present and ours[n] not in wanted]
    for name in add:
        color, description = LABELS[ours[name]]
        if rest.create_label(name, color, description):
            out.log(f"created the repository label {name}")
    if add:
        rest.add_issue_labels(number, add)
        out.log(f"added the pull request label{'s' * (len(add) != 1)} {', '.join(add)}")
    for name in remove:
        rest.remove_issue_label(number, name)
        out.log(f"removed the pull request label {name}")


def sync_plan_labels(inputs: ActionInputs, context: GitHubContext, out: Outbox, plan: Plan) -> None:
    """Keep the pull request's titan-gitops labels in step with every directory's plan."""
    if not inputs.labels:
        return
    if context.pull_number is None:
        out.log("labels: not a pull request, no labels set")
        return
    rest = open_github(inputs, context, out)
    if rest is None:
        out.warning("no github-token: the pull request labels were not set")
        return
    own = frozenset(plan_kinds(plan))
    number = context.pull_number
    try:
        with rest:
            wanted = warranted(rest, number, inputs.directory, own)
            converge_labels(rest, number, wanted, out)
            # Another leg may have changed its comment meanwhile: read once more, settle once.
            again = warranted(rest, number, inputs.directory, own)
            if again != wanted:
                converge_labels(rest, number, again, out)
    except GitHubError as exc:
        if not exc.read_only:
            raise
        out.warning(
            "could not set the pull request labels (HTTP 403: the token may not write labels; "
            "the job needs pull-requests: write and issues: write); the plan is unaffected"
        )
