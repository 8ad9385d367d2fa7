"""The GitHub REST calls the Action makes: issue comments, issues, the pulls of a commit, the
branch head, commit comparison and deployments apply's order check and record need, and the
pull request labels plan keeps, and the reviews, changed files, CODEOWNERS and team memberships
the `approval` input checks.

All HTTP goes through `titan_gitops._http`. The base URL comes from `GITHUB_API_URL` (so GitHub
Enterprise Server works); pagination follows `Link: rel="next"` only on that same origin, so the
token never travels elsewhere. Reads are retried on 5xx and broken connections; writes are not.

GitHub's rate limits are waited out and the call retried, reads and writes alike (GitHub refused
the call, so nothing was done): a 429, or a 403 that carries `Retry-After`, or
`x-ratelimit-remaining: 0` with `x-ratelimit-reset`, or says "rate limit" (`github/ratelimit.py`
reads these, `Retry-After` as seconds or an HTTP date). Each wait is logged as one line through
`notify`. The waits are bounded: a few attempts per call and a cap on the seconds one client
waits in all; a wait longer than what is left fails at once, saying how long GitHub asked for.
Any other 403 (no such headers, "Resource not accessible by integration") is a token without the
permission: `GitHubError.read_only`.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from titan_gitops._http import HttpSession, Transport, TransportFailure
from titan_gitops.errors import TitanGitopsError
from titan_gitops.github.ratelimit import rate_limit_wait
from titan_gitops.secrets import SecretSet
from titan_gitops.settings import Secret

API_VERSION = "2022-11-28"
PAGE_SIZE = 100
_MAX_PAGES = 50  # 5,000 comments or issues: beyond that something is wrong, stop reading
_READ_RETRIES = 2
# Tries in all for one call that GitHub's rate limits hold back, and the seconds one client
# (one Action step) waits for them in all; beyond either the call fails as rate-limited.
RATE_LIMIT_ATTEMPTS = 4
RATE_LIMIT_WAIT = 180.0
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')

JsonObject = dict[str, Any]


class GitHubError(TitanGitopsError):
    """GitHub refused a call (`status` set) or could not be reached (`status` None)."""

    def __init__(
        self, message: str, *, status: int | None = None, rate_limited: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.rate_limited = rate_limited

    @property
    def read_only(self) -> bool:
        """True for a 403 that is not a rate limit: the token lacks the permission."""
        return self.status == 403 and not self.rate_limited


def _error_detail(data: Any) -> str:
    """GitHub's message of a refusal, with the codes of its `errors` (e.g. `already_exists`)."""
    text = data.get("message") if isinstance(data, dict) else None
    errors = data.get("errors") if isinstance(data, dict) else None
    codes = (
        [e.get("code") for e in errors if isinstance(e, dict)][:3]
        if isinstance(errors, list)
        else []
    )
    shown = ", ".join(c for c in codes if isinstance(c, str))
    text = text if isinstance(text, str) else ""
    return f"{text}: {shown}" if shown else text


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
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = RATE_LIMIT_WAIT,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        if not _REPOSITORY.match(repository):
            raise GitHubError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}")
        self._origin = api_url.rstrip("/")
        self._token = Secret(token)
        self._secrets = SecretSet.of([token])
        self._repo = repository
        self._sleep = sleep
        self._clock = clock
        self._wait_left = max_wait
        self._notify = notify
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

    def delete_issue_comment(self, comment_id: int) -> bool:
        """Delete a comment; False when it was already gone (404)."""
        return self._delete(f"/repos/{self._repo}/issues/comments/{comment_id}")

    def list_issue_labels(self, number: int) -> list[str]:
        """The names of the labels an issue or pull request carries."""
        items = self._get_all(f"/repos/{self._repo}/issues/{number}/labels")
        return [i["name"] for i in items if isinstance(i.get("name"), str)]

    def add_issue_labels(self, number: int, names: list[str]) -> None:
        """Add labels to an issue or pull request; the ones it carries stay."""
        path = f"/repos/{self._repo}/issues/{number}/labels"
        self._send("POST", self._origin + path, None, {"labels": names})

    def remove_issue_label(self, number: int, name: str) -> bool:
        """Take one label off an issue or pull request; False when it was not on it (404)."""
        quoted = urllib.parse.quote(name, safe="")
        return self._delete(f"/repos/{self._repo}/issues/{number}/labels/{quoted}")

    def create_label(self, name: str, color: str, description: str) -> bool:
        """Create a repository label; False when it exists already (422 `already_exists`)."""
        body = {"name": name, "color": color, "description": description[:100]}
        try:
            self._write("POST", f"/repos/{self._repo}/labels", body)
        except GitHubError as exc:
            if exc.status == 422 and "already_exists" in str(exc):
                return False
            raise
        return True

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

    def get_branch_head(self, branch: str) -> str:
        """The commit SHA a branch points at now."""
        data = self._get_one(f"/repos/{self._repo}/branches/{urllib.parse.quote(branch, safe='')}")
        commit = data.get("commit")
        sha = commit.get("sha") if isinstance(commit, dict) else None
        if not isinstance(sha, str) or not sha:
            raise GitHubError(f"GET branch {branch}: the answer holds no commit sha")
        return sha

    def compare_status(self, base: str, head: str) -> str:
        """How `head` relates to `base`: "ahead" (head descends from base), "behind",
        "identical" or "diverged"."""
        status = self._compare(base, head).get("status")
        if not isinstance(status, str):
            raise GitHubError(f"GET compare {base[:12]}...{head[:12]}: the answer has no status")
        return status

    def compare_commits(self, base: str, head: str) -> list[str]:
        """The SHAs of the commits reachable from `head` but not from `base`, oldest first (the
        first 250: GitHub's first page)."""
        commits = self._compare(base, head).get("commits")
        if not isinstance(commits, list):
            return []
        return [c["sha"] for c in commits if isinstance(c, dict) and isinstance(c.get("sha"), str)]

    def _compare(self, base: str, head: str) -> JsonObject:
        quoted = urllib.parse.quote(f"{base}...{head}", safe=".")
        return self._get_one(f"/repos/{self._repo}/compare/{quoted}")

    def list_deployments(self, environment: str, *, limit: int) -> list[JsonObject]:
        """The environment's deployments, newest first, at most `limit` of them."""
        path = f"/repos/{self._repo}/deployments"
        return self._get_all(path, {"environment": environment}, limit=limit)

    def list_deployment_statuses(self, deployment_id: int) -> list[JsonObject]:
        """A deployment's statuses, newest first (the first page: GitHub keeps a few per run)."""
        path = f"/repos/{self._repo}/deployments/{deployment_id}/statuses"
        return self._get_all(path, limit=PAGE_SIZE)

    def create_deployment(
        self, sha: str, environment: str, payload: JsonObject, description: str
    ) -> JsonObject:
        """Record a deployment of commit `sha` (no status checks asked, no merge attempted)."""
        body: JsonObject = {
            "ref": sha,
            "environment": environment,
            "payload": payload,
            "description": description[:140],
            "auto_merge": False,
            "required_contexts": [],
            "transient_environment": False,
        }
        return self._write("POST", f"/repos/{self._repo}/deployments", body)

    def create_deployment_status(
        self, deployment_id: int, state: str, description: str, log_url: str = ""
    ) -> JsonObject:
        """Add a status to a deployment; a success marks the environment's earlier ones
        inactive (GitHub's `auto_inactive`)."""
        body: JsonObject = {"state": state, "description": description[:140]}
        if log_url:
            body["log_url"] = log_url
        path = f"/repos/{self._repo}/deployments/{deployment_id}/statuses"
        return self._write("POST", path, body)

    def list_pull_reviews(self, number: int) -> list[JsonObject]:
        """A pull request's reviews, oldest first."""
        return self._get_all(f"/repos/{self._repo}/pulls/{number}/reviews")

    def list_pull_files(self, number: int) -> list[str]:
        """The paths a pull request changes, a renamed file's old path included."""
        paths: list[str] = []
        for item in self._get_all(f"/repos/{self._repo}/pulls/{number}/files"):
            for key in ("filename", "previous_filename"):
                if isinstance(item.get(key), str) and item[key]:
                    paths.append(item[key])
        return paths

    def get_file_text(self, path: str, ref: str) -> str | None:
        """A file's text at commit `ref` (the contents API), or None when it has no such file."""
        where = f"/repos/{self._repo}/contents/{urllib.parse.quote(path, safe='/')}"
        try:
            _, _, data = self._send("GET", self._origin + where, {"ref": ref}, None)
        except GitHubError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(data, dict) or data.get("type") != "file":
            return None  # a folder of that name
        if data.get("encoding") != "base64" or not isinstance(data.get("content"), str):
            raise GitHubError(f"GET {where}: the file is too large to read through the API")
        return base64.b64decode(data["content"]).decode("utf-8", errors="replace")

    def can_see_team(self, org: str, slug: str) -> bool:
        """True when the token can see team org/slug (False on 403 or 404)."""
        path = f"/orgs/{urllib.parse.quote(org, safe='')}/teams/{urllib.parse.quote(slug, safe='')}"
        try:
            self._get_one(path)
        except GitHubError as exc:
            if exc.status in (403, 404):
                return False
            raise
        return True

    def is_team_member(self, org: str, slug: str, login: str) -> bool:
        """True when `login` is an active member of team org/slug (GitHub answers 404 for
        someone who is not a member)."""
        quoted = [urllib.parse.quote(p, safe="") for p in (org, slug, login)]
        path = "/orgs/{}/teams/{}/memberships/{}".format(*quoted)
        try:
            data = self._get_one(path)
        except GitHubError as exc:
            if exc.status == 404:
                return False
            raise
        return data.get("state") == "active"

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
        attempt = 0
        limited = 0
        while True:
            try:
                response = self._session.send(
                    method, url, params=params, json_body=body, headers=self._headers()
                )
            except TransportFailure as exc:
                attempt += 1
                if attempt < attempts:
                    self._sleep(0.5 * attempt)
                    continue
                raise GitHubError(f"{where}: {self._secrets.mask(exc.reason)}") from None
            if response.status >= 500 and attempt + 1 < attempts:
                attempt += 1
                self._sleep(0.5 * attempt)
                continue
            try:
                data = json.loads(response.content) if response.content else None
            except ValueError:
                data = None
            if 200 <= response.status < 300:
                return response.status, response.headers, data
            detail = _error_detail(data)
            # GitHub may echo what it was sent: its words never carry the token out.
            detail = self._secrets.mask(detail)
            wait = rate_limit_wait(response.status, response.headers, detail, self._clock())
            suffix = f" ({detail})" if detail else ""
            failure = f"{where}: HTTP {response.status}{suffix}"
            if wait is None:
                raise GitHubError(failure, status=response.status)
            limited += 1
            self._wait_out(failure, response.status, wait, limited, where)

    def _wait_out(self, failure: str, status: int, wait: float, limited: int, where: str) -> None:
        """Sleep `wait` seconds for a rate limit, or raise when the bounds would be passed."""
        if limited >= RATE_LIMIT_ATTEMPTS:
            reason = f"still rate-limited after {limited} attempts"
        elif wait > self._wait_left:
            reason = (
                f"rate-limited: GitHub asks to wait {wait:.0f} s, more than the "
                f"{max(self._wait_left, 0):.0f} s this step has left to wait for rate limits"
            )
        else:
            self._wait_left -= wait
            if self._notify is not None:
                # `where` is the method and path only: no query, so nothing from a next link.
                self._notify(
                    f"GitHub rate limit: waiting {round(wait, 1):g} s before retrying {where}"
                )
            self._sleep(wait)
            return
        raise GitHubError(f"{failure}; {reason}", status=status, rate_limited=True)

    def _delete(self, path: str) -> bool:
        try:
            self._send("DELETE", self._origin + path, None, None)
        except GitHubError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _write(self, method: str, path: str, body: JsonObject) -> JsonObject:
        _, _, data = self._send(method, self._origin + path, None, body)
        if not isinstance(data, dict):
            raise GitHubError(f"{method} {path}: the answer is not a JSON object")
        return data

    def _get_one(self, path: str) -> JsonObject:
        _, _, data = self._send("GET", self._origin + path, None, None)
        if not isinstance(data, dict):
            raise GitHubError(f"GET {path}: the answer is not a JSON object")
        return data

    def _get_all(
        self, path: str, params: Mapping[str, str] | None = None, *, limit: int | None = None
    ) -> list[JsonObject]:
        """Every item of a list (at most `limit`: no page past it is read)."""
        query: dict[str, str] | None = {**(params or {}), "per_page": str(PAGE_SIZE)}
        url: str | None = self._origin + path
        items: list[JsonObject] = []
        for _ in range(_MAX_PAGES):
            if url is None or (limit is not None and len(items) >= limit):
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
        return items if limit is None else items[:limit]
