"""Three-way attribution's value types: who moved each field since the last applied commit.

The base is the definitions as they were at the last applied commit; git is the definitions now;
live is what the service holds. Comparing each with the base says who changed a field: git only
(pending: merged, not yet applied), the service only (a live edit), both to different values (a
conflict) or both to the same value (converged). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from titan_gitops.model.plan import FieldChange

# The class of one field (or of a task, the most urgent of its fields), least urgent first.
Attribution = Literal["converged", "pending", "live_edit", "conflict"]
URGENCY: dict[str, int] = {"converged": 0, "pending": 1, "live_edit": 2, "conflict": 3}

# What happened to a task as a whole, since the base.
Story = Literal[
    "changed",  # in the base, in git and live: see its fields
    "added_in_git",  # in git only: not yet applied
    "added_in_both",  # in git and live, not in the base: created on both sides
    "deleted_in_titan",  # in the base and in git, gone live
    "deleted_in_titan_changed_in_git",  # as above, and git changed it since the base
    "removed_in_git",  # in the base and live, gone from git, live as the base: not yet applied
    "removed_in_git_edited_in_titan",  # as above, but live was edited since the base
    "created_in_titan",  # live only (in the plan's scope): not in the base, not in git
]

# The attribution each story gives a task that has no field list of its own.
STORY_ATTRIBUTION: dict[str, Attribution] = {
    "added_in_git": "pending",
    "deleted_in_titan": "live_edit",
    "deleted_in_titan_changed_in_git": "conflict",
    "removed_in_git": "pending",
    "removed_in_git_edited_in_titan": "conflict",
    "created_in_titan": "live_edit",
}


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """A git commit, as far as a reader needs it: who, when, what."""

    sha: str
    author: str
    date: str  # ISO 8601, as git prints it (%aI)
    subject: str = ""

    @property
    def short(self) -> str:
        """The abbreviated id people quote."""
        return self.sha[:7]


@dataclass(frozen=True, slots=True)
class FieldAttribution:
    """One top-level field that is not in sync, with its three normalised values (None: unset)."""

    field: str
    attribution: Attribution
    base: Any
    git: Any
    live: Any
    # What each side changed since the base, down to the leaf (as a plan shows a change): empty
    # for a side that did not move, or when not worked out (a report rebuilt from saved data).
    git_changes: tuple[FieldChange, ...] = ()
    live_changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskAttribution:
    """One task that is not in sync with the base on every side."""

    name: str
    story: Story
    attribution: Attribution
    fields: tuple[FieldAttribution, ...] = ()
    # The live task's `updated_at` (when it was last edited in the service), if known.
    live_updated_at: str | None = None
    # The definition file in git, and the newest commit after the base that changed it.
    path: str | None = None
    commit: CommitInfo | None = None
    # The base (and live) name of a task git renamed.
    previous_name: str | None = None
    # JSON pointers whose values are secrets (`${TITAN_VAR_...}`, in git or the base): a field
    # that holds one is named, its values never shown.
    sensitive_pointers: frozenset[str] = frozenset()

    @property
    def reverts_live_edit(self) -> bool:
        """True when bringing live back to git throws away something done in the service."""
        return self.attribution in ("live_edit", "conflict")

    def field(self, name: str) -> FieldAttribution | None:
        """The attribution of one top-level field, or None when it is in sync."""
        return next((f for f in self.fields if f.field == name), None)


@dataclass(frozen=True, slots=True)
class BaseInfo:
    """The revision the attribution was made against."""

    rev: str  # as the user (or the deployment record) gave it
    sha: str  # the full commit id it names
    # False when the directory did not exist at that commit: everything in git is then new.
    directory_existed: bool = True


@dataclass(frozen=True)
class ThreeWay:
    """The attribution of every task that is not in sync with the base, in name order."""

    base: BaseInfo
    tasks: tuple[TaskAttribution, ...] = ()
    # True when apply may throw live edits away (--overwrite-live-edits, or `live_edits:
    # overwrite` in the project file); apply refuses a plan that would, otherwise.
    overwrite: bool = False

    def by_name(self) -> dict[str, TaskAttribution]:
        """Each attributed task by its name in git (or live, for a task git does not hold)."""
        return {t.name: t for t in self.tasks}

    def counts(self) -> dict[str, int]:
        """How many tasks of each attribution (every class present, zero included)."""
        counted = {name: 0 for name in URGENCY}
        for task in self.tasks:
            counted[task.attribution] += 1
        return counted

    @property
    def reverting(self) -> tuple[TaskAttribution, ...]:
        """The tasks whose live edits an apply would throw away."""
        return tuple(t for t in self.tasks if t.reverts_live_edit)
