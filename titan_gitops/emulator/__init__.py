"""The local Titan Task Service emulator: an independent reading of the API as a WSGI app.

It imports nothing from the rest of titan_gitops. Use it in-process through any WSGI transport,
or serve it over HTTP with `python -m titan_gitops.emulator` (see serve.py and README.md).

Undocumented choices a client can see (the docs leave them open; README.md has the long form).
Each is checked by exactly one `titan-gitops selftest` expectation, so a user can find out in one
command whether their Titan chose the same:

- `x-api-key`: the token works in `X-API-Key` as well as in `Authorization: Bearer`.
- `create-201`: create answers 201 with the task: a UUID `id`, `status: "active"`, RFC 3339 UTC
  `created_at` and `updated_at`.
- `task-echo`: a task reads back exactly the fields sent plus `id`, `status`, `created_at`,
  `updated_at`; the server fills in no default.
- `list-layout`: a list is `data` (an array) with `meta: {total, limit, offset}`, oldest first;
  an offset past the end is an empty page.
- `list-clamp`: a `limit` above 100 is served as 100; `limit=0` is a 400 naming `limit`.
- `patch-merge`: PATCH merges top-level keys (a field not sent is kept) and moves `updated_at`.
- `rename-in-place`: a PATCH of `name` renames the task, keeping its id.
- `unknown-field-400`: an unknown top-level field is a 400 naming it; nothing is created.
- `missing-field-400`: a missing required field is a 400 `BAD_REQUEST` whose message names it.
- `delete-hard`: delete answers 200 `{"id", "deleted": true}`; the task then reads 404.
- `run-201`: run answers 201 with the execution (`id`, `task_id`, `status` queued or running).
- `execution-poll`: an execution goes queued -> running -> completed, never backwards, and says
  `results_ready: true` when its results can be exported.
- `results-metadata`: result metadata is an envelope with `available` and `record_count`.
- `export-json`: export without a query is a JSON attachment, a bare array of records.
- `export-csv`: `?format=csv` selects CSV: a header row of the fields, one row per record.
- `templates-list`: `GET /api/v1/templates` lists templates as tasks are listed, each with `id`,
  `slug` and `action_type`.
- `template-by-slug`: `GET /api/v1/templates/{ref}` finds a template by its slug or its id.
- `rate-limit-headers`: with limiting on, every counted answer (errors too) carries
  `X-RateLimit-Limit` and `X-RateLimit-Remaining`.
- `media-list`: `GET /api/v1/executions/{id}/media` (the docs' "Media access" route) lists an
  execution's media in the list envelope, each with `id`, `content_type`, `size`, `checksum`
  (`sha256:<hex>`), `download_url` and `expires_at`; the link opens without the API token until
  it expires (then 403), and its bytes match the size and checksum.
- `task-preview`: the task preview is `POST /api/v1/tasks/preview` with a task body; it answers
  `{preview_id, name, output_schema, count, records}`, records built from that `output_schema`.
- `preview-quota`: task and template previews share one daily quota per caller, renewed at
  00:00 UTC; a counted preview carries `X-Preview-Limit` and `X-Preview-Remaining`, and over the
  quota the answer is 429 `preview_limit_exceeded` (that answer only the contract tests check).
"""

from __future__ import annotations

import importlib

# Names resolve on first use: `python -m titan_gitops.emulator` runs this file before its Ctrl-C
# guard is in place, so it imports nothing the interpreter has not already loaded.
TYPE_CHECKING = False

_LAZY: dict[str, str] = {
    "SERVER_DEFAULTS": "titan_gitops.emulator.backend",
    "Clock": "titan_gitops.emulator.clock",
    "EmulatorApp": "titan_gitops.emulator.app",
    "EmulatorConfig": "titan_gitops.emulator.config",
    "create_app": "titan_gitops.emulator.app",
}

__all__ = ["SERVER_DEFAULTS", "Clock", "EmulatorApp", "EmulatorConfig", "create_app"]

if TYPE_CHECKING:
    from typing import Any

    from titan_gitops.emulator.app import EmulatorApp, create_app
    from titan_gitops.emulator.backend import SERVER_DEFAULTS
    from titan_gitops.emulator.clock import Clock
    from titan_gitops.emulator.config import EmulatorConfig


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'titan_gitops.emulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
