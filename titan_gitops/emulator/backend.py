"""The emulator's state and rules: tasks in SQLite, templates from the catalog, task timestamps.

Choices where the docs are silent (also in README.md):
- SERVER_DEFAULTS is empty: the server fills no user field. A task echoes exactly the user
  fields it was given (nulls dropped) plus `id` (UUID4), `status` ("active"), `created_at` and
  `updated_at`. Template defaults are not merged into the task.
- Timestamps are RFC 3339 UTC with microseconds and `Z`. Every stamp the backend hands out is
  strictly later than the one before (a microsecond is added when the clock has not moved), also
  across restarts on one database file.
- PATCH merges top-level keys (null removes a key) and validates the merged task; PUT replaces
  every user field. Both bump `updated_at`; server fields in the body are ignored.
- DELETE is a hard delete: the row is gone and later reads are 404 (no `deleted` status).
- Lists are ordered by `created_at`, then `id`; `limit` defaults to 20 and is clamped to 100.
  Other list filters (status, search, ...) are not emulated.
- A task id that is not a UUID is simply not found (404), not a 400.
- Executions, results and the scheduler live in executions.py and results.py, in this database;
  `reset()` empties tasks and executions and keeps the templates.
- Template preview returns a deterministic sample (see `preview_template`); the task preview and
  the daily preview quota both previews count against are in previews.py.

State is one SQLite connection guarded by a lock, because the socket server is threaded.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from titan_gitops.emulator.clock import Clock, format_timestamp, parse_timestamp
from titan_gitops.emulator.errors import BadRequest, NotFound
from titan_gitops.emulator.executions import EXECUTION_TABLES, ExecutionRuntime
from titan_gitops.emulator.results import ResultStore
from titan_gitops.emulator.rules import SERVER_FIELDS, check_task, check_urls, strip_task_body
from titan_gitops.emulator.templates import TemplateCatalog

# Values the server fills in when a client leaves a field out. Deliberately none: the planner
# compares desired and live field by field and must know this list (it is empty).
SERVER_DEFAULTS: dict[str, Any] = {}
TASK_STATUS_ON_CREATE = "active"
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
PREVIEW_RECORDS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_order ON tasks (created_at, id);
"""


