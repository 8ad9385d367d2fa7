"""Stage: read every live task (and the template catalogue) through the client. Read-only.

A listing that fails part-way, or that changes while it is read, fails the stage: a plan must
never decide deletions from an incomplete listing. Leases (a reserved name and a lease's shape) are
dropped here, the one place every reader of live tasks goes through, so no stage ever sees one as
a task; a task with a reserved name that is no lease stays, and the plan warns about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import ApiError, NotFound
from titan_gitops.escape import escape_terminal
from titan_gitops.model import LiveState, LiveTask
from titan_gitops.reserved import is_lease, is_reserved_name, oldest_first

if TYPE_CHECKING:
    from titan_gitops.client import ListingProblem, TitanClient

PAGE_SIZE = 100


def _live_task(body: dict[str, Any]) -> LiveTask:
    return LiveTask(
        task_id=str(body.get("id", "")),
        name=str(body.get("name", "")),
        updated_at=body.get("updated_at"),
        body=body,
    )


def fetch_tasks(client: TitanClient, *, parallelism: int = 4) -> tuple[LiveTask, ...]:
    """Every live task but the leases, oldest first: the first page gives the total, the rest are
    fetched concurrently. Oldest first, so that where live names repeat, the diff matches the copy
    the plan keeps (plan.decide_duplicates).

    Raises:
        ApiError: a page failed, or the listing changed while it was being read.
    """
    listing = client.read_task_listing(page_size=PAGE_SIZE, parallelism=max(1, parallelism))
    if listing.problem is not None:
        raise ApiError(_describe_problem(listing.problem))
    return live_tasks_of(listing.records)


def live_tasks_of(records: Iterable[Any]) -> tuple[LiveTask, ...]:
    """The tasks of a complete listing's records, the leases dropped, oldest first."""
    # The records go once their bodies are taken: each body holds the record's values, not a
    # copy (pydantic's dump was most of a listing's cost, and 2.7 KiB per task).
    bodies = [r.shared_body() for r in records]
    tasks = (_live_task(body) for body in bodies if not is_lease(body))
    return tuple(sorted(tasks, key=oldest_first))


def _describe_problem(problem: ListingProblem) -> str:
    # Worded for the plan: the listing is read once here, and a fresh run reads it again.
    total = problem.announced
    if problem.kind == "changed size" and problem.later_total is not None:
        return (
            f"the task listing changed while it was read ({total} then {problem.later_total} "
            "tasks); run the plan again"
        )
    if problem.kind == "ended early" and problem.read == 0:
        return f"the task listing announced {total} tasks but returned none"
    return (
        f"the task listing is inconsistent ({problem.read} read, {total} announced, "
        f"{problem.repeated} repeated); it changed while it was read: run the plan again"
    )


def fetch_live_state(client: TitanClient, *, parallelism: int = 4) -> LiveState:
    """Live tasks plus the template ids and slugs (None when the service has no such route)."""
    tasks = fetch_tasks(client, parallelism=parallelism)
    warnings = tuple(
        f"the live task '{escape_terminal(t.name[:200])}' (id {escape_terminal(t.task_id)}) has a "
        "name reserved for apply leases but is no lease; it is left alone: check who made it"
        for t in tasks
        if is_reserved_name(t.name)
    )
    try:
        templates = client.list_templates()
    except NotFound:
        return LiveState(
            tasks=tasks,
            warnings=(
                *warnings,
                "the service has no templates route (404): template references were not checked",
            ),
        )
    ids = frozenset(str(t.body().get("id")) for t in templates)
    slugs = frozenset(str(t.body().get("slug")) for t in templates if t.body().get("slug"))
    return LiveState(tasks=tasks, template_ids=ids, template_slugs=slugs, warnings=warnings)
