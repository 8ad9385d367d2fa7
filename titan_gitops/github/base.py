"""The base of the Action's three-way plans: the commit of the directory's last successful
deployment (the environment apply records to), read straight from git.

plan (pull request), drift, approve and apply each find it themselves. When the checkout is
shallow and lacks that commit, it is fetched from origin once. When there is no successful
deployment yet, or the commit cannot be had, the run is two-way, and says so once: one line in
the log and one in the step summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops.errors import BaseUnavailable
from titan_gitops.escape import escape_text
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.deployments import (
    LastDeployment,
    environment_name,
    last_successful_deployment,
    short,
)
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubError, GitHubRest
from titan_gitops.github.steps import open_github
from titan_gitops.github.sticky import normalise_directory

if TYPE_CHECKING:
    from titan_gitops.model import Plan

# What a run without a base cannot do, after the reason.
_TWO_WAY = "so this plan cannot tell live edits from merges not yet applied"


@dataclass(frozen=True)
class ActionBase:
    """The base commit, or None with the reason the run is two-way."""

    sha: str | None
    note: str = ""


def no_base(reason: str) -> ActionBase:
    """A two-way run, with why."""
    return ActionBase(None, f"No base: {reason}, {_TWO_WAY}.")


def base_of_deployment(
    inputs: ActionInputs, last: LastDeployment | None, environment: str
) -> ActionBase:
    """The base a known last successful deployment gives: its commit, fetched if the checkout
    is shallow and lacks it."""
    where = normalise_directory(inputs.directory)
    if last is None or not last.sha:
        return no_base(f"no successful deployment of {where} yet (environment {environment})")
    try:
        from titan_gitops.gitbase import fetch_commit

        fetch_commit(Path(inputs.directory), last.sha)
    except BaseUnavailable as exc:
        return no_base(
            f"commit {short(last.sha)} of the last successful deployment of {where} cannot be "
            f"read ({exc})"
        )
    return ActionBase(last.sha)


def find_base(inputs: ActionInputs, context: GitHubContext, out: Outbox) -> ActionBase:
    """The base of a plan or drift run, from the deployment record; two-way when the token may
    not read it.

    Raises:
        GitHubError: GitHub rate-limited or failed the call.
    """
    environment = environment_name(inputs)
    rest = open_github(inputs, context, out)
    if rest is None:
        return no_base("input github-token is empty, so the deployment record cannot be read")
    with rest:
        return find_base_with(rest, inputs, environment)


def find_base_with(rest: GitHubRest, inputs: ActionInputs, environment: str) -> ActionBase:
    """As `find_base`, with a GitHub client at hand.

    Raises:
        GitHubError: GitHub rate-limited or failed the call.
    """
    try:
        last = last_successful_deployment(rest, environment)
    except GitHubError as exc:
        # A token without the permission: two-way. A rate limit or an outage fails the run, as
        # for any other call.
        if not (exc.read_only or exc.status == 404):
            raise
        return no_base(
            f"the deployments of {environment} cannot be read (give the job permissions: "
            f"deployments: read): {exc}"
        )
    return base_of_deployment(inputs, last, environment)


def announce_base(base: ActionBase, out: Outbox, environment: str) -> None:
    """Say once which base the run uses, or that it has none."""
    if base.sha is None:
        out.log(base.note)
        out.summary(f"> **Note:** {escape_text(base.note)}\n")
        return
    out.log(
        f"Base: commit {short(base.sha)}, the last successful deployment to {environment}: "
        "live edits are told apart from merges not yet applied."
    )


def fall_back(base: ActionBase, exc: BaseUnavailable) -> ActionBase:
    """The two-way base when the definitions at the base commit cannot be read after all."""
    sha = short(base.sha or "")
    return no_base(f"the definitions at commit {sha} cannot be read ({exc})")


def plan_with_base(
    make: Callable[[str | None], Plan], base: ActionBase, out: Outbox, environment: str
) -> Plan:
    """`make(base sha)`, two-way when the definitions at the base cannot be read (read before
    the live tasks, so that costs no request); the base, or its absence, said once."""
    try:
        plan = make(base.sha)
    except BaseUnavailable as exc:
        if base.sha is None:
            raise
        base = fall_back(base, exc)
        plan = make(None)
    announce_base(base, out, environment)
    return plan
