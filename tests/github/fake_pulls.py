"""The pull request routes of the fake GitHub (list by state and `owner:branch` head, open,
update, close), for the adopt pull request of `on-drift`."""

from __future__ import annotations

import re
from typing import Any

BOT = {"login": "github-actions[bot]", "type": "Bot"}


class PullRoutes:
    """Mixed into FakeGitHub, which holds `pulls`, `repository` and `new_id`."""

    repository: str
    pulls: dict[int, dict[str, Any]]

    def new_id(self) -> int:
        raise NotImplementedError

    def add_pull(
        self, head: str, body: str, *, title: str = "", base: str = "main", **extra: Any
    ) -> dict[str, Any]:
        """An open pull request of branch `head` (by the bot unless `user` is given)."""
        number = self.new_id()
        repo = extra.pop("head_repo", self.repository)
        pull = {"number": number, "title": title, "body": body, "state": "open"}
        pull.update({"user": dict(extra.pop("user", BOT)), "base": {"ref": base}})
        pull["head"] = {"ref": head, "repo": {"full_name": repo}}
        self.pulls[number] = pull
        return pull

    def _pull_routes(
        self, method: str, rest: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any] | None:
        """GitHub's pull request list (by state and `owner:branch` head), create and update."""
        if rest == "/pulls" and method == "GET":
            state = query.get("state", "open")
            head = query.get("head", "")
            owner = self.repository.split("/")[0]
            found = [
                p
                for p in self.pulls.values()
                if (state == "all" or p["state"] == state)
                and (not head or f"{owner}:{p['head']['ref']}" == head)
            ]
            return 200, found
        if rest == "/pulls" and method == "POST":
            open_heads = [p["head"]["ref"] for p in self.pulls.values() if p["state"] == "open"]
            if body["head"] in open_heads:
                errors = [{"resource": "PullRequest", "code": "custom"}]
                return 422, {"message": "A pull request already exists", "errors": errors}
            pull = self.add_pull(body["head"], body["body"], title=body["title"], base=body["base"])
            return 201, pull
        if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and method == "PATCH":
            known = self.pulls.get(int(m.group(1)))
            if known is None:
                return 404, {"message": "Not Found"}
            known.update(body)
            return 200, known
        return None
