"""Expectations about executions, results and templates: run, poll, export, list and read."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from urllib.parse import quote as quote_segment

from titan_gitops.selftest.expectations import (
    OUTPUT_SCHEMA,
    Mismatch,
    NotChecked,
    SelftestContext,
    describe,
    expect_list,
    expect_object,
    expect_status,
    expectation,
    is_timestamp,
    quote,
)
from titan_gitops.selftest.probe import AUTH_CONFIGURED, AUTH_NONE
from titan_gitops.settings import MAX_BODY_BYTES

API = "/api/v1"
TERMINAL = ("completed", "completed_with_errors", "failed", "cancelled")
# The order statuses may move in while nobody pauses the run.
_PROGRESS = {"queued": 0, "running": 1, **{status: 2 for status in TERMINAL}}
_LONGEST_PAUSE = 5.0
MEDIA_FIELDS = ("id", "content_type", "size", "checksum", "download_url", "expires_at")
_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")


def _execution(ctx: SelftestContext, made_by: str = "run") -> str:
    if not ctx.executions:
        raise NotChecked(f"not checked: needs the execution '{made_by}' starts")
    return ctx.executions[-1]


def _segment(value: str) -> str:
    return quote_segment(value, safe="")


@expectation(
    "run",
    "POST /api/v1/tasks/{id}/run answers 201 with the execution: id, task_id, status queued or "
    "running.",
    "docs: get-started/quickstart-run-your-first-task; emulator choice run-201",
    choice="run-201",
)
def check_run(ctx: SelftestContext) -> str:
    task = ctx.need("a", "create")
    answer = ctx.probe.send("POST", f"{API}/tasks/{_segment(task)}/run", body={})
    data = answer.envelope_data()
    ident = data.get("id") if isinstance(data, dict) else None
    if isinstance(ident, str) and ident and 200 <= answer.status < 300:
        ctx.executions.append(ident)
    expect_status(answer, 201, "run")
    execution = expect_object(answer, "run")
    if execution.get("task_id") != task or execution.get("status") not in ("queued", "running"):
        got = f"task_id {quote(execution.get('task_id'))}, status {quote(execution.get('status'))}"
        raise Mismatch(f"201 with {got}")
    return f"201, status {execution['status']}"


@expectation(
    "poll",
    "Polling GET /api/v1/executions/{id} sees queued -> running -> completed, never backwards, "
    "and results_ready true at the end.",
    "docs: use-the-platform/monitor-and-control-executions; emulator choice execution-poll",
    choice="execution-poll",
)
def check_poll(ctx: SelftestContext) -> str:
    ident = _execution(ctx)
    started = ctx.clock()
    pause, polls = ctx.poll_interval, 0
    seen: list[str] = []
    while True:
        answer = ctx.probe.send("GET", f"{API}/executions/{_segment(ident)}")
        polls += 1
        expect_status(answer, 200, "GET the execution")
        execution = expect_object(answer, "GET the execution")
        status = execution.get("status")
        if status not in _PROGRESS:
            raise Mismatch(f"status {quote(status)} after {' -> '.join(seen) or 'nothing'}")
        if seen and _PROGRESS[status] < _PROGRESS[seen[-1]]:
            raise Mismatch(f"status went back: {' -> '.join(seen)} -> {status}")
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in TERMINAL:
            break
        if ctx.clock() - started > ctx.poll_timeout:
            raise Mismatch(f"still {status} after {ctx.poll_timeout:g}s ({polls} polls)")
        ctx.sleep(pause)
        pause = min(_LONGEST_PAUSE, pause * 1.5)
    path = " -> ".join(seen)
    if status != "completed" or execution.get("results_ready") is not True:
        ready = quote(execution.get("results_ready"))
        raise Mismatch(f"{path}, results_ready {ready} (error: {quote(execution.get('error'))})")
    return f"{path} in {polls} polls, results_ready true"


@expectation(
    "results",
    "GET /api/v1/executions/{id}/results answers the envelope with available true and a "
    "record_count.",
    "docs: use-the-platform/download-results-and-access-media; emulator choice results-metadata",
    choice="results-metadata",
)
def check_results(ctx: SelftestContext) -> str:
    ident = _execution(ctx)
    answer = ctx.probe.send("GET", f"{API}/executions/{_segment(ident)}/results")
    expect_status(answer, 200, "results")
    meta = expect_object(answer, "results")
    count = meta.get("record_count")
    if meta.get("available") is not True or not isinstance(count, int) or isinstance(count, bool):
        raise Mismatch(f"available {quote(meta.get('available'))}, record_count {quote(count)}")
    ctx.record_count = count
    return f"available, {count} records"


@expectation(
    "export-json",
    "GET .../results/export (no query) is a JSON attachment: a bare array of record objects.",
    "docs: use-the-platform/download-results-and-access-media; emulator choice export-json",
    choice="export-json",
)
def check_export_json(ctx: SelftestContext) -> str:
    ident = _execution(ctx)
    answer = ctx.probe.send("GET", f"{API}/executions/{_segment(ident)}/results/export")
    _expect_attachment(answer, "export")
    records = answer.json()
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise Mismatch(f"200 attachment, but not an array of objects: {describe(answer)}")
    _expect_count(ctx, len(records), "the JSON export")
    return f"attachment, an array of {len(records)} records"


@expectation(
    "export-csv",
    "GET .../results/export?format=csv is a CSV attachment: a header naming the schema's fields "
    "and one row per record.",
    "docs: use-the-platform/download-results-and-access-media; emulator choice export-csv",
    choice="export-csv",
)
def check_export_csv(ctx: SelftestContext) -> str:
    ident = _execution(ctx)
    path = f"{API}/executions/{_segment(ident)}/results/export"
    answer = ctx.probe.send("GET", path, params={"format": "csv"})
    _expect_attachment(answer, "export?format=csv")
    try:
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        raise Mismatch("200 attachment, but not UTF-8 CSV") from None
    header = rows[0] if rows else []
    fields = sorted(OUTPUT_SCHEMA["properties"])
    if not set(fields) <= set(header):
        raise Mismatch(f"the CSV header {quote(header)} does not name {', '.join(fields)}")
    _expect_count(ctx, len(rows) - 1, "the CSV export")
    return f"attachment, header {', '.join(header)}, {len(rows) - 1} rows"


@expectation(
    "media-list",
    "GET /api/v1/executions/{id}/media lists the run's media (id, content_type, size, checksum, "
    "download_url, expires_at); one download matches its size and sha256 checksum.",
    "docs: use-the-platform/download-results-and-access-media; emulator choice media-list",
    choice="media-list",
)
def check_media_list(ctx: SelftestContext) -> str:
    ident = _execution(ctx)
    answer = ctx.probe.send("GET", f"{API}/executions/{_segment(ident)}/media")
    expect_status(answer, 200, "GET the execution's media")
    items, _ = expect_list(answer, "GET the execution's media")
    if not items:
        raise Mismatch("an empty list, for a run whose output_schema has a format: media field")
    good = [item for item in items if isinstance(item, dict) and _is_media_item(item)]
    if len(good) != len(items):
        missing = ", ".join(MEDIA_FIELDS)
        raise Mismatch(f"{len(items) - len(good)} of {len(items)} items lack one of {missing}")
    smallest = min(good, key=lambda item: int(item["size"]))
    return f"{len(items)} items; {_download_media(ctx, smallest)}"


def _is_media_item(item: dict[str, Any]) -> bool:
    size = item.get("size")
    return (
        _has_strings(item, "id", "content_type", "checksum", "download_url")
        and isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and is_timestamp(item.get("expires_at"))
    )


def _download_media(ctx: SelftestContext, item: dict[str, Any]) -> str:
    """Fetch one listed item by its link, as the client does: the API token only to the API's
    own origin, the link's query as it is. What was checked, or a Mismatch."""
    what = f"media {quote(item['id'])}"
    found = _SHA256.match(str(item["checksum"]).strip())
    if found is None:
        raise Mismatch(f"{what}: checksum {quote(item['checksum'])} is not sha256:<64 hex>")
    size = int(item["size"])
    if size > MAX_BODY_BYTES:
        raise NotChecked(f"not checked: the smallest media item is {size} bytes")
    parts = urlsplit(str(item["download_url"]))
    if parts.scheme not in ("", "http", "https") or not parts.path.startswith("/"):
        raise Mismatch(f"{what}: download_url is not an http(s) URL or a path on the API")
    own = urlsplit(ctx.probe.origin)
    same_origin = not parts.netloc or (parts.scheme, parts.netloc) == (own.scheme, own.netloc)
    target = parts._replace(query="", fragment="").geturl()
    answer = ctx.probe.send(
        "GET",
        target,
        params=dict(parse_qsl(parts.query)),
        auth=AUTH_CONFIGURED if same_origin else AUTH_NONE,
    )
    if answer.status != 200:
        raise Mismatch(f"{what}: the download answered {describe(answer)}")
    if len(answer.content) != size:
        raise Mismatch(f"{what}: {len(answer.content)} bytes downloaded, the listing said {size}")
    if hashlib.sha256(answer.content).hexdigest() != found.group(1).lower():
        raise Mismatch(f"{what}: the download's sha256 is not the listed checksum")
    return f"one downloaded: {size} bytes, sha256 as listed"


