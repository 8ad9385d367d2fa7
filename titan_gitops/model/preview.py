"""What `plan --preview` learnt: a sample of each previewed task's output, kept beside the Plan.

Previews never enter the Plan: a preview changes nothing apply does, so the plan's digest and
its saved file stay the same with or without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TaskPreview:
    """One task's preview: its first records and whether all matched its new output_schema.

    `note` says why there is no sample (the quota, an error); then `records` is empty.
    `violation` is the first mismatch (`record 3: /price: ...`, records counted from 1), None
    when every record matched or there was no schema (`checked` False) to match.
    """

    name: str
    records: tuple[Any, ...] = ()
    total: int = 0
    checked: bool = False
    violation: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PlanPreviews:
    """Every preview of one plan, by task name; who was left out over the limit; plan notes."""

    limit: int
    previews: tuple[TaskPreview, ...] = ()
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def find(self, name: str) -> TaskPreview | None:
        """The preview of the task `name`, if it had one."""
        return next((p for p in self.previews if p.name == name), None)
