"""The diff stage's value type: TaskDiff, one desired task against its live counterpart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from titan_gitops.model.desired import DesiredTask
from titan_gitops.model.live import LiveTask
from titan_gitops.model.plan import FieldChange


@dataclass(frozen=True, slots=True)
class TaskDiff:
    """How one task differs between the definitions and the service.

    A defined task carries `desired`; its `live` match is the live task with its name or, when
    none has it, the one live task with one of its previous names (a rename, `previous_name` set).
    A live task no definition matched comes with `desired` and `after` None and no field
    changes: nothing says what it should be, and whether it goes is the plan's decision.
    """

    name: str
    desired: DesiredTask | None
    live: LiveTask | None
    previous_name: str | None = None
    # Normalised bodies: `before` the live one with the definition's ignore_fields removed,
    # `after` the desired one; None on the side that is absent.
    before: dict[str, Any] | None = field(default=None, repr=False)
    after: dict[str, Any] | None = field(default=None, repr=False)
    fields: tuple[FieldChange, ...] = ()
    # The live body normalised with nothing ignored: what a fingerprint hashes.
    live_normalised: dict[str, Any] | None = field(default=None, repr=False)
    # The live tasks holding a previous name, when no live task has the name. More than one
    # makes the rename ambiguous: then nothing is matched (`live` None, no fields).
    rename_candidates: tuple[LiveTask, ...] = ()
