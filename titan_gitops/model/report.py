"""The apply report: what happened to each change, and whether the service converged."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from titan_gitops.model.plan import Action, Change, FieldChange


class Status(enum.Enum):
    """What happened to one change."""

    APPLIED = "applied"
    RECONCILED = "reconciled"  # outcome was unknown; re-listing settled it
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The journal entry of one change."""

    change: Change
    status: Status
    message: str = ""
    task_id: str | None = None


@dataclass(frozen=True)
class ApplyReport:
    """Every outcome, and whether the service now matches the plan."""

    outcomes: tuple[Outcome, ...]
    converged: bool
    # Fields the service stored differently from what was sent, per task name.
    mismatches: tuple[tuple[str, tuple[FieldChange, ...]], ...] = ()
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when every change applied and the service converged."""
        return self.converged and all(
            o.status in (Status.APPLIED, Status.RECONCILED) for o in self.outcomes
        )

    def count(self, status: Status, action: Action | None = None) -> int:
        """How many outcomes have `status` (and `action`, when given)."""
        return sum(
            1
            for o in self.outcomes
            if o.status is status and (action is None or o.change.action is action)
        )


Progress = Callable[[Outcome, int, int], None]
