"""The live state: every task as the service holds it, and what is known of its templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LiveTask:
    """One task as the service holds it."""

    task_id: str
    name: str
    updated_at: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class LiveState:
    """Every live task, and what is known of the service's templates."""

    tasks: tuple[LiveTask, ...]
    # None when the service offers no templates route (references are then not checked).
    template_ids: frozenset[str] | None = None
    template_slugs: frozenset[str] | None = None
    warnings: tuple[str, ...] = ()
