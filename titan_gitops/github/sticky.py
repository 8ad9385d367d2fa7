"""The sticky PR comment: one per definitions directory, found by a hidden marker, edited in place.

The marker records the plan's change-set digest (the approval record apply reads later) and, on a
second hidden line, the commit planned and a short digest of each change, so apply can accept a
merge that does fewer of the reviewed changes but never one that does more. A third hidden line
(added later, so older comments lack it) records the kinds of change the plan holds (`changes`,
`deletes`, `breaking`) for the pull request labels; a failed plan's comment records none. Only
comments written by a bot account are trusted: a person cannot forge an approval by pasting a
marker. Sizes are UTF-8 bytes: never fewer than the characters GitHub counts, so a byte cap
holds in either unit.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from titan_gitops.errors import TitanGitopsError
from titan_gitops.fingerprint import change_digest
from titan_gitops.model import Plan
from titan_gitops.render.markdown import cut_markdown, utf8_size

# GitHub's limit on a comment or issue body, in characters.
COMMENT_LIMIT = 65_536
# What we post at most, in UTF-8 bytes (markers and footer included): under the limit in any unit.
COMMENT_BUDGET = 64_000
NO_DIGEST = "none"
# Past this many changes the per-change list would crowd the comment; only the digest is kept.
MAX_ITEMS = 400
ITEM_DIGEST_LENGTH = 16
_PLAN_MARKER = re.compile(r"<!-- titan-gitops:plan dir=(\S+) digest=([0-9a-zA-Z]+) -->")
_CHANGES_MARKER = re.compile(r"<!-- titan-gitops:changes sha=(\S*) items=([0-9a-f,*]*) -->")
_KINDS_MARKER = re.compile(r"<!-- titan-gitops:labels kinds=([a-z,]*) -->")
# The kinds of change a plan comment records, in label order.
KINDS = ("changes", "deletes", "breaking")


class IncompleteComment(TitanGitopsError):
    """A body would not show what it must (the counts its marker approves); it was not posted."""


@dataclass(frozen=True)
class ApprovalRecord:
    """What the sticky comment says was reviewed for one directory."""

    directory: str
    digest: str
    sha: str = ""
    # None when the comment holds no per-change list (too many changes, or none recorded).
    items: frozenset[str] | None = None
    # The kinds of change the plan holds; None when the comment records none (an older one).
    kinds: frozenset[str] | None = None


def normalise_directory(directory: str) -> str:
    """The directory as a stable key: POSIX, no `./`, no trailing slash (`.` for the root)."""
    return str(PurePosixPath(directory.replace("\\", "/")))


def quote_directory(directory: str) -> str:
    """The directory as it appears in a marker: no spaces, no `>`, nothing that ends a comment."""
    return urllib.parse.quote(normalise_directory(directory), safe="/._~")


def change_items(plan: Plan) -> list[str]:
    """A short digest of each actionable change, in plan order."""
    return [change_digest([c])[:ITEM_DIGEST_LENGTH] for c in plan.actionable]


def format_markers(
    directory: str,
    digest: str,
    *,
    sha: str = "",
    items: Sequence[str] = (),
    kinds: Iterable[str] | None = None,
) -> str:
    """The hidden marker lines that open a plan comment (the kinds line only when `kinds` is
    given, so a failed plan records none)."""
    listed = ",".join(items) if len(items) <= MAX_ITEMS else "*"
    where = quote_directory(directory)
    markers = (
        f"<!-- titan-gitops:plan dir={where} digest={digest or NO_DIGEST} -->\n"
        f"<!-- titan-gitops:changes sha={urllib.parse.quote(sha, safe='')} items={listed} -->"
    )
    if kinds is not None:
        present = set(kinds)
        markers += (
            f"\n<!-- titan-gitops:labels kinds={','.join(k for k in KINDS if k in present)} -->"
        )
    return markers


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
    kinds_marker = _KINDS_MARKER.search(body)
    kinds = None
    if kinds_marker is not None:
        kinds = frozenset(k for k in kinds_marker.group(1).split(",") if k in KINDS)
    return ApprovalRecord(
        directory=directory, digest=plan.group(2), sha=sha, items=items, kinds=kinds
    )


def is_bot_comment(comment: dict[str, Any]) -> bool:
    """True when a bot account (GITHUB_TOKEN, a GitHub App) wrote the comment."""
    user = comment.get("user")
    return isinstance(user, dict) and user.get("type") == "Bot"


def find_sticky_comments(
    comments: Iterable[dict[str, Any]], directory: str
) -> list[tuple[dict[str, Any], ApprovalRecord]]:
    """Every bot comment whose marker names `directory`, with its record, in the given order.

    More than one means two runs raced to create it; the first (oldest) is the one to keep.
    """
    wanted = normalise_directory(directory)
    found: list[tuple[dict[str, Any], ApprovalRecord]] = []
    for comment in comments:
        body = comment.get("body")
        if not isinstance(body, str) or not is_bot_comment(comment):
            continue
        record = parse_approval(body)
        if record is not None and normalise_directory(record.directory) == wanted:
            found.append((comment, record))
    return found


def find_sticky_comment(
    comments: Iterable[dict[str, Any]], directory: str
) -> tuple[dict[str, Any], ApprovalRecord] | None:
    """The first (oldest) bot comment whose marker names `directory`, with its record."""
    found = find_sticky_comments(comments, directory)
    return found[0] if found else None


def directory_records(comments: Iterable[dict[str, Any]]) -> list[ApprovalRecord]:
    """The record of every directory's sticky comment (its oldest bot comment), by directory."""
    records: dict[str, ApprovalRecord] = {}
    for comment in comments:
        body = comment.get("body")
        if not isinstance(body, str) or not is_bot_comment(comment):
            continue
        record = parse_approval(body)
        if record is not None:
            records.setdefault(normalise_directory(record.directory), record)
    return [records[key] for key in sorted(records)]


