"""Apply's record of what is applied where: a GitHub deployment per apply and directory.

Before anything is written to Titan, apply checks that the run is in order:

- `GITHUB_SHA` is the current head of the default branch: a re-run of an older push job (or one
  that waited while newer merges landed) must not put older definitions live; and
- the directory's last successful deployment is not of a commit that descends from
  `GITHUB_SHA` (GitHub's compare `{sha}...{last}` says "ahead"): that newer state stays.

Then it records a deployment of the commit to the directory's environment (the `environment`
input, by default `titan-gitops/<directory>`), with the change digest in its payload, and the
outcome as its statuses: in_progress, then success, failure (refused, or changes failed) or error
(the run broke). This record is the one source of "what is applied where".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from titan_gitops.errors import ConfigError
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubError, GitHubRest
from titan_gitops.github.sticky import normalise_directory

ENVIRONMENT_PREFIX = "titan-gitops/"
# How many of an environment's newest deployments are searched for the last successful one.
SEARCH_LIMIT = 100
_PERMISSIONS = (
    "give the apply job `permissions: deployments: write` (and contents: read) for the github-token"
)


def environment_name(inputs: ActionInputs) -> str:
    """The deployment environment of the Action's directory."""
    return inputs.environment or ENVIRONMENT_PREFIX + normalise_directory(inputs.directory)


def short(sha: str) -> str:
    """A commit as people read it."""
    return sha[:12]


@dataclass(frozen=True)
class LastDeployment:
    """The environment's newest deployment that reached success."""

    id: int
    sha: str
    digest: str


@dataclass(frozen=True)
class OrderCheck:
    """Whether this run may apply: `refusal` is empty when it may."""

    refusal: str = ""
    last: LastDeployment | None = None


def _digest(deployment: dict[str, Any]) -> str:
    payload = deployment.get("payload")
    value = payload.get("change_digest") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else ""


def last_successful_deployment(rest: GitHubRest, environment: str) -> LastDeployment | None:
    """The newest deployment to `environment` with a success status (later marked inactive by
    a newer success or not), among the newest SEARCH_LIMIT."""
    for deployment in rest.list_deployments(environment, limit=SEARCH_LIMIT):
        statuses = rest.list_deployment_statuses(int(deployment["id"]))
        if any(status.get("state") == "success" for status in statuses):
            sha = deployment.get("sha")
            return LastDeployment(
                int(deployment["id"]), sha if isinstance(sha, str) else "", _digest(deployment)
            )
    return None


def _permission_error(exc: GitHubError, what: str) -> ConfigError:
    return ConfigError(f"input github-token cannot {what} (HTTP 403): {_PERMISSIONS}; {exc}")


def check_order(rest: GitHubRest, context: GitHubContext, environment: str) -> OrderCheck:
    """Refuse an apply of a commit that is no longer the newest of the default branch.

    Raises:
        ConfigError: the github-token may not read the branch, the comparison or deployments.
    """
    sha, branch = context.sha, context.default_branch
    try:
        head = rest.get_branch_head(branch)
        if head != sha:
            return OrderCheck(
                f"commit {short(sha)} is no longer the head of {branch} ({short(head)} is): "
                "a newer commit was pushed and its own apply run applies it; applying this "
                "older one would undo it"
            )
        last = last_successful_deployment(rest, environment)
        if last is None or last.sha == sha:
            return OrderCheck(last=last)
        if rest.compare_status(sha, last.sha) == "ahead":
            return OrderCheck(
                f"the last successful deployment to {environment} is of commit "
                f"{short(last.sha)}, which descends from {short(sha)}: applying {short(sha)} "
                f"would undo it (was {branch} rewound? push a new commit that reverts instead)",
                last,
            )
        return OrderCheck(last=last)
    except GitHubError as exc:
        if exc.read_only:
            raise _permission_error(exc, "read the branch or the deployments") from None
        raise


class Deployment:
    """One recorded deployment; its statuses tell how the apply went."""

    def __init__(self, rest: GitHubRest, deployment_id: int, environment: str, log_url: str):
        self.rest = rest
        self.id = deployment_id
        self.environment = environment
        self.log_url = log_url
        self.state = ""

    def set_status(self, state: str, description: str, out: Outbox) -> None:
        """Add a status; at the end of a run a failure to record it is a warning, not a
        second error."""
        try:
            self.rest.create_deployment_status(self.id, state, description, self.log_url)
        except GitHubError as exc:
            if state == "in_progress":
                raise
            out.warning(f"could not record status {state} of deployment {self.id}: {exc}")
            return
        self.state = state
        out.log(f"deployment {self.id} to {self.environment}: {state} ({description})")


def start_deployment(
    rest: GitHubRest,
    context: GitHubContext,
    environment: str,
    directory: str,
    digest: str | None,
    out: Outbox,
) -> Deployment:
    """Record a deployment of GITHUB_SHA with the change digest, in progress.

    Raises:
        ConfigError: the github-token may not create deployments.
    """
    where = normalise_directory(directory)
    payload = {"tool": "titan-gitops", "directory": where, "change_digest": digest}
    try:
        created = rest.create_deployment(
            context.sha, environment, payload, f"titan-gitops apply of {where}"
        )
        deployment = Deployment(rest, int(created["id"]), environment, context.run_url)
        deployment.set_status("in_progress", "titan-gitops is applying", out)
    except GitHubError as exc:
        if exc.read_only:
            raise _permission_error(exc, "record the deployment") from None
        raise
    except (KeyError, TypeError, ValueError):
        raise GitHubError("POST deployments: the answer holds no deployment id") from None
    return deployment
