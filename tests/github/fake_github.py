"""A small fake of the GitHub REST endpoints the Action uses, served on loopback from a thread.

Comments and issues created through it are written by a bot account, as GITHUB_TOKEN's are.
Lists are paginated with a small page size and `Link: rel="next"`, so pagination is exercised.
Branches, a commit graph for compare, and deployments with their statuses (a success marks the
environment's earlier ones inactive, as GitHub does) back apply's order check and record.
Reviews, a pull request's files, file contents at a commit (base64, as GitHub sends them) and
team memberships back the `approval` input's checks. Pull requests (list by head, open, update,
close) and the repository's default branch back the adopt pull request of `on-drift`.
Rate limits are scripted with `Refusal`s (status, headers, message, how many times), and a
`threading.Barrier` can hold the first comment lists until concurrent runs have all asked.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .fake_pulls import BOT, PullRoutes

HUMAN = {"login": "octocat", "type": "User"}


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


@dataclass
class Refusal:
    """An answer given instead of the real one to the next `times` matching requests."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "API rate limit exceeded"
    method: str = ""  # empty: any method
    path: str = ""  # a regular expression searched in the path; empty: any path
    times: int = 1
    # When set, `Retry-After` is sent as an HTTP date this many seconds after the answer's Date.
    retry_in: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return (not self.method or self.method == method) and (
            not self.path or re.search(self.path, path) is not None
        )


def secondary_rate_limit(**kwargs: Any) -> Refusal:
    """GitHub's secondary rate limit answer: 403, `Retry-After`, its documented message."""
    return Refusal(
        403,
        {"Retry-After": "0"},
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        **kwargs,
    )


