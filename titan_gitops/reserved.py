"""What titan-gitops reserves and relies on in live tasks: lease names, and the age of a task."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from titan_gitops.model import LiveTask

# Titan has no locks, so an apply's lease is an ordinary task with this name prefix. The leading
# dot keeps it apart from any sensible namespace; definitions may not use it (validate), and the
# live state never includes it (fetch), so plan, drift, apply and export never see a lease.
LEASE_PREFIX = ".titan-gitops-lease/"
_NEVER = datetime.max.replace(tzinfo=UTC)


def is_reserved_name(name: str) -> bool:
    """True for a task name titan-gitops reserves (a lease), which no definition may take."""
    return name.startswith(LEASE_PREFIX)


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
