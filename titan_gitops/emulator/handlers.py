"""HTTP handlers for tasks and templates: parse the request, call the backend, shape the reply.

Routes and the scope each needs (the docs give scope meanings, not a per-route table):
GET /api/v1/tasks, GET /api/v1/tasks/{id}, GET /api/v1/templates[/{ref}] need `tasks:read`;
POST /api/v1/tasks, PATCH/PUT/DELETE /api/v1/tasks/{id} and
POST /api/v1/templates/{ref}/preview need `tasks:write`.
Create answers 201; everything else that succeeds answers 200.
"""

from __future__ import annotations

from titan_gitops.emulator.backend import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, TitanBackend
from titan_gitops.emulator.errors import BadRequest
from titan_gitops.emulator.routes import Reply, Request, RouteTable

API = "/api/v1"
READ_TASKS = "tasks:read"
WRITE_TASKS = "tasks:write"


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

    def preview_template(request: Request) -> Reply:
        ref = request.params["ref"]
        backend.get_template(ref)
        return Reply(backend.preview_template(ref, request.json_object(required=False)))

    table.add("GET", f"{API}/tasks", list_tasks, scope=READ_TASKS)
    table.add("POST", f"{API}/tasks", create_task, scope=WRITE_TASKS)
    table.add("GET", f"{API}/tasks/{{task_id}}", get_task, scope=READ_TASKS)
    table.add("PATCH", f"{API}/tasks/{{task_id}}", patch_task, scope=WRITE_TASKS)
    table.add("PUT", f"{API}/tasks/{{task_id}}", put_task, scope=WRITE_TASKS)
    table.add("DELETE", f"{API}/tasks/{{task_id}}", delete_task, scope=WRITE_TASKS)
    table.add("GET", f"{API}/templates", list_templates, scope=READ_TASKS)
    table.add("GET", f"{API}/templates/{{ref}}", get_template, scope=READ_TASKS)
    table.add("POST", f"{API}/templates/{{ref}}/preview", preview_template, scope=WRITE_TASKS)
