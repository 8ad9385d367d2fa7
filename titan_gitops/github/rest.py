"""The GitHub REST calls the Action makes: issue comments, issues, and the pulls of a commit.

All HTTP goes through `titan_gitops._http`. The base URL comes from `GITHUB_API_URL` (so GitHub
Enterprise Server works); pagination follows `Link: rel="next"` only on that same origin, so the
token never travels elsewhere. Reads are retried on 5xx and broken connections; writes are not.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from titan_gitops._http import HttpSession, Transport, TransportFailure
from titan_gitops.errors import TitanGitopsError
from titan_gitops.secrets import SecretSet
from titan_gitops.settings import Secret

API_VERSION = "2022-11-28"
PAGE_SIZE = 100
_MAX_PAGES = 50  # 5,000 comments or issues: beyond that something is wrong, stop reading
_READ_RETRIES = 2
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

JsonObject = dict[str, Any]


class GitHubError(TitanGitopsError):
    """GitHub refused a call (`status` set) or could not be reached (`status` None)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def find_next_link(link_header: str | None) -> str | None:
    """The `rel="next"` URL of a `Link` header, or None."""
    if not link_header:
        return None
    for part in link_header.split(","):
        match = _NEXT_LINK.search(part)
        if match:
            return match.group(1)
    return None


class GitHubRest:
    """A small GitHub REST client for one repository."""

    def __init__(
        self,
        api_url: str,
        token: str,
        repository: str,
        *,
        transport: Transport | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not _REPOSITORY.match(repository):
            raise GitHubError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}")
        self._origin = api_url.rstrip("/")
        self._token = Secret(token)
        self._secrets = SecretSet.of([token])
        self._repo = repository
        self._session = HttpSession(
            self._origin, transport=transport, timeout=timeout, user_agent="titan-gitops"
        )

    def __repr__(self) -> str:
        return f"GitHubRest(api_url={self._origin!r}, repository={self._repo!r})"

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> GitHubRest:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the calls ---------------------------------------------------------------------------

    def list_issue_comments(self, number: int) -> list[JsonObject]:
        """Every comment on an issue or pull request, oldest first."""
        return self._get_all(f"/repos/{self._repo}/issues/{number}/comments")

    def create_issue_comment(self, number: int, body: str) -> JsonObject:
        """Add a comment to an issue or pull request."""
        return self._write("POST", f"/repos/{self._repo}/issues/{number}/comments", {"body": body})

    def update_issue_comment(self, comment_id: int, body: str) -> JsonObject:
        """Replace the body of an existing comment."""
        return self._write(
            "PATCH", f"/repos/{self._repo}/issues/comments/{comment_id}", {"body": body}
        )

    def list_issues(self, state: str = "open") -> list[JsonObject]:
        """The repository's issues in `state` (pull requests left out)."""
        items = self._get_all(f"/repos/{self._repo}/issues", {"state": state})
        return [i for i in items if "pull_request" not in i]

    def create_issue(self, title: str, body: str) -> JsonObject:
        """Open an issue."""
        return self._write("POST", f"/repos/{self._repo}/issues", {"title": title, "body": body})

    def update_issue(
        self,
        number: int,
        *,
        body: str | None = None,
        state: str | None = None,
        state_reason: str | None = None,
    ) -> JsonObject:
        """Change an issue's body and/or state."""
        patch: JsonObject = {}
        if body is not None:
            patch["body"] = body
        if state is not None:
            patch["state"] = state
        if state_reason is not None:
            patch["state_reason"] = state_reason
        return self._write("PATCH", f"/repos/{self._repo}/issues/{number}", patch)

    def list_commit_pulls(self, sha: str) -> list[JsonObject]:
        """The pull requests associated with a commit (for a merge commit: the merged PR)."""
        quoted = urllib.parse.quote(sha, safe="")
        return self._get_all(f"/repos/{self._repo}/commits/{quoted}/pulls")

    # --- plumbing ----------------------------------------------------------------------------

    def _headers(self) -> Mapping[str, str]:
        return {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def _send(
        self, method: str, url: str, params: Mapping[str, str] | None, body: JsonObject | None
    ) -> tuple[int, Mapping[str, str], Any]:
        where = f"{method} {urllib.parse.urlsplit(url).path or url}"
        attempts = 1 + (_READ_RETRIES if method == "GET" else 0)
        for attempt in range(attempts):
            try:
                response = self._session.send(
                    method, url, params=params, json_body=body, headers=self._headers()
                )
            except TransportFailure as exc:
                if attempt + 1 < attempts:
                    time.sleep(0.5 * (attempt + 1))
                    continue
                raise GitHubError(f"{where}: {self._secrets.mask(exc.reason)}") from None
            if response.status >= 500 and attempt + 1 < attempts:
                time.sleep(0.5 * (attempt + 1))
                continue
            try:
                data = json.loads(response.content) if response.content else None
            except ValueError:
                data = None
            if not 200 <= response.status < 300:
                detail = data.get("message") if isinstance(data, dict) else None
                # GitHub may echo what it was sent: its words never carry the token out.
                detail = self._secrets.mask(detail) if isinstance(detail, str) else None
                suffix = f" ({detail})" if detail else ""
                raise GitHubError(
                    f"{where}: HTTP {response.status}{suffix}", status=response.status
                )
            return response.status, response.headers, data
        raise GitHubError(f"{where}: no response")  # unreachable: the loop returns or raises

    def _write(self, method: str, path: str, body: JsonObject) -> JsonObject:
        _, _, data = self._send(method, self._origin + path, None, body)
        if not isinstance(data, dict):
            raise GitHubError(f"{method} {path}: the answer is not a JSON object")
        return data

    def _get_all(self, path: str, params: Mapping[str, str] | None = None) -> list[JsonObject]:
        query: dict[str, str] | None = {**(params or {}), "per_page": str(PAGE_SIZE)}
        url: str | None = self._origin + path
        items: list[JsonObject] = []
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            _, headers, data = self._send("GET", url, query, None)
            if not isinstance(data, list):
                raise GitHubError(f"GET {path}: the answer is not a JSON list")
            items.extend(d for d in data if isinstance(d, dict))
            url = find_next_link(headers.get("link"))
            # The next link carries its own query (httpx would replace it with any params given);
            # and it must stay on GitHub's API origin.
            query = None
            if url is not None and not url.startswith(self._origin + "/"):
                raise GitHubError(f"GET {path}: the next page points outside {self._origin}")
        return items
