"""Wire records the Task Service returns: small pydantic models that keep every field they are sent.

Only the fields the client itself relies on are typed; everything else the server adds is kept as
is (`extra="allow"`), so `body()` gives back exactly what the server returned, for diffing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class WireRecord(BaseModel):
    """Base of every record: tolerant of extra fields, never coercing what it was sent."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def body(self) -> dict[str, Any]:
        """Every field the server returned (and only those), as plain JSON values."""
        return self.model_dump(mode="json", exclude_unset=True)

    def shared_body(self) -> dict[str, Any]:
        """`body()`, holding the record's own values instead of copies of them: for a record
        that is read once and dropped, as each item of a listing is. The typed fields hold what
        was sent (nothing is coerced) and the rest is kept as sent, so the two are equal; a
        record holding NaN or an infinity (which the JSON parser accepts and `body()` turns into
        null) is given as `body()` gives it."""
        extra = self.__pydantic_extra__ or {}
        if _holds_non_finite(extra):
            return self.body()
        sent = self.model_fields_set
        out = {name: getattr(self, name) for name in type(self).model_fields if name in sent}
        out.update(extra)
        return out


def _holds_non_finite(value: Any) -> bool:
    """True when a float NaN or infinity sits anywhere in `value` (a walk with no recursion: the
    parsed JSON may be nested as deeply as the parser allows)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = item.__class__
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float and not math.isfinite(item):
            return True
    return False


class TaskRecord(WireRecord):
    """A task as the service returns it."""

    id: str
    name: str
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class TemplateRecord(WireRecord):
    """A template as the service returns it (read-only for clients)."""

    id: str
    slug: str | None = None
    name: str | None = None
    action_type: str | None = None


class ExecutionRecord(WireRecord):
    """One execution of a task."""

    id: str
    task_id: str | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class DatasetRecord(WireRecord):
    """Dataset-level output metadata of an execution (fields are not documented: all kept)."""

    id: str | None = None


class MediaRecord(WireRecord):
    """One media file of an execution, as its media listing describes it (fields the client
    verifies a download against are required and never coerced)."""

    id: StrictStr
    size: StrictInt = Field(ge=0)
    checksum: StrictStr
    download_url: StrictStr
    content_type: str | None = None
    expires_at: str | None = None


RecordT = TypeVar("RecordT", bound=WireRecord)


@dataclass(frozen=True)
class Page(Generic[RecordT]):
    """One page of a list route; `total` is None when the service sent no `meta`."""

    items: tuple[RecordT, ...]
    total: int | None
    limit: int
    offset: int
