"""Executions of emulated tasks: their lifecycle on the emulator clock, controls and the scheduler.

Nothing runs in the background. An execution stores when it was queued, how long it takes, its
planned outcome and the control actions applied to it; its status is computed from the clock
each time it is read, so a test that moves a fake clock moves every execution with it.

Choices where the docs are silent (also in README.md):
- An execution spends the first QUEUE_SHARE of `execution_seconds` `queued`, the rest `running`,
  then ends `completed` (or the outcome queued with `queue_outcome`, for fault tests). With
  `execution_seconds` 0 it is complete as soon as it exists.
- Pause needs `running`; resume needs `paused`; stop needs `queued`, `running` or `paused` and
  ends as `cancelled`. Any other transition is a 400 naming both states. Time spent paused does
  not count towards the run time.
- A task may have several executions at once; a schedule firing while a run is active starts
  another one.
- Scheduled tasks fire on their cron (UTC) as the clock passes it. Due runs are created when
  executions are read or listed; one catch-up creates at most SCHEDULE_CATCH_UP runs per task
  (the latest ones), each queued at its own fire time.
- The execution keeps a snapshot of the task's `output_schema` and name from when it started,
  so results stay the same after the task changes or is deleted; executions outlive their task.
- `secret_payload` is accepted (a JSON object) and never stored or echoed: the execution only
  says `"secret_payload": true` when one was given.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from titan_gitops.emulator.clock import Clock, format_timestamp, parse_timestamp
from titan_gitops.emulator.cron import CronError, parse_cron
from titan_gitops.emulator.errors import BadRequest, NotFound
from titan_gitops.emulator.records import SchemaNotSupported, generate_records

QUEUE_SHARE = 0.2
RUN_FIELDS = ("secret_payload",)
SCHEDULE_CATCH_UP = 10
# How far back a catch-up looks for fire times: a cron that never matches must not scan forever.
SCHEDULE_LOOKBACK = timedelta(days=366 * 2)
TERMINAL_STATUSES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
RESULT_STATUSES = frozenset({"completed", "completed_with_errors"})
OUTCOMES = ("completed", "completed_with_errors", "failed")
PHASES = {
    "queued": "waiting_for_worker",
    "running": "extracting",
    "paused": "paused",
}

EXECUTIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_order ON executions (created_at, id);
CREATE INDEX IF NOT EXISTS executions_task ON executions (task_id, created_at, id);
CREATE TABLE IF NOT EXISTS schedule_marks (
    task_id TEXT PRIMARY KEY,
    checked_at TEXT NOT NULL
);
"""
EXECUTION_TABLES = ("executions", "schedule_marks")

# A dry run of the record generator at start; the origin only shapes media URLs.
_PROBE_ORIGIN = "http://emulator.invalid"


@dataclass(frozen=True)
class ExecutionView:
    """One execution as stored plus its status computed at `now`."""

    stored: dict[str, Any]
    status: str
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def results_ready(self) -> bool:
        """Whether results can be exported."""
        return self.status in RESULT_STATUSES