@dataclass
class FakeGitHub(PullRoutes):
    token: str
    repository: str = "acme/tasks"
    page_size: int = 2
    forbid_writes: bool = False
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    # Branch name -> head commit; commit -> its parents (for compare).
    branches: dict[str, str] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    # Newest last; statuses by deployment id, newest last.
    deployments: list[dict[str, Any]] = field(default_factory=list)
    deployment_statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    # Repository labels by name, and each issue's or pull request's label names, in order.
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    issue_labels: dict[int, list[str]] = field(default_factory=dict)
    # Reviews and changed paths by pull request number; file text by (commit, path); team
    # members by "org/slug" (a team in `hidden_teams` answers 404, as to a token without
    # read:org).
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pull_files: dict[int, list[str]] = field(default_factory=dict)
    contents: dict[tuple[str, str], str] = field(default_factory=dict)
    teams: dict[str, set[str]] = field(default_factory=dict)
    hidden_teams: set[str] = field(default_factory=set)
    # Pull requests by number (`head` a branch of this repository unless `head_repo` is given).
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    # When set, the first `gated` comment lists are each read, then wait for one another before
    # any answer is sent (a race, made certain).
    list_gate: threading.Barrier | None = None
    gated: int = 0
    base_url: str = ""
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def add_comment(self, number: int, body: str, user: dict[str, str] = BOT) -> dict[str, Any]:
        comment = {"id": self.new_id(), "body": body, "user": dict(user)}
        comment["html_url"] = (
            f"https://github.example/{self.repository}/pull/{number}#c{comment['id']}"
        )
        self.comments.setdefault(number, []).append(comment)
        return comment

    def add_review(self, number: int, login: str, state: str, commit: str) -> None:
        """A review of pull request `number` by `login` of commit `commit`, newest last."""
        review = {"id": self.new_id(), "user": {"login": login, "type": "User"}}
        review.update({"state": state, "commit_id": commit, "body": ""})
        self.reviews.setdefault(number, []).append(review)

    def _approval_routes(
        self, method: str, rest: str, query: dict[str, str]
    ) -> tuple[int, Any] | None:
        """(status, data) for the reviews, files and contents routes, or None."""
        if method != "GET":
            return None
        if m := re.fullmatch(r"/pulls/(\d+)/reviews", rest):
            return 200, list(self.reviews.get(int(m.group(1)), []))
        if m := re.fullmatch(r"/pulls/(\d+)/files", rest):
            files = self.pull_files.get(int(m.group(1)), [])
            return 200, [{"filename": f, "status": "modified"} for f in files]
        if m := re.fullmatch(r"/contents/(.+)", rest):
            path = urllib.parse.unquote(m.group(1))
            text = self.contents.get((query.get("ref", ""), path))
            if text is None:
                return 404, {"message": "Not Found"}
            encoded = base64.encodebytes(text.encode()).decode()  # lines of 76, as GitHub's
            return 200, {"type": "file", "path": path, "encoding": "base64", "content": encoded}
        return None

    def _org_routes(self, method: str, path: str) -> tuple[int, Any]:
        m = re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)(?:/memberships/([^/]+))?", path)
        if m is None or method != "GET":
            return 404, {"message": "Not Found"}
        team = f"{m.group(1)}/{m.group(2)}".lower()
        if team not in self.teams or team in self.hidden_teams:
            return 404, {"message": "Not Found"}
        if m.group(3) is None:
            return 200, {"slug": m.group(2), "organization": {"login": m.group(1)}}
        if m.group(3).lower() not in {u.lower() for u in self.teams[team]}:
            return 404, {"message": "Not Found"}
        return 200, {"state": "active", "role": "member"}

    def refusal_for(self, method: str, path: str) -> Refusal | None:
        for refusal in self.refusals:
            if refusal.times > 0 and refusal.matches(method, path):
                refusal.times -= 1
                return refusal
        return None

    def take_gate(self, method: str, path: str) -> threading.Barrier | None:
        with self._lock:
            if self.list_gate is None or self.gated <= 0 or method != "GET":
                return None
            if not re.search(r"/issues/\d+/comments$", path):
                return None
            self.gated -= 1
            return self.list_gate

    def push(self, sha: str, parent: str = "", branch: str = "main") -> None:
        """Commit `sha` (child of `parent`) becomes the head of `branch`."""
        self.branches[branch] = sha
        if parent:
            self.parents[sha] = [parent]

    def ancestors(self, sha: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.parents.get(sha, []))
        while todo:
            commit = todo.pop()
            if commit not in seen:
                seen.add(commit)
                todo.extend(self.parents.get(commit, []))
        return seen

    def ancestry(self, sha: str) -> list[str]:
        """`sha` and its first-parent ancestors, oldest first."""
        chain = [sha]
        while self.parents.get(chain[-1]):
            chain.append(self.parents[chain[-1]][0])
        return chain[::-1]

    def compare(self, base: str, head: str) -> str:
        if base == head:
            return "identical"
        if base in self.ancestors(head):
            return "ahead"
        if head in self.ancestors(base):
            return "behind"
        return "diverged"

    def states(self, deployment_id: int) -> list[str]:
        """A deployment's status states, oldest first."""
        return [s["state"] for s in self.deployment_statuses.get(deployment_id, [])]

    def add_deployment_status(self, deployment_id: int, body: dict[str, Any]) -> dict[str, Any]:
        status = {"id": self.new_id(), **body}
        if body.get("state") == "success" and body.get("auto_inactive", True):
            # GitHub: a success marks the environment's earlier successful deployments inactive.
            env = next(d for d in self.deployments if d["id"] == deployment_id)["environment"]
            for other in self.deployments:
                states = self.states(other["id"])
                mine = other["environment"] == env and other["id"] != deployment_id
                if mine and states[-1:] == ["success"]:
                    inactive = {"id": self.new_id(), "state": "inactive"}
                    self.deployment_statuses[other["id"]].append(inactive)
        self.deployment_statuses.setdefault(deployment_id, []).append(status)
        return status

    def _deployments(
        self, method: str, rest: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any] | None:
        if rest == "/deployments" and method == "GET":
            env = query.get("environment")
            found = [d for d in self.deployments if env is None or d["environment"] == env]
            return 200, list(reversed(found))
        if rest == "/deployments" and method == "POST":
            deployment = {
                "id": self.new_id(),
                "sha": body["ref"],
                "ref": body["ref"],
                "environment": body.get("environment", "production"),
                "payload": body.get("payload", {}),
                "description": body.get("description"),
                "creator": dict(BOT),
            }
            self.deployments.append(deployment)
            return 201, deployment
        m = re.fullmatch(r"/deployments/(\d+)/statuses", rest)
        if m is None or not any(d["id"] == int(m.group(1)) for d in self.deployments):
            return None
        number = int(m.group(1))
        if method == "GET":
            return 200, list(reversed(self.deployment_statuses.get(number, [])))
        if method == "POST":
            return 201, self.add_deployment_status(number, body)
        return None

    def _labels(self, method: str, rest: str, body: Any) -> tuple[int, Any] | None:
        """GitHub's label routes; names compare without case, as GitHub's do."""
        known = {name.lower() for name in self.labels}
        if rest == "/labels" and method == "POST":
            if body["name"].lower() in known:
                errors = [{"resource": "Label", "code": "already_exists", "field": "name"}]
                return 422, {"message": "Validation Failed", "errors": errors}
            self.labels[body["name"]] = dict(body)
            return 201, dict(body)
        m = re.fullmatch(r"/issues/(\d+)/labels(?:/([^/]+))?", rest)
        if m is None:
            return None
        on = self.issue_labels.setdefault(int(m.group(1)), [])
        if method == "GET" and m.group(2) is None:
            return 200, [{"name": name} for name in on]
        if method == "POST" and m.group(2) is None:
            for name in body["labels"]:
                if name.lower() not in known:  # GitHub creates it, grey, with no description
                    self.labels[name] = {"name": name, "color": "ededed", "description": None}
                if name.lower() not in {n.lower() for n in on}:
                    on.append(name)
            return 200, [{"name": name} for name in on]
        if method == "DELETE" and m.group(2) is not None:
            name = urllib.parse.unquote(m.group(2))
            found = [n for n in on if n.lower() == name.lower()]
            if not found:
                return 404, {"message": "Label does not exist"}
            on.remove(found[0])
            return 200, [{"name": n} for n in on]
        return None

    def posted_bodies(self) -> list[str]:
        return [json.dumps(r.body) for r in self.requests if r.body is not None]

    # --- routing ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        prefix = f"/repos/{self.repository}"
        if path.startswith("/orgs/"):
            return self._org_routes(method, path)
        if path == prefix and method == "GET":
            return 200, {"full_name": self.repository, "default_branch": "main"}
        if not path.startswith(prefix + "/"):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :]
        writing = method in ("POST", "PATCH", "DELETE")
        if writing and self.forbid_writes:
            return 403, {"message": "Resource not accessible by integration"}
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if method == "GET":
                return 200, list(self.comments.get(number, []))
            if method == "POST":
                return 201, self.add_comment(number, body["body"])
        if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == int(m.group(1)) and method == "PATCH":
                        comment["body"] = body["body"]
                        return 200, comment
                    if comment["id"] == int(m.group(1)) and method == "DELETE":
                        comments.remove(comment)
                        return 204, None
            return 404, {"message": "Not Found"}
        if rest == "/issues":
            if method == "GET":
                state = query.get("state", "open")
                return 200, [
                    i for i in self.issues.values() if state == "all" or i["state"] == state
                ]
            if method == "POST":
                number = self.new_id()
                issue = {
                    "number": number,
                    "title": body["title"],
                    "body": body["body"],
                    "state": "open",
                    "user": dict(BOT),
                }
                self.issues[number] = issue
                return 201, issue
        if (m := re.fullmatch(r"/issues/(\d+)", rest)) and method == "PATCH":
            found = self.issues.get(int(m.group(1)))
            if found is None:
                return 404, {"message": "Not Found"}
            found.update(body)
            return 200, found
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", rest)) and method == "GET":
            return 200, list(self.commit_pulls.get(m.group(1), []))
        if (m := re.fullmatch(r"/branches/([^/]+)", rest)) and method == "GET":
            head = self.branches.get(urllib.parse.unquote(m.group(1)))
            if head is None:
                return 404, {"message": "Branch not found"}
            return 200, {"name": urllib.parse.unquote(m.group(1)), "commit": {"sha": head}}
        if (m := re.fullmatch(r"/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", rest)) and method == "GET":
            base, head = m.group(1), m.group(2)
            ahead = self.ancestors(head) | {head}
            ahead -= self.ancestors(base) | {base}
            order = self.ancestry(head)
            commits = [{"sha": c} for c in order if c in ahead]
            return 200, {"status": self.compare(base, head), "commits": commits}
        if "/labels" in rest and (answer := self._labels(method, rest, body)):
            return answer
        if answer := self._approval_routes(method, rest, query):
            return answer
        if rest.startswith("/pulls") and (answer := self._pull_routes(method, rest, query, body)):
            return answer
        if rest.startswith("/deployments") and (
            answer := self._deployments(method, rest, query, body)
        ):
            return answer
        return 404, {"message": "Not Found"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    answered_at: float | None = None

    def date_time_string(self, timestamp: float | None = None) -> str:
        return super().date_time_string(self.answered_at if timestamp is None else timestamp)

    def _serve(self) -> None:
        fake = self.server.fake
        self.answered_at = None
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        extra: dict[str, str] = {}
        gate = fake.take_gate(self.command, parts.path)
        with fake._lock:
            fake.requests.append(Recorded(self.command, parts.path, body))
            refusal = fake.refusal_for(self.command, parts.path)
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                status, data = 401, {"message": "Bad credentials"}
            elif refusal is not None:
                status, data = refusal.status, {"message": refusal.message}
                extra.update(refusal.headers)
                if refusal.retry_in is not None:
                    # The Date header send_response adds reads the same clock reading.
                    self.answered_at = int(time.time())
                    extra["Retry-After"] = formatdate(
                        self.answered_at + refusal.retry_in, usegmt=True
                    )
            else:
                status, data = fake.handle(self.command, parts.path, query, body)
            if self.command == "GET" and isinstance(data, list):
                per_page = min(int(query.get("per_page", "30")), fake.page_size)
                page = int(query.get("page", "1"))
                start = (page - 1) * per_page
                if start + per_page < len(data):
                    nxt = {**query, "page": str(page + 1), "per_page": str(per_page)}
                    link = f"{fake.base_url}{parts.path}?{urllib.parse.urlencode(nxt)}"
                    extra["Link"] = f'<{link}>; rel="next"'
                data = data[start : start + per_page]
        if gate is not None:
            # Each gated listing is answered as it stood before any of them is sent, so every
            # racer has read the same comments before any can act on them.
            gate.wait(timeout=30)
        payload = b"" if status == 204 else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _serve
    do_POST = _serve
    do_PATCH = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeGitHub


def start_fake_github(fake: FakeGitHub) -> _Server:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server