class TitanBackend:
    """Tasks, templates, executions (`executions`) and results (`results`) of one emulator.

    Every public method is safe to call from threads.
    """

    def __init__(
        self,
        db_path: str | Path,
        templates: TemplateCatalog,
        clock: Clock,
        *,
        execution_seconds: float = 1.0,
    ) -> None:
        self.templates = templates
        self.clock = clock
        self._lock = threading.RLock()
        target = str(db_path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT MAX(updated_at), MAX(created_at) FROM tasks").fetchone()
        stamps = [parse_timestamp(value) for value in row if value is not None]
        self._last_stamp: datetime | None = max(stamps) if stamps else None
        self.executions = ExecutionRuntime(
            self._db,
            self._lock,
            clock,
            find_task=self.get_task,
            next_stamp=self._next_stamp,
            execution_seconds=execution_seconds,
        )
        self.results = ResultStore(self._db, self._lock, self.executions)

    def reset(self) -> None:
        """Delete every task, execution and result; templates stay as seeded."""
        with self._lock:
            for table in ("tasks", *EXECUTION_TABLES):
                self._db.execute(f"DELETE FROM {table}")
            self.executions.forget_outcomes()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    # --- tasks -----------------------------------------------------------------------------

    def create_task(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate `body` and store it as a new active task."""
        user = self._validated(body)
        with self._lock:
            stamp = self._next_stamp()
            task = {
                **SERVER_DEFAULTS,
                **user,
                "id": str(uuid.uuid4()),
                "status": TASK_STATUS_ON_CREATE,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._db.execute(
                "INSERT INTO tasks (id, created_at, updated_at, body) VALUES (?, ?, ?, ?)",
                (task["id"], stamp, stamp, json.dumps(task)),
            )
            self.executions.track_schedule(None, task)
        return task

    def get_task(self, task_id: str) -> dict[str, Any]:
        """The task with `task_id`; NotFound when there is none."""
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM tasks WHERE id = ?", (_canonical_id(task_id),)
            ).fetchone()
        if row is None:
            raise NotFound(f"task {task_id!r} not found")
        task: dict[str, Any] = json.loads(row[0])
        return task

    def list_tasks(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of tasks in creation order, and the total count."""
        with self._lock:
            total = self._db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
            rows = self._db.execute(
                "SELECT body FROM tasks ORDER BY created_at, id LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [json.loads(row[0]) for row in rows], int(total)

    def update_task(self, task_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """PATCH: merge top-level keys into the task (null removes one), then validate."""
        with self._lock:
            current = self.get_task(task_id)
            merged = {key: value for key, value in current.items() if key not in SERVER_FIELDS}
            for key, value in changes.items():
                if key in SERVER_FIELDS:
                    continue
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            return self._store_update(current, merged)

    def replace_task(self, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT: replace every user field of the task with `body`, then validate."""
        with self._lock:
            current = self.get_task(task_id)
            return self._store_update(current, body)

    def delete_task(self, task_id: str) -> dict[str, Any]:
        """Remove the task for good; NotFound when there is none."""
        with self._lock:
            # Runs a schedule owed before the delete still happened (executions outlive tasks).
            self.executions.materialise_due_runs()
            cursor = self._db.execute("DELETE FROM tasks WHERE id = ?", (_canonical_id(task_id),))
        if cursor.rowcount == 0:
            raise NotFound(f"task {task_id!r} not found")
        self.executions.forget_task(task_id)
        return {"id": _canonical_id(task_id), "deleted": True}

    def _store_update(self, current: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        user = self._validated(body)
        # Runs the old schedule owed up to now are created before the schedule can change.
        self.executions.materialise_due_runs()
        stamp = self._next_stamp()
        task = {
            **SERVER_DEFAULTS,
            **user,
            "id": current["id"],
            "status": current["status"],
            "created_at": current["created_at"],
            "updated_at": stamp,
        }
        self._db.execute(
            "UPDATE tasks SET updated_at = ?, body = ? WHERE id = ?",
            (stamp, json.dumps(task), task["id"]),
        )
        self.executions.track_schedule(current, task)
        return task

    def _validated(self, body: dict[str, Any]) -> dict[str, Any]:
        user = strip_task_body(body)
        problems = check_task(user, self.templates)
        if problems:
            raise BadRequest("; ".join(problems))
        return user

    def _next_stamp(self) -> str:
        with self._lock:
            moment = self.clock.now()
            if self._last_stamp is not None and moment <= self._last_stamp:
                moment = self._last_stamp + timedelta(microseconds=1)
            self._last_stamp = moment
            return format_timestamp(moment)

    # --- templates -------------------------------------------------------------------------

    def list_templates(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """One page of templates ordered by slug, and the total count."""
        every = self.templates.list_all()
        return [dict(t) for t in every[offset : offset + limit]], len(every)

    def get_template(self, ref: str) -> dict[str, Any]:
        """The template whose id or slug is `ref`; NotFound when there is none."""
        template = self.templates.find(ref)
        if template is None:
            raise NotFound(f"template {ref!r} not found")
        return dict(template)

    def preview_template(self, ref: str, body: dict[str, Any]) -> dict[str, Any]:
        """A small deterministic preview of what the template would produce.

        The answer holds the template's id and slug, its action_type, the effective payload
        (template defaults overlaid by the body's `payload`), the template's limits, the urls
        used, a `preview_id` (uuid5 of all that, so equal input gives an equal id) and
        PREVIEW_RECORDS sample `records` of {"position", "url", "title"}.
        """
        template = self.get_template(ref)
        unknown = sorted(set(body) - {"payload", "urls"})
        if unknown:
            raise BadRequest(f"{unknown[0]}: unknown field (preview takes payload and urls)")
        payload = body.get("payload") or {}
        if not isinstance(payload, dict):
            raise BadRequest("payload: must be a JSON object")
        urls = body.get("urls") or []
        problems: list[str] = []
        if urls:
            check_urls(urls, "urls", problems)
        elif not isinstance(urls, list):
            problems.append("urls: must be a list of http(s) URLs")
        if problems:
            raise BadRequest("; ".join(problems))
        effective = {**template["payload"], **payload}
        seed = json.dumps(
            {"template": template["id"], "payload": effective, "urls": urls}, sort_keys=True
        )
        digest = hashlib.sha256(seed.encode()).hexdigest()
        bases = urls or [f"https://preview.titan-emulator.invalid/{template['slug']}"]
        records = [
            {
                "position": number,
                "url": f"{bases[(number - 1) % len(bases)]}#preview-{digest[:8]}-{number}",
                "title": f"{template['name']} preview result {number}",
            }
            for number in range(1, PREVIEW_RECORDS + 1)
        ]
        return {
            "preview_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"titan-emulator:preview:{digest}")),
            "template_id": template["id"],
            "template_slug": template["slug"],
            "action_type": template["action_type"],
            "payload": effective,
            "limits": template["limits"],
            "urls": urls,
            "records": records,
        }


def _canonical_id(task_id: str) -> str:
    """The stored spelling of a task id; a malformed id maps to one that matches nothing."""
    try:
        return str(uuid.UUID(task_id))
    except ValueError:
        return ""
