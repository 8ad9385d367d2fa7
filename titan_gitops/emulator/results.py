"""Results of emulated executions: records, JSON/CSV exports, result metadata, datasets and media.

Choices where the docs are silent (also in README.md):
- Records are built by records.py from the output_schema the task had when the run started,
  seeded by the execution id: the same execution always yields the same records.
- A media field holds `{origin}/media/{execution_id}/{key}?token={token}`, where the origin is
  the Host the caller used, the key is stable per execution and field path, and the token is an
  HMAC of both under a key kept in the database. The media route takes only that token (no API
  token needed, not rate limited) and answers small deterministic bytes; its errors are
  `{"error": "..."}` without `success`, as the docs show for the media CDN.
- `GET /api/v1/executions/{id}/media` (the docs' "Media access" route; its item fields are not
  documented) lists each media file of an execution once, in record order: `id` (the key),
  `execution_id`, `content_type`, `size` (bytes), `checksum` (`sha256:<hex>` of the bytes),
  `download_url` and `expires_at`. It pages like every list (`limit`/`offset`, `meta`), needs
  `data:read`, is a 404 for an unknown execution, and is empty until the results exist.
- Its `download_url` is the media link plus `expires=<epoch seconds>`, signed together with the
  expiry. The expiry is the end of the next whole MEDIA_LINK_SECONDS window, so a link stays the
  same across listings for a while (stable) and is valid for at least one window; past it the
  link is a 403 `{"error": "media link expired"}`, as a wrong token is. Links in records carry
  no expiry.
- JSON export is a bare array of records. CSV flattens nested objects to dotted columns and
  keeps arrays as JSON text (see records.records_to_csv). `export` takes `?format=json|csv`
  (default json); `download` is always CSV. Both are attachments named
  `execution-<id>.<ext>`.
- Export and download before the results exist (not `completed` / `completed_with_errors`)
  are a 400 naming the status; result metadata always answers, with `available` false.
- Every execution with results has one dataset, `results`; its id is a uuid5 of the execution.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from titan_gitops.emulator.clock import format_timestamp
from titan_gitops.emulator.errors import BadRequest
from titan_gitops.emulator.executions import ExecutionRuntime, ExecutionView
from titan_gitops.emulator.records import generate_records
from titan_gitops.emulator.records_csv import flatten_record, records_to_csv

EXPORT_FORMATS = ("json", "csv")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
DATASET_NAME = "results"
MEDIA_CONTENT_TYPE = "application/octet-stream"
# How long a listed download link is valid at least; listings within one window share a link.
MEDIA_LINK_SECONDS = 3600

_KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS emulator_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class MediaRefused(Exception):
    """A media request the emulator refuses; `status` and a message for `{"error": ...}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ResultStore:
    """Records, exports, datasets and media of the executions in `runtime`."""

    def __init__(
        self, db: sqlite3.Connection, lock: threading.RLock, runtime: ExecutionRuntime
    ) -> None:
        self.runtime = runtime
        with lock:
            db.executescript(_KEYS_SCHEMA)
            row = db.execute("SELECT value FROM emulator_keys WHERE name = 'media'").fetchone()
            if row is None:
                row = (secrets.token_hex(32),)
                db.execute("INSERT INTO emulator_keys (name, value) VALUES ('media', ?)", row)
        self._media_key = bytes.fromhex(row[0])

    # --- records --------------------------------------------------------------------------

    def build_records(self, execution_id: str, origin: str) -> list[dict[str, Any]]:
        """The records of an execution whose results exist; a 400 naming its status otherwise."""
        view = self.runtime.view_execution(execution_id)
        if not view.results_ready:
            raise BadRequest(
                f"execution {view.stored['id']} is {view.status}: results exist only once it "
                "is completed"
            )
        return self._records_of(view, origin)

    def _records_of(self, view: ExecutionView, origin: str) -> list[dict[str, Any]]:
        execution_id = str(view.stored["id"])

        def media_url(key: str) -> str:
            token = self.sign_media(execution_id, key)
            return f"{origin}/media/{execution_id}/{key}?token={token}"

        return generate_records(
            view.stored["output_schema"], seed=execution_id, media_url=media_url
        )

    def export_results(self, execution_id: str, fmt: str, origin: str) -> tuple[bytes, str, str]:
        """(body, content type, file name) of an export in `fmt` (json or csv)."""
        if fmt not in EXPORT_FORMATS:
            raise BadRequest(f"format: must be one of {', '.join(EXPORT_FORMATS)}")
        records = self.build_records(execution_id, origin)
        if fmt == "csv":
            body = records_to_csv(records)
        else:
            body = json.dumps(records, ensure_ascii=False, indent=2).encode("utf-8")
        canonical = str(uuid.UUID(execution_id))
        return body, CONTENT_TYPES[fmt], f"execution-{canonical}.{fmt}"

    # --- metadata -------------------------------------------------------------------------

    def describe_results(self, execution_id: str, origin: str) -> dict[str, Any]:
        """Whether output exists, its formats, size, columns and timing."""
        view = self.runtime.view_execution(execution_id)
        stored = view.stored
        records = self._records_of(view, origin) if view.results_ready else []
        base = f"/api/v1/executions/{stored['id']}/results"
        return {
            "execution_id": stored["id"],
            "task_id": stored["task_id"],
            "status": view.status,
            "available": view.results_ready,
            "record_count": len(records),
            "formats": list(EXPORT_FORMATS),
            "default_format": "json",
            "columns": _columns_of(records),
            "media_fields": _count_media(records, origin),
            "started_at": _stamp(view.started_at),
            "finished_at": _stamp(view.finished_at),
            "export_url": f"{base}/export" if view.results_ready else None,
            "download_url": f"{base}/download" if view.results_ready else None,
        }

    def list_datasets(
        self, origin: str, *, execution_id: str | None = None, task_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Datasets of one execution, or of every execution of a task (oldest first)."""
        if execution_id is not None:
            views = [self.runtime.view_execution(execution_id)]
        else:
            views = self.runtime.list_views(task_id)
        return [self._dataset_of(view, origin) for view in views if view.results_ready]

    def _dataset_of(self, view: ExecutionView, origin: str) -> dict[str, Any]:
        stored = view.stored
        records = self._records_of(view, origin)
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"titan-emulator:dataset:{stored['id']}")),
            "name": DATASET_NAME,
            "execution_id": stored["id"],
            "task_id": stored["task_id"],
            "record_count": len(records),
            "columns": _columns_of(records),
            "formats": list(EXPORT_FORMATS),
            "created_at": _stamp(view.finished_at),
            "export_url": f"/api/v1/executions/{stored['id']}/results/export",
        }

    # --- media ----------------------------------------------------------------------------

    def sign_media(self, execution_id: str, key: str) -> str:
        """The token that opens one media file."""
        message = f"{execution_id}/{key}".encode()
        return hmac.new(self._media_key, message, hashlib.sha256).hexdigest()[:40]

    def sign_media_link(self, execution_id: str, key: str, expires: int) -> str:
        """The token that opens one media file until `expires` (epoch seconds)."""
        message = f"{execution_id}/{key}/{expires}".encode()
        return hmac.new(self._media_key, message, hashlib.sha256).hexdigest()[:40]

    def read_media(
        self, execution_id: str, key: str, token: str | None, expires: str | None = None
    ) -> bytes:
        """The bytes of a media file; MediaRefused for a missing, wrong or expired token."""
        if not token:
            raise MediaRefused(401, "missing media token")
        try:
            canonical = str(uuid.UUID(execution_id))
        except ValueError:
            raise MediaRefused(404, "media not found") from None
        if expires is None:
            expected = self.sign_media(canonical, key)
        elif expires.isascii() and expires.isdigit() and len(expires) <= 12:
            expected = self.sign_media_link(canonical, key, int(expires))
        else:
            raise MediaRefused(403, "invalid media token")
        # As bytes: compare_digest refuses str outside ASCII (a TypeError, answered 500).
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise MediaRefused(403, "invalid media token")
        if expires is not None and self.runtime.clock.time() >= int(expires):
            raise MediaRefused(403, "media link expired")
        if not self.runtime.has_execution(canonical):
            raise MediaRefused(404, "media not found")
        return _media_bytes(canonical, key)

    def list_media(self, execution_id: str, origin: str) -> list[dict[str, Any]]:
        """Every media file of an execution once, in record order; NotFound for no execution."""
        view = self.runtime.view_execution(execution_id)
        if not view.results_ready:
            return []
        canonical = str(view.stored["id"])
        prefix = f"{origin}/media/{canonical}/"
        keys = dict.fromkeys(
            text[len(prefix) :].split("?", 1)[0]
            for text in _strings_in(self._records_of(view, origin))
            if text.startswith(prefix)
        )
        window = MEDIA_LINK_SECONDS
        expires = (int(self.runtime.clock.time()) // window + 2) * window
        return [self._media_item(canonical, key, origin, expires) for key in keys]

    def _media_item(self, execution_id: str, key: str, origin: str, expires: int) -> dict[str, Any]:
        body = _media_bytes(execution_id, key)
        token = self.sign_media_link(execution_id, key, expires)
        moment = datetime.fromtimestamp(expires, UTC)
        return {
            "id": key,
            "execution_id": execution_id,
            "content_type": MEDIA_CONTENT_TYPE,
            "size": len(body),
            "checksum": f"sha256:{hashlib.sha256(body).hexdigest()}",
            "download_url": (
                f"{origin}/media/{execution_id}/{key}?expires={expires}&token={token}"
            ),
            "expires_at": format_timestamp(moment),
        }


def _media_bytes(execution_id: str, key: str) -> bytes:
    digest = hashlib.sha256(f"titan-emulator:media:{execution_id}/{key}".encode()).hexdigest()
    return f"titan emulator media {key}\n{digest}\n".encode()


def _strings_in(value: Any) -> list[str]:
    """Every string inside a JSON value, in document order (iteratively: records may be deep)."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            pending.extend(reversed(item))
    return found


def _columns_of(records: list[dict[str, Any]]) -> list[str]:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(flatten_record(record)))
    return list(columns)


def _count_media(records: list[dict[str, Any]], origin: str) -> int:
    prefix = f"{origin}/media/"
    return sum(
        1
        for record in records
        for value in flatten_record(record).values()
        if isinstance(value, str) and value.startswith(prefix)
    )


def _stamp(moment: Any) -> str | None:
    return format_timestamp(moment) if moment is not None else None
