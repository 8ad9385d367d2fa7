"""TitanClient: the one place that speaks to the Titan Task Service (tasks, templates, executions,
results, datasets, media). Sync and safe to share between threads.

Choices where the API docs are silent:
- The base URL is an origin; one that already ends in `/api/v1` is refused with a ConfigError that
  names the origin to use instead (the same rule as TITAN_API_URL), rather than silently edited.
- Redirects are never followed, not even same-origin ones: a 3xx is a ReadLimitExceeded naming
  where it pointed (the bearer token must never travel to another origin, and a service that
  moved should be named by its new origin in TITAN_API_URL).
- Reads are bounded (settings.ReadLimits): pages and items per listing, bytes per answer as sent
  and decompressed, seconds per request and per client (the command's deadline).
- Media links on another origin than the API are fetched without the API token: the link's own
  `?token=` authorises it, and the API credential must not travel to another host.
- Listing rules live in listing.py.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from titan_gitops import __version__
from titan_gitops._http import HttpSession, Transport
from titan_gitops.client.calls import MAX_PAGE_SIZE, ApiCalls
from titan_gitops.client.engine import RequestEngine, RetryPolicy
from titan_gitops.client.listing import Listing
from titan_gitops.client.media import fetch_media_item
from titan_gitops.client.records import (
    DatasetRecord,
    ExecutionRecord,
    MediaRecord,
    Page,
    TaskRecord,
    TemplateRecord,
)
from titan_gitops.errors import ConfigError, TitanGitopsError
from titan_gitops.secrets import SecretSet
from titan_gitops.settings import ReadLimits, normalise_api_url

API_PREFIX = "/api/v1"
TERMINAL_STATUSES = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
EXPORT_FORMATS = ("json", "csv")
TASK_PREVIEW_PATH = f"{API_PREFIX}/tasks/preview"


class ExecutionTimeout(TitanGitopsError):
    """An execution did not reach a terminal status before the wait ran out."""

    def __init__(self, execution_id: str, last_status: str | None, waited: float) -> None:
        self.execution_id = execution_id
        self.last_status = last_status
        self.waited = waited
        super().__init__(
            f"execution {execution_id} was still {last_status or 'in an unknown state'} after "
            f"{waited:.0f}s; it keeps running on the service (wait again, or stop it)"
        )


def _segment(value: str) -> str:
    """One path segment, escaped so an id cannot reach another route."""
    if not value:
        raise ConfigError("an empty id was given")
    return quote(value, safe="")


def _auth_headers(token: str | None, auth_header: str) -> dict[str, str]:
    if auth_header not in ("bearer", "x-api-key"):
        raise ConfigError(f"auth_header must be 'bearer' or 'x-api-key', got {auth_header!r}")
    if not token:
        return {}
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in token):
        raise ConfigError("the token holds characters that cannot be sent in an HTTP header")
    if auth_header == "bearer":
        return {"Authorization": f"Bearer {token}"}
    return {"X-API-Key": token}


class TitanClient:
    """Tasks, templates, executions and results over the Task Service API.

    Every method raises a titan_gitops.errors.ApiError subclass on failure (see engine.py for the
    retry rules); no HTTP library exception escapes.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: Transport | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        auth_header: str = "bearer",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        user_agent: str = f"titan-gitops/{__version__}",
        proxy: str | None = None,
        rand: Callable[[], float] = random.random,
        secrets: SecretSet | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        origin = normalise_api_url(base_url)
        if timeout <= 0 or max_retries < 0 or backoff_base < 0 or backoff_cap < 0:
            raise ConfigError("timeout must be positive and the retry settings not negative")
        headers = _auth_headers(token, auth_header)
        self._origin = origin
        self._timeout = timeout
        self._auth_mode = auth_header
        self._has_token = bool(token)
        self._clock = clock
        self._sleep = sleep
        self._engine = RequestEngine(
            HttpSession(
                origin, transport=transport, timeout=timeout, user_agent=user_agent, proxy=proxy
            ),
            auth_headers=headers,
            policy=RetryPolicy(max_retries, backoff_base, backoff_cap),
            sleep=sleep,
            clock=clock,
            rand=rand,
            secrets=(secrets or SecretSet()).with_values([token]),
            origin=origin,
            limits=limits,
        )
        self._calls = ApiCalls(self._engine)

    def __repr__(self) -> str:
        token = "'***'" if self._has_token else "None"
        return f"TitanClient(base_url={self._origin!r}, auth={self._auth_mode!r}, token={token})"

    def __enter__(self) -> TitanClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the pooled connections."""
        self._engine.close()

    @property
    def base_url(self) -> str:
        """The API origin (without /api/v1)."""
        return self._origin

    @property
    def timeout(self) -> float:
        """Seconds one request may take before its outcome counts as unknown."""
        return self._timeout

    @property
    def request_count(self) -> int:
        """Requests actually sent, retries included."""
        return self._engine.request_count

    @property
    def retry_count(self) -> int:
        """Retries made so far (429, 5xx, connection failures)."""
        return self._engine.retry_count

    # -- tasks ---------------------------------------------------------------------------------

    def list_tasks_page(self, limit: int = MAX_PAGE_SIZE, offset: int = 0) -> Page[TaskRecord]:
        """One page of tasks."""
        return self._calls.get_page(f"{API_PREFIX}/tasks", TaskRecord, limit, offset)

    def list_tasks(self, page_size: int = MAX_PAGE_SIZE) -> list[TaskRecord]:
        """Every task, following limit/offset to the end."""
        return self._calls.list_all(f"{API_PREFIX}/tasks", TaskRecord, page_size=page_size)

    def read_task_listing(
        self, *, page_size: int = MAX_PAGE_SIZE, parallelism: int = 1
    ) -> Listing[TaskRecord]:
        """One read of every task, later pages `parallelism` at a time, never read again: the
        caller sees any sign that the listing moved in `problem` and decides what to do."""
        path = f"{API_PREFIX}/tasks"
        return self._calls.read_listing(
            path, TaskRecord, page_size=page_size, parallelism=parallelism
        )

    def get_task(self, task_id: str) -> TaskRecord:
        """One task by id."""
        path = f"{API_PREFIX}/tasks/{_segment(task_id)}"
        return self._calls.fetch_record(TaskRecord, "GET", path)

    def create_task(self, body: Mapping[str, Any]) -> TaskRecord:
        """Create a task; raises OutcomeUnknown when it may or may not exist now."""
        path = f"{API_PREFIX}/tasks"
        return self._calls.fetch_record(TaskRecord, "POST", path, json_body=dict(body))

    def update_task(
        self, task_id: str, body: Mapping[str, Any], *, replace: bool = False
    ) -> TaskRecord:
        """Merge `body` into a task (PATCH), or replace the task with it (PUT)."""
        method = "PUT" if replace else "PATCH"
        path = f"{API_PREFIX}/tasks/{_segment(task_id)}"
        return self._calls.fetch_record(TaskRecord, method, path, json_body=dict(body))

    def delete_task(self, task_id: str) -> None:
        """Delete a task (a 404 after a lost first answer counts as done)."""
        path = f"{API_PREFIX}/tasks/{_segment(task_id)}"
        response = self._engine.send("DELETE", path)
        if response.content.strip():
            self._calls.unwrap(response, "DELETE", path, require_data=False)

    # -- templates -----------------------------------------------------------------------------

    def list_templates(self, page_size: int = MAX_PAGE_SIZE) -> list[TemplateRecord]:
        """Every template the service offers."""
        return self._calls.list_all(f"{API_PREFIX}/templates", TemplateRecord, page_size=page_size)

    def get_template(self, id_or_slug: str) -> TemplateRecord:
        """One template by id or slug."""
        path = f"{API_PREFIX}/templates/{_segment(id_or_slug)}"
        return self._calls.fetch_record(TemplateRecord, "GET", path)

    def preview_template(
        self, id_or_slug: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What a template would produce with `body`; counts against the daily preview quota
        (PreviewQuotaExceeded, never retried, once it is spent)."""
        path = f"{API_PREFIX}/templates/{_segment(id_or_slug)}/preview"
        data = self._calls.call("POST", path, json_body=dict(body or {}))
        return self._calls.require_object(data, "POST", path)

    def preview_task(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A sample of what a task with `body` would produce, nothing stored; counts against the
        daily preview quota (PreviewQuotaExceeded, never retried, once it is spent).

        The docs name "task preview endpoints" but not their path: this is the emulator's
        `POST /api/v1/tasks/preview` (TASK_PREVIEW_PATH)."""
        data = self._calls.call("POST", TASK_PREVIEW_PATH, json_body=dict(body))
        return self._calls.require_object(data, "POST", TASK_PREVIEW_PATH)

    # -- executions ----------------------------------------------------------------------------

    def run_task(
        self, task_id: str, secret_payload: Mapping[str, Any] | None = None
    ) -> ExecutionRecord:
        """Start an execution; `secret_payload` is sent once and never logged or echoed."""
        path = f"{API_PREFIX}/tasks/{_segment(task_id)}/run"
        body: dict[str, Any] = {}
        secrets: tuple[str, ...] = ()
        if secret_payload is not None:
            body["secret_payload"] = dict(secret_payload)
            secrets = tuple(_strings_in(secret_payload))
        return self._calls.fetch_record(
            ExecutionRecord, "POST", path, json_body=body, extra_secrets=secrets
        )

    def list_task_executions(self, task_id: str) -> list[ExecutionRecord]:
        """Every execution of one task."""
        path = f"{API_PREFIX}/tasks/{_segment(task_id)}/executions"
        return self._calls.list_all(path, ExecutionRecord)

    def list_executions(self, **filters: str | int) -> list[ExecutionRecord]:
        """Every execution, narrowed by query filters the service understands (e.g. task_id)."""
        params = {k: str(v) for k, v in filters.items()}
        return self._calls.list_all(f"{API_PREFIX}/executions", ExecutionRecord, params=params)

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        """One execution by id."""
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}"
        return self._calls.fetch_record(ExecutionRecord, "GET", path)

    def pause_execution(self, execution_id: str) -> ExecutionRecord:
        """Pause a running execution."""
        return self._control(execution_id, "pause")

    def resume_execution(self, execution_id: str) -> ExecutionRecord:
        """Resume a paused execution."""
        return self._control(execution_id, "resume")

    def stop_execution(self, execution_id: str) -> ExecutionRecord:
        """Stop an execution (it ends as cancelled)."""
        return self._control(execution_id, "stop")

    def wait_for_execution(
        self,
        execution_id: str,
        *,
        timeout: float = 600.0,
        interval: float = 3.0,
        on_poll: Callable[[ExecutionRecord], None] | None = None,
    ) -> ExecutionRecord:
        """Poll until the execution reaches a terminal status; the pause between polls grows
        from `interval` by half each time, up to max(interval, 15 s).

        Raises:
            ExecutionTimeout: still not terminal after `timeout` seconds.
        """
        started = self._clock()
        pause = max(interval, 0.0)
        longest = max(interval, 15.0)
        while True:
            record = self.get_execution(execution_id)
            if on_poll is not None:
                on_poll(record)
            if record.status in TERMINAL_STATUSES:
                return record
            waited = self._clock() - started
            left = timeout - waited
            if left <= 0:
                raise ExecutionTimeout(execution_id, record.status, waited)
            self._sleep(min(pause, left))
            pause = min(longest, pause * 1.5 if pause > 0 else interval)

    # -- results, datasets, media --------------------------------------------------------------

    def get_results(self, execution_id: str) -> dict[str, Any]:
        """Result metadata of an execution (does output exist, its format and timing)."""
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}/results"
        return self._calls.require_object(self._calls.call("GET", path), "GET", path)

    def export_results(
        self,
        execution_id: str,
        *,
        fmt: Literal["json", "csv"] | str = "json",
        dest: Path | None = None,
    ) -> bytes | Path:
        """The exported results (JSON or CSV) as bytes, or streamed to `dest` (returned)."""
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(f"export format must be one of {', '.join(EXPORT_FORMATS)}")
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}/results/export"
        return self._calls.download(path, dest, params={"format": fmt})

    def download_results_csv(self, execution_id: str, dest: Path | None = None) -> bytes | Path:
        """The flat-file CSV download as bytes, or streamed to `dest` (returned)."""
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}/results/download"
        return self._calls.download(path, dest)

    def list_execution_datasets(self, execution_id: str) -> list[DatasetRecord]:
        """Dataset metadata of one execution."""
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}/datasets"
        return self._calls.list_all(path, DatasetRecord)

    def list_task_datasets(self, task_id: str) -> list[DatasetRecord]:
        """Datasets of a task across all its executions."""
        path = f"{API_PREFIX}/tasks/{_segment(task_id)}/datasets"
        return self._calls.list_all(path, DatasetRecord)

    def list_execution_media(self, execution_id: str) -> list[MediaRecord]:
        """Every media file of one execution (id, size, checksum, download link), paged."""
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}/media"
        return self._calls.list_all(path, MediaRecord)

    def download_media_item(self, item: MediaRecord, dest: Path) -> Path:
        """Stream one listed media file to `dest`, verified against its size and checksum, and
        written whole or not at all (see media.py)."""
        return fetch_media_item(self._engine, self._origin, item, Path(dest))

    def download_media(self, url_or_path: str, dest: Path) -> Path:
        """Stream a media file (a Titan media URL, or a `/media/...` path) to `dest`."""
        parts = urlsplit(url_or_path)
        if parts.scheme and parts.scheme not in ("http", "https"):
            raise ConfigError("a media link must be an http(s) URL or a /media/... path")
        if not parts.path.startswith("/"):
            raise ConfigError("a media link must be an http(s) URL or a /media/... path")
        same_origin = not parts.netloc or _origin_of(url_or_path) == _origin_of(self._origin)
        secrets = tuple(v for k, v in _query_pairs(parts.query))
        result = self._calls.download(
            parts.path,
            dest,
            url=url_or_path,
            with_auth=same_origin,
            sniff_envelope=False,
            extra_secrets=secrets,
        )
        assert isinstance(result, Path)
        return result

    # -- internals -----------------------------------------------------------------------------

    def _control(self, execution_id: str, action: str) -> ExecutionRecord:
        path = f"{API_PREFIX}/executions/{_segment(execution_id)}/{action}"
        return self._calls.fetch_record(ExecutionRecord, "POST", path, json_body={})


def _origin_of(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=False)


def _strings_in(value: Any) -> Iterator[str]:
    # Very short values ("1", "yes") would shred ordinary text if masked, and reveal little.
    if isinstance(value, str):
        if len(value) >= 4:
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings_in(item)
