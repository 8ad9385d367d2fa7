"""The plan's value types: Action, FieldChange, Change, Fingerprint, Note, Plan.

A Plan is built once (plan.py), rendered by other code (render/), saved as JSON, and applied
exactly as built (apply.py). Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from typing import Any

from titan_gitops.model.threeway import ThreeWay


class Action(enum.Enum):
    """The closed set of things a plan can do to a task, with Terraform-like display symbols."""

    CREATE = "create"
    UPDATE = "update"
    RENAME = "rename"
    DELETE = "delete"
    NO_OP = "no-op"

    @property
    def symbol(self) -> str:
        """The one-character symbol shown in renders."""
        return {"create": "+", "update": "~", "rename": "→", "delete": "-", "no-op": " "}[
            self.value
        ]

    @property
    def step(self) -> int:
        """The apply step: creates, then updates and renames, then deletes."""
        return {"create": 0, "update": 1, "rename": 1, "delete": 2, "no-op": 3}[self.value]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One changed field: a JSON pointer into the task, its old and new value."""

    pointer: str
    before: Any
    after: Any
    sensitive: bool = False

    @property
    def path(self) -> str:
        """A path for people: `output_schema.properties.price`, `execution_plan.steps[1].limits`.

        A segment of digits only is shown as a list index.
        """
        path = ""
        for segment in self.pointer.split("/")[1:]:
            key = segment.replace("~1", "/").replace("~0", "~")
            index = key.isascii() and key.isdigit()
            path += f"[{key}]" if index and path else f".{key}" if path else key
        return path

    @property
    def kind(self) -> str:
        """added, removed or changed."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One planned action on one task."""

    action: Action
    name: str
    reason: str
    task_id: str | None = None
    previous_name: str | None = None
    # Normalised bodies (server-owned and GitOps-only fields removed); None when absent.
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # What apply sends: the full body for a create, the changed top-level keys for an update.
    request_body: dict[str, Any] | None = None
    fields: tuple[FieldChange, ...] = ()
    breaking: tuple[str, ...] = ()
    source: str | None = None
    sensitive_pointers: frozenset[str] = frozenset()
    ignore_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the plan saw of one live task, so apply can refuse a stale plan."""

    task_id: str
    name: str
    updated_at: str | None
    digest: str
    # Pointers whose values the digest leaves out (the definition's sensitive fields): a digest
    # over a secret would let anyone holding a saved plan test guesses of it offline.
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Note:
    """Something the plan decided not to do, with why (protected, left in place)."""

    name: str
    message: str
    task_id: str | None = None


@dataclass(frozen=True)
class Plan:
    """An ordered set of changes, with what is needed to check it is still fresh."""

    changes: tuple[Change, ...]
    notes: tuple[Note, ...] = ()
    namespace: str | None = None
    filtered: bool = False
    filters: tuple[str, ...] = ()
    fingerprints: tuple[Fingerprint, ...] = ()
    scope_digest: str = ""
    change_digest: str = ""
    target: str = ""
    warnings: tuple[str, ...] = ()
    # Desired names and previous names: with the namespace, they define the plan's scope.
    managed_names: tuple[str, ...] = ()
    directory: str = ""
    # Who changed what since the base (`--base REV`): None for a two-way plan. Never part of the
    # change digest: it explains the changes, it does not choose them.
    threeway: ThreeWay | None = None

    @property
    def actionable(self) -> tuple[Change, ...]:
        """Every change that does something (no-ops left out)."""
        return tuple(c for c in self.changes if c.action is not Action.NO_OP)

    @property
    def has_changes(self) -> bool:
        """True when applying would change the service."""
        return bool(self.actionable)

    def counts(self) -> dict[str, int]:
        """How many changes of each action (every action present, zero included)."""
        counted = Counter(c.action.value for c in self.changes)
        return {a.value: counted.get(a.value, 0) for a in Action}

    @property
    def has_breaking(self) -> bool:
        """True when some change breaks the shape of a task's output."""
        return any(c.breaking for c in self.changes)
