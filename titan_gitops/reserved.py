"""What titan-gitops reserves and relies on in live tasks: lease names, and the age of a task."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from titan_gitops.model import LiveTask

# Titan has no locks, so an apply's lease is an ordinary task with this name prefix. The leading
# dot keeps it apart from any sensible namespace; definitions may not use it (validate), and the
# live state never includes a lease (fetch), so plan, drift, apply and export never see one.
LEASE_PREFIX = ".titan-gitops-lease/"
# Where a lease "points": a host that cannot exist (RFC 2606), so a lease run by mistake fetches
# nothing.
LEASE_URL = "https://titan-gitops.invalid/lease"
# The key that marks a lease's objective (JSON) as ours.
LEASE_MARK = "titan_gitops_lease"
_MAX_LEASE_OBJECTIVE = 10_000
_NEVER = datetime.max.replace(tzinfo=UTC)


def is_reserved_name(name: str) -> bool:
    """True for a task name titan-gitops reserves (a lease), which no definition may take."""
    return name.startswith(LEASE_PREFIX)


def is_lease(body: Mapping[str, Any]) -> bool:
    """True for a task that is an apply's lease: the reserved name and the shape `lease_body`
    gives it (one run never started, the lease URL, our JSON record as its objective).

    The name alone is not enough: anyone may create a real job under the reserved prefix, and
    such a task must stay visible (and never be deleted as an expired lease).
    """
    name, objective = body.get("name"), body.get("objective")
    if not isinstance(name, str) or not is_reserved_name(name):
        return False
    if body.get("execution_type") != "single" or body.get("schedule"):
        return False
    if body.get("urls") != [LEASE_URL] or not isinstance(objective, str):
        return False
    if len(objective) > _MAX_LEASE_OBJECTIVE:
        return False
    try:
        record = json.loads(objective)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get(LEASE_MARK) == 1


def server_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp from the service as an aware datetime; None when it is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def oldest_first(task: LiveTask) -> tuple[datetime, str]:
    """How live tasks sharing a name are ranked: the server's `created_at`, then the id.

    Two concurrent runs read the same values, so they agree on which copy is kept; a task without
    a readable creation time ranks last (it is never kept over a dated one). The server's clock,
    not ours: the machines running titan-gitops may disagree about the time.
    """
    return server_time(task.body.get("created_at")) or _NEVER, task.task_id
