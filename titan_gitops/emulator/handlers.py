"""HTTP handlers for tasks, templates, executions, results, datasets and media.

Routes and the scope each needs (the docs give scope meanings, not a per-route table):
GET /api/v1/tasks, GET /api/v1/tasks/{id}, GET /api/v1/templates[/{ref}] need `tasks:read`;
POST /api/v1/tasks and PATCH/PUT/DELETE /api/v1/tasks/{id} need `tasks:write` (so do the
previews, in previews.py).
Starting a run (POST /api/v1/tasks/{id}/run, POST /api/v1/executions) and pause/resume/stop need
`executions:write` (the docs name both it and `tasks:write` for "run"; a route takes one scope,
and the Quickstart's token has both); reading executions needs `executions:read`; results,
exports, datasets and the media listing (GET /api/v1/executions/{id}/media, results.py) need
`data:read`. Media (`GET /media/...?token=`) takes its own token only.
Create and run answer 201; everything else that succeeds answers 200.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from titan_gitops.emulator.backend import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, TitanBackend
from titan_gitops.emulator.errors import BadRequest
from titan_gitops.emulator.results import MEDIA_CONTENT_TYPE, MediaRefused
from titan_gitops.emulator.routes import Reply, Request, RouteTable

API = "/api/v1"
READ_TASKS = "tasks:read"
WRITE_TASKS = "tasks:write"
READ_EXECUTIONS = "executions:read"
WRITE_EXECUTIONS = "executions:write"
READ_DATA = "data:read"
EXECUTION_STATUSES = (
    "queued",
    "running",
    "paused",
    "completed",
    "completed_with_errors",
    "failed",
    "cancelled",
)
# A Host header is echoed into media URLs only when it looks like host[:port].
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def parse_paging(request: Request) -> tuple[int, int]:
    """`limit` (default 20, clamped to 100, at least 1) and `offset` (at least 0) from the query."""
    limit = _read_int(request, "limit", DEFAULT_PAGE_SIZE, minimum=1)
    offset = _read_int(request, "offset", 0, minimum=0)
    return min(limit, MAX_PAGE_SIZE), offset


def _read_int(request: Request, name: str, default: int, *, minimum: int) -> int:
    values = request.query.get(name)
    if not values:
        return default
    text = values[-1].strip()
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"{name}: must be an integer of at least {minimum}")
    # Absurdly long numbers are capped before int() (which refuses over 4300 digits) and SQLite.
    value = int(text) if len(text) <= 15 else 10**15
    if value < minimum:
        raise BadRequest(f"{name}: must be an integer of at least {minimum}")
    return value


def register_task_routes(table: RouteTable, backend: TitanBackend) -> None:
    """Add the task and template routes, served by `backend`, to `table`."""

    def list_tasks(request: Request) -> Reply:
        limit, offset = parse_paging(request)
        tasks, total = backend.list_tasks(limit, offset)
        return Reply(tasks, meta={"total": total, "limit": limit, "offset": offset})

    def create_task(request: Request) -> Reply:
        return Reply(backend.create_task(request.json_object(required=True)), status=201)

    def get_task(request: Request) -> Reply:
        return Reply(backend.get_task(request.params["task_id"]))

    def patch_task(request: Request) -> Reply:
        task_id = request.params["task_id"]
        backend.get_task(task_id)  # an unknown id is a 404 even when the body is also bad
        return Reply(backend.update_task(task_id, request.json_object(required=True)))

    def put_task(request: Request) -> Reply:
        task_id = request.params["task_id"]
        backend.get_task(task_id)
        return Reply(backend.replace_task(task_id, request.json_object(required=True)))

    def delete_task(request: Request) -> Reply:
        return Reply(backend.delete_task(request.params["task_id"]))

    def list_templates(request: Request) -> Reply:
        limit, offset = parse_paging(request)
        templates, total = backend.list_templates(limit, offset)
        return Reply(templates, meta={"total": total, "limit": limit, "offset": offset})

    def get_template(request: Request) -> Reply:
        return Reply(backend.get_template(request.params["ref"]))

    table.add("GET", f"{API}/tasks", list_tasks, scope=READ_TASKS)
    table.add("POST", f"{API}/tasks", create_task, scope=WRITE_TASKS)
    table.add("GET", f"{API}/tasks/{{task_id}}", get_task, scope=READ_TASKS)
    table.add("PATCH", f"{API}/tasks/{{task_id}}", patch_task, scope=WRITE_TASKS)
    table.add("PUT", f"{API}/tasks/{{task_id}}", put_task, scope=WRITE_TASKS)
    table.add("DELETE", f"{API}/tasks/{{task_id}}", delete_task, scope=WRITE_TASKS)
    table.add("GET", f"{API}/templates", list_templates, scope=READ_TASKS)
    table.add("GET", f"{API}/templates/{{ref}}", get_template, scope=READ_TASKS)
    register_execution_routes(table, backend)
    register_result_routes(table, backend)
    register_dataset_and_media_routes(table, backend)


def read_query(request: Request, name: str) -> str | None:
    """The last value of a query parameter, or None."""
    values = request.query.get(name)
    return values[-1] if values else None


def read_origin(request: Request) -> str:
    """The origin the caller reached the emulator by, for the media URLs in records."""
    host = request.headers.get("host", "")
    return f"http://{host if _HOST.match(host) else 'localhost'}"


def register_execution_routes(table: RouteTable, backend: TitanBackend) -> None:
    """Add the run, execution and control routes to `table`."""
    runtime = backend.executions

    def run_task(request: Request) -> Reply:
        task_id = request.params["task_id"]
        backend.get_task(task_id)
        body = request.json_object(required=False)
        return Reply(runtime.start_execution(task_id, body), 201)

    def create_execution(request: Request) -> Reply:
        body = request.json_object(required=True)
        task_id = body.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise BadRequest("task_id: required, the id of the task to run")
        rest = {key: value for key, value in body.items() if key != "task_id"}
        return Reply(runtime.start_execution(task_id, rest), 201)

    def list_executions(request: Request) -> Reply:
        limit, offset = parse_paging(request)
        status = read_query(request, "status")
        if status is not None and status not in EXECUTION_STATUSES:
            raise BadRequest(f"status: must be one of {', '.join(EXECUTION_STATUSES)}")
        task_id = read_query(request, "task_id")
        items, total = runtime.list_executions(limit, offset, task_id=task_id, status=status)
        return Reply(items, meta={"total": total, "limit": limit, "offset": offset})

    def list_task_executions(request: Request) -> Reply:
        task_id = request.params["task_id"]
        backend.get_task(task_id)
        limit, offset = parse_paging(request)
        items, total = runtime.list_executions(limit, offset, task_id=task_id)
        return Reply(items, meta={"total": total, "limit": limit, "offset": offset})

    def get_execution(request: Request) -> Reply:
        return Reply(runtime.get_execution(request.params["execution_id"]))

    def control(action: str) -> Callable[[Request], Reply]:
        def handle(request: Request) -> Reply:
            request.json_object(required=False)  # a body is optional, but must be JSON
            return Reply(runtime.control_execution(request.params["execution_id"], action))

        return handle

    table.add("POST", f"{API}/tasks/{{task_id}}/run", run_task, scope=WRITE_EXECUTIONS)
    table.add(
        "GET", f"{API}/tasks/{{task_id}}/executions", list_task_executions, scope=READ_EXECUTIONS
    )
    table.add("GET", f"{API}/executions", list_executions, scope=READ_EXECUTIONS)
    table.add("POST", f"{API}/executions", create_execution, scope=WRITE_EXECUTIONS)
    table.add("GET", f"{API}/executions/{{execution_id}}", get_execution, scope=READ_EXECUTIONS)
    for action in ("pause", "resume", "stop"):
        path = f"{API}/executions/{{execution_id}}/{action}"
        table.add("POST", path, control(action), scope=WRITE_EXECUTIONS)


def register_result_routes(table: RouteTable, backend: TitanBackend) -> None:
    """Add the result description, export and download routes to `table`."""
    results = backend.results

    def describe_results(request: Request) -> Reply:
        execution_id = request.params["execution_id"]
        return Reply(results.describe_results(execution_id, read_origin(request)))

    def export_results(request: Request) -> Reply:
        fmt = (read_query(request, "format") or "json").strip().lower()
        return _attachment(request, fmt)

    def download_results(request: Request) -> Reply:
        return _attachment(request, "csv")

    def _attachment(request: Request, fmt: str) -> Reply:
        body, content_type, filename = results.export_results(
            request.params["execution_id"], fmt, read_origin(request)
        )
        return Reply(
            raw=body,
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    execution = f"{API}/executions/{{execution_id}}"
    table.add("GET", f"{execution}/results", describe_results, scope=READ_DATA)
    table.add("GET", f"{execution}/results/export", export_results, scope=READ_DATA)
    table.add("GET", f"{execution}/results/download", download_results, scope=READ_DATA)


def register_dataset_and_media_routes(table: RouteTable, backend: TitanBackend) -> None:
    """Add the dataset listings and the media download to `table`."""
    results = backend.results

    def list_execution_datasets(request: Request) -> Reply:
        limit, offset = parse_paging(request)
        every = results.list_datasets(
            read_origin(request), execution_id=request.params["execution_id"]
        )
        return Reply(
            every[offset : offset + limit],
            meta={"total": len(every), "limit": limit, "offset": offset},
        )

    def list_task_datasets(request: Request) -> Reply:
        task_id = request.params["task_id"]
        backend.get_task(task_id)
        limit, offset = parse_paging(request)
        every = results.list_datasets(read_origin(request), task_id=task_id)
        return Reply(
            every[offset : offset + limit],
            meta={"total": len(every), "limit": limit, "offset": offset},
        )

    def list_media(request: Request) -> Reply:
        limit, offset = parse_paging(request)
        every = results.list_media(request.params["execution_id"], read_origin(request))
        return Reply(
            every[offset : offset + limit],
            meta={"total": len(every), "limit": limit, "offset": offset},
        )

    def download_media(request: Request) -> Reply:
        execution_id, key = request.params["execution_id"], request.params["key"]
        try:
            body = results.read_media(
                execution_id, key, read_query(request, "token"), read_query(request, "expires")
            )
        except MediaRefused as refused:
            error = json.dumps({"error": refused.message}).encode()
            return Reply(raw=error, status=refused.status)
        return Reply(
            raw=body,
            content_type=MEDIA_CONTENT_TYPE,
            headers={"Content-Disposition": f'attachment; filename="{key}.bin"'},
        )

    execution = f"{API}/executions/{{execution_id}}"
    table.add("GET", f"{execution}/datasets", list_execution_datasets, scope=READ_DATA)
    table.add("GET", f"{API}/tasks/{{task_id}}/datasets", list_task_datasets, scope=READ_DATA)
    table.add("GET", f"{execution}/media", list_media, scope=READ_DATA)
    # The media CDN authorises by the link's own token, and sits outside the Task API bucket.
    table.add(
        "GET",
        "/media/{execution_id}/{key}",
        download_media,
        scope=None,
        metered=False,
        needs_token=False,
    )
