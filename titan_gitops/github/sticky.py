"""The sticky PR comment: one per definitions directory, found by a hidden marker, edited in place.

The marker records the plan's change-set digest (the approval record apply reads later) and, on a
second hidden line, the commit planned and a short digest of each change, so apply can accept a
merge that does fewer of the reviewed changes but never one that does more. Only comments written
by a bot account are trusted: a person cannot forge an approval by pasting a marker.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from titan_gitops.fingerprint import change_digest
from titan_gitops.model import Plan

COMMENT_LIMIT = 65_536
# Room under GitHub's hard limit for the markers, the footer and multi-byte surprises.
COMMENT_BUDGET = 64_000
NO_DIGEST = "none"
# Past this many changes the per-change list would crowd the comment; only the digest is kept.
MAX_ITEMS = 400
ITEM_DIGEST_LENGTH = 16
_PLAN_MARKER = re.compile(r"<!-- titan-gitops:plan dir=(\S+) digest=([0-9a-zA-Z]+) -->")
_CHANGES_MARKER = re.compile(r"<!-- titan-gitops:changes sha=(\S*) items=([0-9a-f,*]*) -->")


@dataclass(frozen=True)
class ApprovalRecord:
    """What the sticky comment says was reviewed for one directory."""

    directory: str
    digest: str
    sha: str = ""
    # None when the comment holds no per-change list (too many changes, or none recorded).
    items: frozenset[str] | None = None


def normalise_directory(directory: str) -> str:
    """The directory as a stable key: POSIX, no `./`, no trailing slash (`.` for the root)."""
    return str(PurePosixPath(directory.replace("\\", "/")))


def quote_directory(directory: str) -> str:
    """The directory as it appears in a marker: no spaces, no `>`, nothing that ends a comment."""
    return urllib.parse.quote(normalise_directory(directory), safe="/._~")


def change_items(plan: Plan) -> list[str]:
    """A short digest of each actionable change, in plan order."""
    return [change_digest([c])[:ITEM_DIGEST_LENGTH] for c in plan.actionable]


def format_markers(directory: str, digest: str, *, sha: str = "", items: Sequence[str] = ()) -> str:
    """The two hidden marker lines that open a plan comment."""
    listed = ",".join(items) if len(items) <= MAX_ITEMS else "*"
    where = quote_directory(directory)
    return (
        f"<!-- titan-gitops:plan dir={where} digest={digest or NO_DIGEST} -->\n"
        f"<!-- titan-gitops:changes sha={urllib.parse.quote(sha, safe='')} items={listed} -->"
    )


def parse_approval(body: str) -> ApprovalRecord | None:
    """The approval record in a comment body, or None when it holds no plan marker."""
    plan = _PLAN_MARKER.search(body)
    if plan is None:
        return None
    directory = urllib.parse.unquote(plan.group(1))
    items: frozenset[str] | None = None
    sha = ""
    changes = _CHANGES_MARKER.search(body)
    if changes is not None:
        sha = urllib.parse.unquote(changes.group(1))
        listed = changes.group(2)
        if listed != "*":
            items = frozenset(i for i in listed.split(",") if i)
    return ApprovalRecord(directory=directory, digest=plan.group(2), sha=sha, items=items)


def is_bot_comment(comment: dict[str, Any]) -> bool:
    """True when a bot account (GITHUB_TOKEN, a GitHub App) wrote the comment."""
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"


def find_sticky_comment(
    comments: Iterable[dict[str, Any]], directory: str
) -> tuple[dict[str, Any], ApprovalRecord] | None:
    """The first bot comment whose marker names `directory`, with its record."""
    wanted = normalise_directory(directory)
    for comment in comments:
        body = comment.get("body")
        if not isinstance(body, str) or not is_bot_comment(comment):
            continue
        record = parse_approval(body)
        if record is not None and normalise_directory(record.directory) == wanted:
            return comment, record
    return None


def cap_comment(body: str, *, overflow_note: str, limit: int = COMMENT_BUDGET) -> str:
    """Cut `body` at a line boundary so it stays under `limit`, ending with `overflow_note`.

    The hidden markers come first, so a cut never loses the approval record.
    """
    if len(body) <= limit:
        return body
    room = limit - len(overflow_note) - 2
    cut = body.rfind("\n", 0, room)
    head = body[: cut if cut > 0 else room]
    # A cut inside a fenced block or <details> would swallow the note; close them first.
    closing = ""
    fences = re.findall(r"^(`{3,})", head, flags=re.MULTILINE)
    if len(fences) % 2 == 1:
        closing += "\n" + fences[-1]
    opened = head.count("<details>") - head.count("</details>")
    closing += "\n</details>" * max(opened, 0)
    return head + closing + "\n\n" + overflow_note


def compose_plan_comment(
    markdown: str,
    *,
    directory: str,
    digest: str,
    sha: str = "",
    items: Sequence[str] = (),
    footer: str = "",
    overflow_note: str = "",
) -> str:
    """The full sticky comment: markers, the rendered plan, a footer; always under the limit."""
    body = format_markers(directory, digest, sha=sha, items=items) + "\n" + markdown.rstrip()
    tail = f"\n\n{footer}" if footer else ""
    note = overflow_note or "_The plan was cut to fit in a comment; see the step summary._"
    capped = cap_comment(body, overflow_note=note, limit=COMMENT_BUDGET - len(tail))
    return capped + tail + "\n"