@expectation(
    "templates-list",
    "GET /api/v1/templates lists templates like tasks (data array and meta), each with id, slug "
    "and action_type.",
    "emulator choice templates-list",
    choice="templates-list",
)
def check_templates_list(ctx: SelftestContext) -> str:
    answer = ctx.probe.send("GET", f"{API}/templates", params={"limit": "100"})
    expect_status(answer, 200, "GET /api/v1/templates")
    items, _ = expect_list(answer, "GET /api/v1/templates")
    good = [
        t for t in items if isinstance(t, dict) and _has_strings(t, "id", "slug", "action_type")
    ]
    if not items or len(good) != len(items):
        raise Mismatch(
            f"{len(items)} templates, {len(items) - len(good)} without id/slug/action_type"
        )
    ctx.template = good[0]
    return f"{len(items)} templates, each with id, slug, action_type"


@expectation(
    "templates-get",
    "GET /api/v1/templates/{slug} and /api/v1/templates/{id} both answer that template.",
    "emulator choice template-by-slug",
    choice="template-by-slug",
)
def check_templates_get(ctx: SelftestContext) -> str:
    if ctx.template is None:
        raise NotChecked("not checked: needs a template from 'templates-list'")
    slug, ident = str(ctx.template["slug"]), str(ctx.template["id"])
    for key, value in (("slug", slug), ("id", ident)):
        answer = ctx.probe.send("GET", f"{API}/templates/{_segment(value)}")
        expect_status(answer, 200, f"GET by {key}")
        template = expect_object(answer, f"GET by {key}")
        if template.get("id") != ident or template.get("slug") != slug:
            raise Mismatch(f"GET by {key} answered id {quote(template.get('id'))}")
    return f"{quote(slug)} by slug and by id"


def _expect_attachment(answer: Any, what: str) -> None:
    expect_status(answer, 200, what)
    disposition = answer.header("content-disposition") or ""
    if "attachment" not in disposition.lower():
        raise Mismatch(f"{what}: 200 without Content-Disposition: attachment")


def _expect_count(ctx: SelftestContext, count: int, what: str) -> None:
    if ctx.record_count is not None and count != ctx.record_count:
        raise Mismatch(f"{what} holds {count} records, the metadata said {ctx.record_count}")


def _has_strings(item: dict[str, Any], *names: str) -> bool:
    return all(isinstance(item.get(name), str) and item.get(name) for name in names)
