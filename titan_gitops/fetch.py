"""Stage: read every live task (and the template catalogue) through the client. Read-only.

A listing that fails part-way, or that changes while it is read, fails the stage: a plan must
never decide deletions from an incomplete listing.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import ApiError, NotFound
from titan_gitops.model import LiveState, LiveTask

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient

PAGE_SIZE = 100


def _live_task(record: Any) -> LiveTask:
    body: dict[str, Any] = record.body()
    return LiveTask(
        task_id=str(body.get("id", "")),
        name=str(body.get("name", "")),
        updated_at=body.get("updated_at"),
        body=body,
    )


def fetch_tasks(client: TitanClient, *, parallelism: int = 4) -> tuple[LiveTask, ...]:
    """Every live task: the first page gives the total, the rest are fetched concurrently.

    Raises:
        ApiError: a page failed, or the listing changed while it was being read.
    """
    first = client.list_tasks_page(limit=PAGE_SIZE, offset=0)
    records = list(first.items)
    total = first.total
    if total is None:
        # No total from the service: walk pages until a short one.
        offset = len(records)
        page = first
        while len(page.items) == PAGE_SIZE:
            page = client.list_tasks_page(limit=PAGE_SIZE, offset=offset)
            records.extend(page.items)
            offset += len(page.items)
    elif total > len(records):
        if not first.items:
            raise ApiError(f"the task listing announced {total} tasks but returned none")
        page_size = len(first.items)
        offsets = [page_size * i for i in range(1, math.ceil(total / page_size))]
        with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
            pages = list(
                pool.map(lambda o: client.list_tasks_page(limit=page_size, offset=o), offsets)
            )
        for page in pages:
            if page.total is not None and page.total != total:
                raise ApiError(
                    f"the task listing changed while it was read ({total} then {page.total} "
                    "tasks); run the plan again"
                )
            records.extend(page.items)
    tasks = tuple(_live_task(r) for r in records)
    ids = [t.task_id for t in tasks]
    if len(set(ids)) != len(ids) or (total is not None and len(tasks) != total):
        raise ApiError(
            f"the task listing is inconsistent ({len(tasks)} read, {total} announced, "
            f"{len(ids) - len(set(ids))} repeated); it changed while it was read: run the "
            "plan again"
        )
    return tasks


def fetch_live_state(client: TitanClient, *, parallelism: int = 4) -> LiveState:
    """Live tasks plus the template ids and slugs (None when the service has no such route)."""
    tasks = fetch_tasks(client, parallelism=parallelism)
    try:
        templates = client.list_templates()
    except NotFound:
        return LiveState(
            tasks=tasks,
            warnings=(
                "the service has no templates route (404): template references were not checked",
            ),
        )
    ids = frozenset(str(t.body().get("id")) for t in templates)
    slugs = frozenset(str(t.body().get("slug")) for t in templates if t.body().get("slug"))
    return LiveState(tasks=tasks, template_ids=ids, template_slugs=slugs)
