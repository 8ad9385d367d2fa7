"""Running a task after a change: find it by name or id, and check its records against its schema.

The HTTP side (trigger, poll, export) is the client's; this module holds the decisions around it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import InputError, NotFound, list_names
from titan_gitops.pointers import join_pointer

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient

# A media id becomes a file name only when it is plainly one: no separator, no leading dot
# (matched whole with fullmatch: `$` would let a final newline through into the name).
_MEDIA_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Extensions come from this fixed table, never from the service's strings.
MEDIA_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
    "audio/mpeg": ".mp3",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/json": ".json",
}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Violation:
    """One record that does not match the task's output_schema."""

    record: int
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"record {self.record}: {self.pointer or '/'}: {self.message}"


def resolve_task(client: TitanClient, ref: str) -> dict[str, Any]:
    """The live task named `ref`, or with id `ref`.

    Raises:
        InputError: no task has that name or id, or several share the name.
    """
    if _UUID.match(ref):
        try:
            body: dict[str, Any] = client.get_task(ref).body()
            return body
        except NotFound:
            pass
    matches = [r.body() for r in client.list_tasks() if r.body().get("name") == ref]
    if not matches:
        raise InputError(f"no live task is named or has the id '{ref}'")
    if len(matches) > 1:
        ids = list_names([str(m.get("id")) for m in matches])
        raise InputError(f"several live tasks are named '{ref}' (ids {ids}): give the id")
    return matches[0]


def name_media_files(items: Iterable[dict[str, Any]]) -> list[str]:
    """One file name per listed media item: its id plus an extension from its content type.

    Raises:
        ApiError: an id is not a plain file name (a separator, a leading dot, a control
            character, over 100 characters), or two ids name the same file (case aside).
    """
    from titan_gitops.errors import ApiError

    names: list[str] = []
    seen: dict[str, str] = {}
    for item in items:
        media_id = item.get("id")
        if not isinstance(media_id, str) or not _MEDIA_ID.fullmatch(media_id):
            raise ApiError(
                f"the service listed a media id {json.dumps(media_id)[:120]} that is not a plain "
                "file name (letters, digits, '.', '_', '-'); nothing was downloaded"
            )
        content_type = str(item.get("content_type") or "").split(";")[0].strip().lower()
        name = media_id + MEDIA_EXTENSIONS.get(content_type, ".bin")
        if name.casefold() in seen:
            raise ApiError(
                f"the service listed the media ids {seen[name.casefold()]} and {media_id}, which "
                "name the same file; nothing was downloaded"
            )
        seen[name.casefold()] = media_id
        names.append(name)
    return names


def read_secret_payload(path: Path) -> dict[str, Any]:
    """A JSON object from a file, for `secret_payload`; its string values are secrets.

    Raises:
        InputError: unreadable, not JSON, or not an object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the secret payload: {exc.strerror}") from None
    except ValueError:
        # The message of a JSON error quotes the document: never show it.
        raise InputError(f"{path}: the secret payload is not valid JSON") from None
    except RecursionError:
        raise InputError(f"{path}: the secret payload is nested too deeply to read") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the secret payload must be a JSON object")
    return data


def secret_strings(value: Any) -> Iterable[str]:
    """Every string inside a JSON value (to register for masking)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from secret_strings(item)


def check_records(
    records: Any, schema: dict[str, Any] | None, *, limit: int = 10
) -> list[Violation]:
    """The first `limit` violations of the records against `schema` (none without a schema)."""
    if not schema:
        return []
    from jsonschema import Draft202012Validator, validators

    cls = validators.validator_for(schema, default=Draft202012Validator)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    items = records if isinstance(records, list) else [records]
    found: list[Violation] = []
    for index, record in enumerate(items):
        for error in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
            # Escaped (RFC 6901): a record's key may itself hold '/' or '~'.
            pointer = join_pointer(error.absolute_path)
            found.append(Violation(index, pointer, error.message))
            if len(found) >= limit:
                return found
    return found


def records_of(export: bytes) -> Any:
    """The records of a JSON export: a list, or the `records`/`data` list inside an object.

    Raises:
        InputError: the export is not JSON, or nested too deeply to read.
    """
    try:
        data = json.loads(export)
    except ValueError:
        raise InputError("the results export is not valid JSON") from None
    except RecursionError:
        raise InputError("the results export is nested too deeply to read") from None
    if isinstance(data, dict):
        for key in ("records", "data", "results", "items"):
            if isinstance(data.get(key), list):
                return data[key]
    return data
