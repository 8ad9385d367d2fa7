"""The pull request REST calls the adopt pull request needs (kept apart from rest.py, which holds
the rest of the Action's calls): list by head branch, open, update, and the default branch."""

from __future__ import annotations

from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubError, GitHubRest, JsonObject
from titan_gitops.github.steps import open_github


class PullRequests(GitHubRest):
    """GitHubRest with the pull request calls."""

    def list_open_pulls(self, head: str) -> list[JsonObject]:
        """The open pull requests whose head is `head` ("owner:branch")."""
        params = {"state": "open", "head": head}
        return self._get_all(f"/repos/{self._repo}/pulls", params)

    def create_pull(self, title: str, body: str, head: str, base: str) -> JsonObject:
        """Open a pull request of branch `head` into `base`."""
        payload = {"title": title, "body": body, "head": head, "base": base}
        return self._write("POST", f"/repos/{self._repo}/pulls", payload)

    def update_pull(
        self, number: int, *, body: str | None = None, state: str | None = None
    ) -> JsonObject:
        """Change a pull request's body and/or state."""
        patch: JsonObject = {}
        if body is not None:
            patch["body"] = body
        if state is not None:
            patch["state"] = state
        return self._write("PATCH", f"/repos/{self._repo}/pulls/{number}", patch)

    def default_branch(self) -> str:
        """The repository's default branch.

        Raises:
            GitHubError: the answer names none.
        """
        data = self._get_one(f"/repos/{self._repo}")
        name = data.get("default_branch")
        if not isinstance(name, str) or not name:
            raise GitHubError("GET repository: the answer names no default branch")
        return name

    @property
    def repository(self) -> str:
        return self._repo


def open_pulls(inputs: ActionInputs, context: GitHubContext, out: Outbox) -> PullRequests | None:
    """A pull request client, or None without a github-token.

    Raises:
        ConfigError: GITHUB_API_URL would send the token in clear text off this machine.
    """
    checked = open_github(inputs, context, out)  # the same URL rules as every other call
    if checked is None:
        return None
    checked.close()
    return PullRequests(context.api_url, inputs.github_token, context.repository, notify=out.log)


def head_filter(repository: str, branch: str) -> str:
    """The `head` query of a branch of this repository: "owner:branch"."""
    owner = repository.split("/", 1)[0]
    return f"{owner}:{branch}"
