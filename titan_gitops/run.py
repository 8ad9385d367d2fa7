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

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient

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
            pointer = "".join(f"/{p}" for p in error.absolute_path)
            found.append(Violation(index, pointer, error.message))
            if len(found) >= limit:
                return found
    return found


def records_of(export: bytes) -> Any:
    """The records of a JSON export: a list, or the `records`/`data` list inside an object.

    Raises:
        InputError: the export is not JSON.
    """
    try:
        data = json.loads(export)
    except ValueError:
        raise InputError("the results export is not valid JSON") from None
    if isinstance(data, dict):
        for key in ("records", "data", "results", "items"):
            if isinstance(data.get(key), list):
                return data[key]
    return data