class ExecutionRuntime:
    """Executions in the backend's SQLite database, read through the clock.

    `db` and `lock` are the backend's; `find_task` returns a task or raises NotFound;
    `next_stamp` hands out the backend's strictly increasing timestamps.
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        lock: threading.RLock,
        clock: Clock,
        find_task: Callable[[str], dict[str, Any]],
        next_stamp: Callable[[], str],
        execution_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._lock = lock
        self.clock = clock
        self._find_task = find_task
        self._next_stamp = next_stamp
        self.execution_seconds = execution_seconds
        self._outcomes: deque[tuple[str, str | None]] = deque()
        self._db.executescript(EXECUTIONS_SCHEMA)

    # --- starting -------------------------------------------------------------------------

    def queue_outcome(self, status: str, error: str | None = None) -> None:
        """Make the next execution started end as `status` (a fault hook for tests)."""
        if status not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        with self._lock:
            self._outcomes.append((status, error))

    def start_execution(self, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Queue a manual run of the task; `body` may hold only `secret_payload`."""
        unknown = sorted(set(body) - set(RUN_FIELDS))
        if unknown:
            raise BadRequest(f"{unknown[0]}: unknown field (accepted: {', '.join(RUN_FIELDS)})")
        secret = body.get("secret_payload")
        if secret is not None and not isinstance(secret, dict):
            raise BadRequest("secret_payload: must be a JSON object")
        with self._lock:
            task = self._find_task(task_id)
            self.materialise_due_runs()
            # A backend stamp, not the bare clock, so runs started together keep their order.
            queued_at = parse_timestamp(self._next_stamp())
            stored = self._insert(task, queued_at, "manual", secret is not None)
            return self._render(stored, self.clock.now())

    def _insert(
        self, task: dict[str, Any], queued_at: datetime, trigger: str, secret: bool
    ) -> dict[str, Any]:
        execution_id = str(uuid.uuid4())
        outcome, error = self._outcomes.popleft() if self._outcomes else ("completed", None)
        schema = task.get("output_schema")
        record_count = 0
        if outcome != "failed":
            try:
                record_count = len(
                    generate_records(
                        schema, seed=execution_id, media_url=lambda key: f"{_PROBE_ORIGIN}/{key}"
                    )
                )
            except SchemaNotSupported as exc:
                outcome, error = "failed", f"the emulated worker cannot build records: {exc}"
        if outcome == "failed" and error is None:
            error = "the emulated worker failed"
        stamp = format_timestamp(queued_at)
        stored = {
            "id": execution_id,
            "task_id": task["id"],
            "task_name": task.get("name"),
            "trigger": trigger,
            "secret_payload": secret,
            "created_at": stamp,
            "control_at": stamp,
            "duration_seconds": self.execution_seconds,
            "outcome": outcome,
            "error": error,
            "record_count": record_count,
            "output_schema": schema,
            "paused_at": None,
            "paused_seconds": 0.0,
            "cancelled_at": None,
        }
        self._db.execute(
            "INSERT INTO executions (id, task_id, created_at, body) VALUES (?, ?, ?, ?)",
            (execution_id, task["id"], stamp, json.dumps(stored)),
        )
        return stored

    # --- reading --------------------------------------------------------------------------

    def get_execution(self, execution_id: str) -> dict[str, Any]:
        """The execution with its current status; NotFound when there is none."""
        return self._render_view(self.view_execution(execution_id))

    def view_execution(self, execution_id: str) -> ExecutionView:
        """The stored execution and its state now; NotFound when there is none."""
        with self._lock:
            self.materialise_due_runs()
            return self._view(self._load(execution_id), self.clock.now())

    def list_executions(
        self,
        limit: int,
        offset: int,
        *,
        task_id: str | None = None,
        status: str | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of executions (oldest first), optionally of one task or in one status."""
        with self._lock:
            self.materialise_due_runs()
            now = self.clock.now()
            views = [self._view(stored, now) for stored in self._load_all(task_id)]
        if status is not None:
            views = [view for view in views if view.status == status]
        page = views[offset : offset + limit]
        return [self._render_view(view) for view in page], len(views)

    def list_views(self, task_id: str | None = None) -> list[ExecutionView]:
        """Every execution (of one task) with its state now, oldest first."""
        with self._lock:
            self.materialise_due_runs()
            now = self.clock.now()
            return [self._view(stored, now) for stored in self._load_all(task_id)]

    def _load(self, execution_id: str) -> dict[str, Any]:
        row = self._db.execute(
            "SELECT body FROM executions WHERE id = ?", (canonical_id(execution_id),)
        ).fetchone()
        if row is None:
            raise NotFound(f"execution {execution_id!r} not found")
        stored: dict[str, Any] = json.loads(row[0])
        return stored

    def _load_all(self, task_id: str | None) -> list[dict[str, Any]]:
        if task_id is None:
            rows = self._db.execute(
                "SELECT body FROM executions ORDER BY created_at, id"
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT body FROM executions WHERE task_id = ? ORDER BY created_at, id",
                (canonical_id(task_id),),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def has_execution(self, execution_id: str) -> bool:
        """Whether an execution with this id exists (no scheduler catch-up)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM executions WHERE id = ?", (canonical_id(execution_id),)
            ).fetchone()
        return row is not None

    # --- controls -------------------------------------------------------------------------

    def control_execution(self, execution_id: str, action: str) -> dict[str, Any]:
        """Apply `pause`, `resume` or `stop`; a 400 naming the states when it does not fit."""
        needs = {
            "pause": ("running",),
            "resume": ("paused",),
            "stop": ("queued", "running", "paused"),
        }[action]
        with self._lock:
            self.materialise_due_runs()
            now = self.clock.now()
            stored = self._load(execution_id)
            status = self._view(stored, now).status
            if status not in needs:
                raise BadRequest(
                    f"cannot {action} an execution that is {status} "
                    f"({action} needs {' or '.join(needs)})"
                )
            stamp = format_timestamp(now)
            if action == "pause":
                stored["paused_at"] = stamp
            elif action == "resume":
                paused = now - parse_timestamp(stored["paused_at"])
                stored["paused_seconds"] += paused.total_seconds()
                stored["paused_at"] = None
            else:
                stored["cancelled_at"] = stamp
            stored["control_at"] = self._next_stamp()
            self._db.execute(
                "UPDATE executions SET body = ? WHERE id = ?", (json.dumps(stored), stored["id"])
            )
            return self._render(stored, now)

    # --- state ----------------------------------------------------------------------------

    def _view(self, stored: dict[str, Any], now: datetime) -> ExecutionView:
        queued_at = parse_timestamp(stored["created_at"])
        # A stamp can be a microsecond ahead of a frozen clock; nothing is seen before it began.
        now = max(now, queued_at)
        duration = timedelta(seconds=float(stored["duration_seconds"]))
        queue_time = duration * QUEUE_SHARE
        started = queued_at + queue_time
        paused = timedelta(seconds=float(stored["paused_seconds"]))
        if stored["cancelled_at"] is not None:
            cancelled = parse_timestamp(stored["cancelled_at"])
            began = started if started <= cancelled else None
            return ExecutionView(stored, "cancelled", began, cancelled)
        if stored["paused_at"] is not None:
            return ExecutionView(stored, "paused", started, None)
        if now < started:
            return ExecutionView(stored, "queued", None, None)
        finished = queued_at + duration + paused
        if now < finished:
            return ExecutionView(stored, "running", started, None)
        return ExecutionView(stored, str(stored["outcome"]), started, finished)

    def _render(self, stored: dict[str, Any], now: datetime) -> dict[str, Any]:
        return self._render_view(self._view(stored, now))

    def _render_view(self, view: ExecutionView) -> dict[str, Any]:
        stored = view.stored
        moments = [stored["created_at"], stored["control_at"]]
        moments += [format_timestamp(m) for m in (view.started_at, view.finished_at) if m]
        return {
            "id": stored["id"],
            "task_id": stored["task_id"],
            "task_name": stored["task_name"],
            "status": view.status,
            "phase": PHASES.get(view.status, "finished"),
            "trigger": stored["trigger"],
            "results_ready": view.results_ready,
            "record_count": stored["record_count"] if view.results_ready else 0,
            "error": stored["error"] if view.status == "failed" else None,
            "secret_payload": stored["secret_payload"],
            "created_at": stored["created_at"],
            "queued_at": stored["created_at"],
            "started_at": format_timestamp(view.started_at) if view.started_at else None,
            "paused_at": stored["paused_at"],
            "finished_at": format_timestamp(view.finished_at) if view.finished_at else None,
            "updated_at": max(moments),
        }

    # --- scheduler ------------------------------------------------------------------------

    def materialise_due_runs(self) -> int:
        """Create the runs scheduled tasks owe since the last check; how many were created."""
        with self._lock:
            now = self.clock.now()
            rows = self._db.execute(
                "SELECT t.body, m.checked_at FROM tasks AS t "
                "LEFT JOIN schedule_marks AS m ON m.task_id = t.id "
                "WHERE json_extract(t.body, '$.execution_type') = 'scheduled'"
            ).fetchall()
            created = 0
            for body, checked_at in rows:
                task = json.loads(body)
                # A task without a mark (written before marks existed) counts from its creation.
                since = parse_timestamp(checked_at or task["created_at"])
                if since >= now:
                    continue
                for fire in list_fire_times(str(task.get("schedule", "")), since, now):
                    self._insert(task, fire, "schedule", False)
                    created += 1
                self._db.execute(
                    "INSERT INTO schedule_marks (task_id, checked_at) VALUES (?, ?) "
                    "ON CONFLICT (task_id) DO UPDATE SET checked_at = excluded.checked_at",
                    (task["id"], format_timestamp(now)),
                )
            return created

    def track_schedule(self, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        """Start counting a task's schedule from the write that made it scheduled."""
        was = before is not None and before.get("execution_type") == "scheduled"
        if after.get("execution_type") != "scheduled":
            self.forget_task(str(after["id"]))
        elif not was:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO schedule_marks (task_id, checked_at) VALUES (?, ?)",
                    (after["id"], after["updated_at"]),
                )

    def forget_outcomes(self) -> None:
        """Drop outcomes queued with `queue_outcome` (on reset)."""
        with self._lock:
            self._outcomes.clear()

    def forget_task(self, task_id: str) -> None:
        """Drop a deleted task's schedule mark (its executions stay as history)."""
        with self._lock:
            self._db.execute(
                "DELETE FROM schedule_marks WHERE task_id = ?", (canonical_id(task_id),)
            )