def cap_comment(body: str, *, overflow_note: str, limit: int = COMMENT_BUDGET) -> str:
    """Cut `body` so it stays within `limit` UTF-8 bytes, ending with `overflow_note`.

    The hidden markers come first, so a cut never loses the approval record; a cut inside a
    fenced block or <details> closes them first, so the note is not swallowed.
    """
    return cut_markdown(body, limit=limit, note=overflow_note)


def comment_room(*parts: str, limit: int = COMMENT_BUDGET) -> int:
    """The UTF-8 bytes left for the Markdown of a body that also holds `parts` (markers, footer)."""
    return limit - sum(utf8_size(p) + 2 for p in parts) - 1


def ensure_comment_shows(body: str, required: Sequence[str], *, what: str) -> None:
    """Refuse a body that lost any of `required` (the counts table, the delete warning).

    Raises:
        IncompleteComment: naming what was missing; nothing is posted.
    """
    missing = [r for r in required if r not in body]
    if missing:
        raise IncompleteComment(
            f"refusing to post the {what}: it would not show {missing[0]!r} within GitHub's "
            f"size limit, so the changes it records would not be visible; nothing was posted"
        )


def compose_plan_comment(
    markdown: str,
    *,
    directory: str,
    digest: str,
    sha: str = "",
    items: Sequence[str] = (),
    kinds: Iterable[str] | None = None,
    footer: str = "",
    overflow_note: str = "",
) -> str:
    """The full sticky comment: markers, the rendered plan, a footer; always within the budget."""
    markers = format_markers(directory, digest, sha=sha, items=items, kinds=kinds)
    body = markers + "\n" + markdown.rstrip()
    tail = f"\n\n{footer}" if footer else ""
    note = overflow_note or "_The plan was cut to fit in a comment; see the step summary._"
    capped = cap_comment(body, overflow_note=note, limit=COMMENT_BUDGET - utf8_size(tail) - 1)
    return capped + tail + "\n"
