"""Three-way wording: who changed what since the base, in the sentences both renderers say. Pure.

The text and the Markdown renderer say the same things; they differ only in how an untrusted
piece (a field name, a value, an author, a commit subject, a time from the service) is made inert
where it lands. Every function here takes `Words`, the renderer's way of showing such a piece:
masked, cut to the limit given here, then escaped. Nothing here returns a raw untrusted string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from titan_gitops.model import Change, FieldChange, Plan, TaskAttribution, ThreeWay
from titan_gitops.model.threeway import BaseInfo, CommitInfo, FieldAttribution
from titan_gitops.pointers import join_pointer, pointers_overlap

# Said by a caller that was asked for a base and has none.
NO_BASE = "Base: none — two-way plan"
# The classes, most urgent first: the order a drift report reads in.
CLASS_ORDER = ("conflict", "live_edit", "pending", "converged")
TITLES = {
    "conflict": "Conflicts",
    "live_edit": "Live edits",
    "pending": "Pending (merged, not yet applied)",
    "converged": "Converged",
}
EXPLAIN = {
    "conflict": "changed in git and in Titan since the base, to different values",
    "live_edit": "changed in Titan since the base, not in git",
    "pending": "changed in git since the base; Titan still holds the base",
    "converged": "changed alike in git and in Titan since the base",
}
NEXT_APPLY = {
    "conflict": "sets git's values, losing the Titan edit",
    "live_edit": "reverts the Titan edit",
    "pending": "applies what was merged",
    "converged": "does nothing",
}
SYMBOLS = {"conflict": "!!", "live_edit": "!", "pending": "~", "converged": "="}
FIELD_WORDS = {
    "conflict": "conflict",
    "live_edit": "live edit",
    "pending": "pending",
    "converged": "converged",
}
SENSITIVE = "(sensitive)"
# Limits, in characters, of one untrusted piece.
AUTHOR_CHARS = 60
SUBJECT_CHARS = 100
# At most this many marker lines per change, then one saying how many more.
MAX_MARKERS = 10
_MINUTES = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:\d\d)?")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_LIVE_STORIES = ("created_in_titan", "removed_in_git_edited_in_titan")
_DELETED_LIVE = ("deleted_in_titan", "deleted_in_titan_changed_in_git")


@dataclass(frozen=True)
class Words:
    """How one renderer shows an untrusted piece: `code(text, limit)` for a name or a value
    (inline code in Markdown), `prose(text, limit)` for words (an author, a subject)."""

    code: Callable[[str, int], str]
    prose: Callable[[str, int], str]


def shorten(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and `…`."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def minutes(words: Words, stamp: str) -> str:
    """A time from the service to the minute (`2026-11-24T09:12Z`); shown escaped if unparsed."""
    found = _MINUTES.fullmatch(stamp.strip())
    if found is None:
        return words.prose(stamp, 40)
    zone = found.group(2) or ""
    return found.group(1) + ("Z" if zone in ("Z", "+00:00", "-00:00") else zone)


def _at(words: Words, stamp: str | None) -> str:
    return f" at {minutes(words, stamp)}" if stamp else ""


def base_line(words: Words, base: BaseInfo) -> str:
    """`Base: a1b2c3d (main~1)`: the revision the plan was attributed against."""
    short = base.sha[:7]
    rev = base.rev.strip()
    named = "" if not rev or base.sha.startswith(rev) else f" ({words.code(rev, 80)})"
    line = f"Base: {words.code(short, 7)}{named}"
    if not base.directory_existed:
        line += " — the directory did not exist then: every task in git is new"
    return line


def count_words(kind: str, count: int) -> str:
    """`1 conflict`, `2 live edits`, `3 pending (merged, not yet applied)`, `1 converged`."""
    if kind == "conflict":
        return plural(count, "conflict")
    if kind == "live_edit":
        return plural(count, "live edit")
    return f"{count:,} {TITLES[kind][0].lower()}{TITLES[kind][1:]}"


def reverting_count(count: int) -> str:
    """`1 reverting a live edit`, `2 reverting live edits` (a plan's verdict)."""
    return f"{count:,} reverting {'a live edit' if count == 1 else 'live edits'}"


def reverting(plan: Plan) -> list[tuple[Change, TaskAttribution]]:
    """The actionable changes that would throw away something done in Titan, in plan order."""
    if plan.threeway is None:
        return []
    tasks = {t.name: t for t in plan.threeway.reverting}
    return [(c, tasks[c.name]) for c in plan.actionable if c.name in tasks]


def reverting_warning(plan: Plan) -> str:
    """`2 changes would overwrite edits made in Titan since the last apply` ('' for none)."""
    count = len(reverting(plan))
    if not count:
        return ""
    return f"{plural(count, 'change')} would overwrite edits made in Titan since the last apply"


def reverting_names(words: Words, plan: Plan) -> str:
    """`(base a1b2c3d): shop-a, shop-b; apply refuses them unless overwrite is allowed`."""
    if plan.threeway is None:
        return ""
    short = words.code(plan.threeway.base.sha[:7], 7)
    names = _names(words, [c.name for c, _task in reverting(plan)])
    return f"(base {short}): {names}; {REFUSAL}"


REFUSAL = "apply refuses them unless overwrite is allowed"


def class_heading(kind: str) -> str:
    """`Live edits — changed in Titan since the base, not in git; the next apply reverts …`."""
    return f"{TITLES[kind]} — {EXPLAIN[kind]}; the next apply {NEXT_APPLY[kind]}"


def _names(words: Words, names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(words.code(n, 120) for n in names[:limit])
    return shown + (f" and {len(names) - limit:,} more" if len(names) > limit else "")


def _by(words: Words, commit: CommitInfo | None) -> str:
    if commit is None:
        return ""
    return f" ({words.code(commit.short, 7)}, {words.prose(commit.author, AUTHOR_CHARS)})"


def markers(words: Words, task: TaskAttribution) -> list[str]:
    """The `!` sentences of a change that undoes something done in Titan (none otherwise)."""
    if not task.reverts_live_edit:
        return []
    at = _at(words, task.live_updated_at)
    if task.story in _DELETED_LIVE:
        also = " (git changed it too since the base)" if task.attribution == "conflict" else ""
        return [f"recreates a task deleted in Titan{also}"]
    if task.story == "created_in_titan":
        return [f"deletes a task created in Titan{at}"]
    if task.story == "removed_in_git_edited_in_titan":
        names = _names(words, [f.field for f in task.fields])
        return [f"deletes a task edited in Titan{at} ({names})"]
    lines: list[str] = []
    for f in task.fields:
        name = words.code(f.field, 120)
        if f.attribution == "live_edit":
            lines.append(f"reverts a live edit: {name} was changed in Titan{at}")
        elif f.attribution == "conflict":
            lines.append(
                f"conflict: {name} was changed in git{_by(words, task.commit)} and in "
                f"Titan{at}; this apply keeps git's value"
            )
    if len(lines) > MAX_MARKERS:
        lines = [
            *lines[:MAX_MARKERS],
            f"and {len(lines) - MAX_MARKERS:,} more fields edited in Titan",
        ]
    return lines


def story_words(words: Words, task: TaskAttribution) -> str:
    """What happened to the task as a whole: `edited in Titan`, `added in git, not yet applied`."""
    kind = task.attribution
    if task.story == "changed" and task.previous_name:
        renamed = (
            f"renamed in git ({words.code(task.previous_name, 120)} → {words.code(task.name, 120)})"
        )
        tail = {
            "pending": ", not yet applied",
            "live_edit": " and edited in Titan",
            "conflict": " and changed in Titan too",
            "converged": ", alike in Titan",
        }
        return renamed + tail[kind]
    if task.story == "changed":
        return {
            "pending": "changed in git, not yet applied",
            "live_edit": "edited in Titan",
            "conflict": "changed in git and in Titan",
            "converged": "changed alike in git and in Titan",
        }[kind]
    if task.story == "added_in_both":
        return "created in git and in Titan" + (", alike" if kind == "converged" else "")
    return {
        "added_in_git": "added in git, not yet applied",
        "deleted_in_titan": "deleted in Titan",
        "deleted_in_titan_changed_in_git": "deleted in Titan, changed in git",
        "removed_in_git": "removed in git, not yet applied",
        "removed_in_git_edited_in_titan": "removed in git and edited in Titan",
        "created_in_titan": "created in Titan",
    }[task.story]


def is_sensitive(field: str, change: Change | None, task: TaskAttribution | None = None) -> bool:
    """True when a secret-holding pointer of `change` or `task` (in git or the base) is the
    field or lies inside it."""
    pointers = set(change.sensitive_pointers if change is not None else ())
    pointers |= task.sensitive_pointers if task is not None else frozenset()
    pointer = join_pointer([field])
    return any(pointers_overlap(pointer, p) for p in pointers)


@dataclass(frozen=True)
class Side:
    """What one side changed in one field since the base: a heading in words (escaped) and the
    changes down to the leaf, for render.fields to lay out as a plan does."""

    heading: str
    changes: tuple[FieldChange, ...]


# The heading of each side shown, by the field's class: (which side, what the other side did).
_SIDES = {
    "pending": (("git", "Titan as base"),),
    "live_edit": (("Titan", "git as base"),),
    "conflict": (("git", ""), ("Titan", "")),
    "converged": (("git and Titan alike", ""),),
}


def field_parts(
    words: Words, task: TaskAttribution, field: FieldAttribution, change: Change | None
) -> list[str | Side]:
    """One field not in sync: each side that moved since the base, with its changes down to the
    leaf; a sensitive field is named with no value."""
    name = words.code(field.field, 120)
    kind = FIELD_WORDS[field.attribution]
    if is_sensitive(field.field, change, task):
        return [f"{name}: {SENSITIVE} ({kind})"]
    parts: list[str | Side] = []
    for side, other in _SIDES[field.attribution]:
        if task.story.startswith("removed_in_git") and side == "Titan":
            other = "the task is removed in git"
        moved = field.live if side == "Titan" else field.git
        changes = field.live_changes if side == "Titan" else field.git_changes
        heading = f"{name} ({kind}): {side} since the base" + (f"; {other}" if other else "")
        parts.append(Side(heading, changes or _whole(field, moved)))
    return parts


def _whole(field: FieldAttribution, moved: Any) -> tuple[FieldChange, ...]:
    """The field's change as one, when the leaves were not worked out."""
    return (FieldChange(join_pointer([field.field]), field.base, moved),)


def who_lines(words: Words, task: TaskAttribution) -> list[str]:
    """When Titan was changed, and the commit that changed the definition in git, where known."""
    lines: list[str] = []
    kinds = {f.attribution for f in task.fields} | {task.attribution}
    if task.live_updated_at and (kinds - {"pending"} or task.story in _LIVE_STORIES):
        lines.append(f"changed in Titan{_at(words, task.live_updated_at)}")
    if task.commit is not None and (kinds - {"live_edit"}):
        lines.append(git_line(words, task.commit))
    return lines


def git_line(words: Words, commit: CommitInfo) -> str:
    """`git: a1b2c3d by Ada, 2026-11-20 "raise the limit"`."""
    day = commit.date[:10]
    when = day if _DATE.fullmatch(day) else words.prose(commit.date, 30)
    subject = f' "{words.prose(commit.subject, SUBJECT_CHARS)}"' if commit.subject else ""
    author = words.prose(commit.author, AUTHOR_CHARS)
    return f"git: {words.code(commit.short, 7)} by {author}, {when}{subject}"


_STORY_NEXT = {
    "added_in_git": "the next apply creates it",
    "deleted_in_titan": "the next apply creates it again from git",
    "deleted_in_titan_changed_in_git": "the next apply creates it again, with git's changes",
    "removed_in_git": "the next apply deletes it",
    "removed_in_git_edited_in_titan": "the next apply deletes it, the Titan edits with it",
    "created_in_titan": "the next apply deletes it",
}


def task_parts(words: Words, task: TaskAttribution, change: Change | None) -> list[str | Side]:
    """What goes under a task's heading in a drift report: its fields side by side, who and when,
    and what the next apply does to a task created or deleted on one side."""
    parts: list[str | Side] = [p for f in task.fields for p in field_parts(words, task, f, change)]
    parts.extend(who_lines(words, task))
    if task.story in _STORY_NEXT:
        parts.append(_STORY_NEXT[task.story])
    return parts


def by_class(threeway: ThreeWay) -> list[tuple[str, list[TaskAttribution]]]:
    """The attributed tasks grouped by class, most urgent first; empty classes left out."""
    grouped = [(k, [t for t in threeway.tasks if t.attribution == k]) for k in CLASS_ORDER]
    return [(k, tasks) for k, tasks in grouped if tasks]


def unattributed(plan: Plan) -> list[Change]:
    """Actionable changes of a plan with a base that no attributed task explains."""
    if plan.threeway is None:
        return []
    names = {t.name for t in plan.threeway.tasks}
    return [c for c in plan.actionable if c.name not in names]


def drift_counts(plan: Plan, separator: str = ", ") -> str:
    """`1 conflict, 2 live edits, 3 pending (merged, not yet applied), 1 converged` ('' when
    nothing is reported); a report of pending changes only says nothing changed outside git."""
    if plan.threeway is None:
        return ""
    counted = plan.threeway.counts()
    parts = [count_words(k, counted[k]) for k in CLASS_ORDER if counted[k]]
    other = len(unattributed(plan))
    if other:
        parts.append(plural(other, "other difference"))
    text = separator.join(parts)
    if parts and counted["pending"] and len(parts) == 1:
        text += " — nothing changed outside git"
    return text
