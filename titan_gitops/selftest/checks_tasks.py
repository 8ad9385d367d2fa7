"""Expectations about tasks: create, read, list pages, clamp, PATCH merge, rename and delete."""

from __future__ import annotations

from typing import Any

from titan_gitops.selftest.expectations import (
    SERVER_FIELDS,
    Mismatch,
    SelftestContext,
    compare_fields,
    describe,
    expect_error,
    expect_list,
    expect_object,
    expect_status,
    expectation,
    is_timestamp,
    is_uuid,
    quote,
)
from titan_gitops.selftest.probe import Exchange

TASKS = "/api/v1/tasks"
MAX_PAGE = 100


def _task_path(task_id: str) -> str:
    from urllib.parse import quote as quote_segment

    return f"{TASKS}/{quote_segment(task_id, safe='')}"


@expectation(
    "create",
    'POST /api/v1/tasks answers 201 with the task: a UUID id, status "active", RFC 3339 UTC '
    "created_at and updated_at.",
    "docs: use-the-platform/create-and-manage-tasks; emulator choice create-201",
    choice="create-201",
)
def check_create(ctx: SelftestContext) -> str:
    body = ctx.task_body("a")
    answer = ctx.probe.send("POST", TASKS, body=body)
    ident = ctx.keep_created(answer)
    if ident is not None:
        ctx.tasks["a"], ctx.bodies["a"] = ident, body
    expect_status(answer, 201, "create")
    task = expect_object(answer, "create")
    problems = []
    if not is_uuid(task.get("id")):
        problems.append(f"id {quote(task.get('id'))} is not a UUID")
    if task.get("status") != "active":
        problems.append(f"status {quote(task.get('status'))}")
    problems += [
        f"{name} {quote(task.get(name))} is not RFC 3339 UTC"
        for name in ("created_at", "updated_at")
        if not is_timestamp(task.get(name))
    ]
    if problems:
        raise Mismatch("201, but " + "; ".join(problems))
    return "201, a UUID id, status active, UTC timestamps"


@expectation(
    "get",
    "GET /api/v1/tasks/{id} gives back every field sent, unchanged, and no others but id, status, "
    "created_at, updated_at (no defaults filled in).",
    "emulator choice task-echo",
    choice="task-echo",
)
def check_get(ctx: SelftestContext) -> str:
    ident = ctx.need("a", "create")
    sent = ctx.bodies["a"]
    task = _read_task(ctx, ident)
    problems = compare_fields(sent, task)
    extra = sorted(set(task) - set(sent) - set(SERVER_FIELDS))
    if extra:
        problems.append("added " + ", ".join(quote(name) for name in extra))
    if problems:
        raise Mismatch("200, but " + "; ".join(problems))
    return f"200, the {len(sent)} fields sent and the 4 server fields, nothing else"


@expectation(
    "list-paging",
    "GET /api/v1/tasks?limit=&offset= answers a data array and meta {total, limit, offset}, "
    "oldest first; an offset past the end is an empty page.",
    "docs: use-the-platform/use-the-task-service-api; emulator choice list-layout",
    choice="list-layout",
)
def check_list_paging(ctx: SelftestContext) -> str:
    first = ctx.need("a", "create")
    body = ctx.task_body("b")
    made = ctx.probe.send("POST", TASKS, body=body)
    second = ctx.keep_created(made)
    if second is None:
        raise Mismatch(f"a second task could not be created: {describe(made)}")
    ctx.tasks["b"], ctx.bodies["b"] = second, body
    _, meta = _page(ctx, 1, 0)
    total = meta.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 2:
        raise Mismatch(f"meta.total is {quote(total)}, not a count of at least 2")
    found = []
    for offset in (total - 2, total - 1, total):
        items, meta = _page(ctx, 1, offset)
        if meta.get("limit") != 1 or meta.get("offset") != offset:
            raise Mismatch(f"meta {quote(meta)} for limit=1&offset={offset}")
        found.append([item.get("id") for item in items if isinstance(item, dict)])
    if found != [[first], [second], []]:
        raise Mismatch(f"the last pages of one hold {quote(found)}, not the two tasks in order")
    return "meta {total, limit, offset}; pages of one hold the tasks in order; past the end: empty"


