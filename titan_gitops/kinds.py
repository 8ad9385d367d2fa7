"""Resource kinds as data: one row per kind (identity, managed and server-owned fields, order).

Today one kind is reconciled against the service: tasks. Templates are local building blocks
(Titan's docs show no template write API), so they have no row here.

Apply order (levels run in turn; deletes run last, after every other level succeeded):

    creates ──▶ updates + renames ──▶ deletes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class KindRules:
    """How one resource kind is identified, compared and ordered."""

    kind: str
    collection: str
    identity: str
    managed_fields: tuple[str, ...]
    server_owned: frozenset[str]
    # Values the service fills when a field is absent: an absent desired field equals these live.
    server_defaults: dict[str, Any] = field(default_factory=dict)
    # Lists whose order carries no meaning and is canonicalised before comparing.
    unordered_lists: frozenset[str] = frozenset()


TASK = KindRules(
    kind="task",
    collection="/tasks",
    identity="name",
    managed_fields=(
        "name",
        "urls",
        "objective",
        "output_schema",
        "execution_type",
        "schedule",
        "proxy_locations",
        "template_id",
        "template_slug",
        "script_id",
        "script_version",
        "action_type",
        "input_source",
        "limits",
        "payload",
        "execution_plan",
    ),
    server_owned=frozenset(
        {
            "id",
            "status",
            "created_at",
            "updated_at",
            "last_run_at",
            "next_run_at",
            "owner_id",
            "user_id",
            "organization_id",
        }
    ),
    # An absent field, null, an empty list and an empty mapping all mean "not set" on both sides.
    server_defaults={},
    unordered_lists=frozenset(),
)

KINDS: dict[str, KindRules] = {TASK.kind: TASK}

# Task fields never sent to the API: they steer titan-gitops itself.
GITOPS_ONLY_FIELDS = frozenset({"previous_names", "ignore_fields", "extends"})
