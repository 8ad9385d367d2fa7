"""Stage: normalise desired and live task bodies and diff them field by field. Pure: no network.

The only module that imports deepdiff.

Normalising is what keeps plans free of changes that are not changes: server-owned fields, fields
we do not manage, empty values (absent, null, [] and {} all mean "not set"), key order and the order
of set-like JSON Schema lists (`required`, `type`) never show up as differences. The order of
`urls` is significant and kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from titan_gitops.model import FieldChange
from titan_gitops.pointers import get_pointer, join_pointer, pointers_overlap, remove_pointer
from titan_gitops.spec import MANAGED_FIELDS

_EMPTY: tuple[Any, ...] = (None, [], {})
SCHEMA_FIELDS = ("output_schema",)


def canonicalise_schema(schema: Any) -> Any:
    """Sort the set-like lists of a JSON Schema (`required`, `type`) at every depth."""
    if isinstance(schema, list):
        return [canonicalise_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        set_like = key in ("required", "type") and isinstance(value, list)
        if set_like and all(isinstance(v, str) for v in value):
            out[key] = sorted(set(value))
            continue
        out[key] = canonicalise_schema(value)
    return out


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in _EMPTY}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def normalise_task(
    body: Mapping[str, Any],
    *,
    ignore_fields: Iterable[str] = (),
) -> dict[str, Any]:
    """The comparable form of a task body, desired or live."""
    out: dict[str, Any] = {}
    for key in MANAGED_FIELDS:
        if key not in body:
            continue
        value = body[key]
        # An absent field, null, an empty list and an empty mapping all mean "not set".
        if value in _EMPTY:
            continue
        if key in SCHEMA_FIELDS:
            value = canonicalise_schema(value)
        # payload and limits hold user data: an empty nested value is still a value there.
        out[key] = value if key in ("payload", "limits") else _drop_empty(value)
    # Deep copy through JSON so later edits never reach the caller's data.
    out = json.loads(json.dumps(out))
    for pointer in ignore_fields:
        remove_pointer(out, pointer)
    return out


_ABSENT = object()


def _nested_pointers(key: str, a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    """The changed pointers inside one mapping field (a schema, payload or limits), by deepdiff."""
    from deepdiff import DeepDiff

    # threshold_to_diff_deeper=0: never collapse a mostly-changed mapping into one root change.
    tree = DeepDiff(a, b, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    old, new = {key: a}, {key: b}
    return {
        join_pointer(_field_path([key, *item.path(output_format="list")], old, new))
        for items in tree.values()
        for item in items
    }


def _field_path(path: list[Any], old: Any, new: Any) -> list[Any]:
    """Cut a deepdiff path at the first list or the first key missing on one side.

    A changed list is shown whole (the order of urls matters), and an added or removed mapping
    is shown as one field rather than one line per nested key.
    """
    a, b = old, new
    for i, segment in enumerate(path):
        if isinstance(a, list) or isinstance(b, list):
            return path[:i]
        a = a.get(segment, _ABSENT) if isinstance(a, dict) else _ABSENT
        b = b.get(segment, _ABSENT) if isinstance(b, dict) else _ABSENT
        if a is _ABSENT or b is _ABSENT:
            return path[: i + 1]
    return path


def diff_bodies(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    sensitive_pointers: frozenset[str] = frozenset(),
) -> tuple[FieldChange, ...]:
    """Field changes turning `before` into `after`, sorted by pointer; () when they are equal."""
    old: dict[str, Any] = dict(before or {})
    new: dict[str, Any] = dict(after or {})
    if old == new:  # the cheap prefilter: deepdiff runs only on pairs that differ
        return ()
    pointers: set[str] = set()
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            pointers.update(_nested_pointers(key, a, b))
        else:
            # A scalar, a list (shown whole) or a field present on one side only: the field
            # itself is the change, with no deepdiff call (most changes are of this kind).
            pointers.add(join_pointer([key]))
    changes = []
    for pointer in sorted(pointers):
        sensitive = any(pointers_overlap(pointer, p) for p in sensitive_pointers)
        changes.append(
            FieldChange(
                pointer=pointer,
                before=get_pointer(old, pointer),
                after=get_pointer(new, pointer),
                sensitive=sensitive,
            )
        )
    return tuple(changes)