@expectation(
    "list-clamp",
    "A limit above 100 is served as 100 (meta.limit 100); limit=0 is 400 BAD_REQUEST naming limit.",
    "emulator choice list-clamp",
    choice="list-clamp",
)
def check_list_clamp(ctx: SelftestContext) -> str:
    items, meta = _page(ctx, 1000, 0)
    if meta.get("limit") != MAX_PAGE or len(items) > MAX_PAGE:
        raise Mismatch(f"limit=1000 gave meta.limit {quote(meta.get('limit'))}, {len(items)} items")
    zero = ctx.probe.send("GET", TASKS, params={"limit": "0"})
    message = expect_error(zero, 400, "BAD_REQUEST", "limit=0")
    if "limit" not in message:
        raise Mismatch(f"limit=0: 400, but the message does not name limit: {quote(message)}")
    return "limit=1000 served as 100; limit=0 is 400 naming limit"


@expectation(
    "patch-merge",
    "PATCH with only objective changes it, keeps every field not sent, and moves updated_at.",
    "emulator choice patch-merge",
    choice="patch-merge",
)
def check_patch_merge(ctx: SelftestContext) -> str:
    ident = ctx.need("a", "create")
    before = _read_task(ctx, ident)
    change = {"objective": "Extract only the price"}
    answer = ctx.probe.send("PATCH", _task_path(ident), body=change)
    expect_status(answer, 200, "PATCH")
    expected = {**ctx.bodies["a"], **change}
    for what, task in (("the PATCH answer", expect_object(answer, "PATCH")), ("a GET after", None)):
        got = task if task is not None else _read_task(ctx, ident)
        problems = compare_fields(expected, got)
        if problems:
            raise Mismatch(f"{what}: " + "; ".join(problems))
        if got.get("updated_at") == before.get("updated_at"):
            raise Mismatch(f"{what}: updated_at did not move")
    ctx.bodies["a"] = expected
    return "objective changed, the other fields kept, updated_at moved"


@expectation(
    "rename",
    "PATCH of name renames the task in place: the same id, the new name on a later GET.",
    "emulator choice rename-in-place",
    choice="rename-in-place",
)
def check_rename(ctx: SelftestContext) -> str:
    ident = ctx.need("a", "create")
    name = f"{ctx.namespace}a-renamed"
    answer = ctx.probe.send("PATCH", _task_path(ident), body={"name": name})
    expect_status(answer, 200, "PATCH name")
    task = expect_object(answer, "PATCH name")
    if task.get("id") != ident or task.get("name") != name:
        raise Mismatch(f"the answer has id {quote(task.get('id'))}, name {quote(task.get('name'))}")
    read = _read_task(ctx, ident)
    if read.get("name") != name:
        raise Mismatch(f"a GET after still says name {quote(read.get('name'))}")
    ctx.bodies["a"] = {**ctx.bodies["a"], "name": name}
    return "same id, new name"


@expectation(
    "delete",
    'DELETE answers 200 {"id", "deleted": true}; a GET after is 404 NOT_FOUND (a hard delete).',
    "docs: use-the-platform/create-and-manage-tasks; emulator choice delete-hard",
    choice="delete-hard",
)
def check_delete(ctx: SelftestContext) -> str:
    ident = ctx.need("a", "create")
    answer = ctx.probe.send("DELETE", _task_path(ident))
    expect_status(answer, 200, "DELETE")
    data = expect_object(answer, "DELETE")
    if data.get("id") != ident or data.get("deleted") is not True:
        raise Mismatch(f"200 with data {quote(data)}, not {{id, deleted: true}}")
    after = ctx.probe.send("GET", _task_path(ident))
    expect_error(after, 404, "NOT_FOUND", "a GET after the delete")
    return "200 {id, deleted: true}; then 404 NOT_FOUND"


def _read_task(ctx: SelftestContext, ident: str) -> dict[str, Any]:
    answer = ctx.probe.send("GET", _task_path(ident))
    expect_status(answer, 200, "GET the task")
    return expect_object(answer, "GET the task")


def _page(ctx: SelftestContext, limit: int, offset: int) -> tuple[list[Any], dict[str, Any]]:
    params = {"limit": str(limit), "offset": str(offset)}
    answer: Exchange = ctx.probe.send("GET", TASKS, params=params)
    expect_status(answer, 200, f"limit={limit}&offset={offset}")
    return expect_list(answer, f"limit={limit}&offset={offset}")