def list_fire_times(
    expression: str, after: datetime, until: datetime, limit: int = SCHEDULE_CATCH_UP
) -> list[datetime]:
    """The latest `limit` minutes in (after, until] that match the cron, oldest first.

    Day-of-month and day-of-week combine as in Vixie cron: when both are restricted a day
    matching either fires. A bad expression fires never (validation refuses it on write).
    """
    try:
        minutes, hours, days, months, raw_weekdays = parse_cron(expression)
    except CronError:
        return []
    weekdays = frozenset(day % 7 for day in raw_weekdays)
    any_day = len(days) == 31
    any_weekday = len(weekdays) == 7
    found: list[datetime] = []
    day = until.replace(hour=0, minute=0, second=0, microsecond=0)
    earliest = max(after, until - SCHEDULE_LOOKBACK)
    while day + timedelta(days=1) > earliest:
        if day.month in months and _day_matches(day, days, weekdays, any_day, any_weekday):
            for hour in sorted(hours, reverse=True):
                for minute in sorted(minutes, reverse=True):
                    moment = day.replace(hour=hour, minute=minute)
                    if moment > until:
                        continue
                    if moment <= earliest:
                        return sorted(found)
                    found.append(moment)
                    if len(found) == limit:
                        return sorted(found)
        day -= timedelta(days=1)
    return sorted(found)


def _day_matches(
    day: datetime,
    days: frozenset[int],
    weekdays: frozenset[int],
    any_day: bool,
    any_weekday: bool,
) -> bool:
    # Python counts Monday as 0; cron counts Sunday as 0.
    weekday = (day.weekday() + 1) % 7
    by_date = day.day in days
    by_weekday = weekday in weekdays
    if any_day and any_weekday:
        return True
    if any_day:
        return by_weekday
    if any_weekday:
        return by_date
    return by_date or by_weekday


def canonical_id(value: str) -> str:
    """The stored spelling of a UUID id; a malformed one maps to one that matches nothing."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""
