"""Previews: the task and template preview routes, and the daily preview quota they share.

Choices where the docs are silent (the docs name "task preview endpoints" and a daily quota
answered with `preview_limit_exceeded`, but neither the path nor the shape):
- The task preview is `POST /api/v1/tasks/preview`; its body is a task body, checked exactly as a
  create (400 naming the field). It answers `{preview_id, name, output_schema, count, records}`:
  PREVIEW_RECORDS records built from the body's `output_schema` by the generator executions use,
  seeded by the body (equal bodies give equal records). A media field points at
  `https://preview.titan-emulator.invalid/media/<preview_id>/<key>`: a preview stores nothing.
- Both previews need `tasks:write` and count against one quota per caller (its token, or its
  address without one) per UTC day, on the emulator's clock; the count starts again at 00:00 UTC.
  `EmulatorConfig.preview_quota` (`serve --preview-quota N`) sets it: 50 a day by default
  (config.DEFAULT_PREVIEW_QUOTA), 0 refuses every preview, None turns the quota off.
- Only a preview that is answered counts: a body refused with 400 or an unknown template (404)
  spends nothing, and the quota is checked after the body.
- A counted preview carries `X-Preview-Limit` and `X-Preview-Remaining`. Over the quota the answer
  is 429 with `{"success": false, "error": {"code": "preview_limit_exceeded", "message", "limit",
  "used", "reset_at"}}` (the code in lower case, as the docs spell it; `reset_at` the next 00:00
  UTC), with `X-Preview-Limit`, `X-Preview-Remaining: 0`, `X-Preview-Reset` (epoch seconds) and
  `Retry-After` (seconds until the reset). It carries no `X-RateLimit-Reset`: it is not the
  per-minute budget, and waiting a minute does not help.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from titan_gitops.emulator.backend import PREVIEW_RECORDS, TitanBackend
from titan_gitops.emulator.clock import Clock, format_timestamp
from titan_gitops.emulator.errors import BadRequest
from titan_gitops.emulator.records import SchemaNotSupported, generate_records
from titan_gitops.emulator.routes import Reply, Request, RouteTable
from titan_gitops.emulator.rules import check_task, strip_task_body

QUOTA_CODE = "preview_limit_exceeded"
PREVIEW_MEDIA_ORIGIN = "https://preview.titan-emulator.invalid"
_WRITE_TASKS = "tasks:write"
# Forget callers of past days once this many are tracked, so memory stays bounded.
_PRUNE_AT = 10_000


class PreviewQuota:
    """How many previews each caller has had today (UTC, on the emulator's clock)."""

    def __init__(self, per_day: int | None, clock: Clock) -> None:
        self.per_day = per_day
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[str, tuple[str, int]] = {}

    def take(self, caller: str) -> dict[str, str] | Reply:
        """Count one preview of `caller`: its headers, or the 429 reply when the day's are spent."""
        if self.per_day is None:
            return {}
        now = self._clock.now()
        today = now.date().isoformat()
        with self._lock:
            day, used = self._used.get(caller, (today, 0))
            if day != today:
                used = 0
            if used >= self.per_day:
                return self._refusal(now, used)
            if len(self._used) >= _PRUNE_AT:
                self._used = {k: v for k, v in self._used.items() if v[0] == today}
            self._used[caller] = (today, used + 1)
        return {
            "X-Preview-Limit": str(self.per_day),
            "X-Preview-Remaining": str(self.per_day - used - 1),
        }

    def reset(self) -> None:
        """Forget every count (the admin reset)."""
        with self._lock:
            self._used.clear()

    def _refusal(self, now: datetime, used: int) -> Reply:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        reset = start + timedelta(days=1)
        reset_at = reset.strftime("%Y-%m-%dT%H:%M:%SZ")
        limit = self.per_day or 0
        error = {
            "code": QUOTA_CODE,
            "message": f"the daily preview quota of {limit} is used up; it resets at {reset_at}",
            "limit": limit,
            "used": used,
            "reset_at": reset_at,
        }
        headers = {
            "X-Preview-Limit": str(limit),
            "X-Preview-Remaining": "0",
            "X-Preview-Reset": str(int(reset.timestamp())),
            "Retry-After": str(max(1, int((reset - now).total_seconds()))),
        }
        return Reply(error, status=429, headers=headers)


def build_task_preview(backend: TitanBackend, body: dict[str, Any]) -> dict[str, Any]:
    """What a task with `body` would produce: checked like a create, records from its schema."""
    user = strip_task_body(body)
    problems = check_task(user, backend.templates)
    if problems:
        raise BadRequest("; ".join(problems))
    digest = hashlib.sha256(json.dumps(user, sort_keys=True).encode()).hexdigest()
    preview_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"titan-emulator:task-preview:{digest}"))

    def media_url(key: str) -> str:
        return f"{PREVIEW_MEDIA_ORIGIN}/media/{preview_id}/{key}"

    schema = user.get("output_schema")
    try:
        records = generate_records(
            schema, seed=f"preview:{digest}", count=PREVIEW_RECORDS, media_url=media_url
        )
    except SchemaNotSupported as exc:
        raise BadRequest(f"output_schema: {exc}") from None
    return {
        "preview_id": preview_id,
        "name": user.get("name"),
        "output_schema": schema,
        "count": len(records),
        "records": records,
        "generated_at": format_timestamp(backend.clock.now()),
    }


def register_preview_routes(table: RouteTable, backend: TitanBackend, quota: PreviewQuota) -> None:
    """Add the task and template previews, both under `quota`, to `table`."""

    def answer(request: Request, data: dict[str, Any]) -> Reply:
        taken = quota.take(request.caller)
        if isinstance(taken, Reply):
            return taken
        return Reply(data, headers=taken)

    def preview_task(request: Request) -> Reply:
        return answer(request, build_task_preview(backend, request.json_object(required=True)))

    def preview_template(request: Request) -> Reply:
        ref = request.params["ref"]
        backend.get_template(ref)
        return answer(request, backend.preview_template(ref, request.json_object(required=False)))

    table.add("POST", "/api/v1/tasks/preview", preview_task, scope=_WRITE_TASKS)
    table.add("POST", "/api/v1/templates/{ref}/preview", preview_template, scope=_WRITE_TASKS)
