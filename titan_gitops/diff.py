"""Stage: normalise desired and live task bodies and diff them field by field. Pure: no network.

Normalising is what keeps plans free of changes that are not changes: server-owned fields, fields
we do not manage, empty values (absent, null, [] and {} all mean "not set"), key order and the order
of set-like JSON Schema lists (`required`, `type`) never show up as differences. The order of
`urls` is significant and kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from titan_gitops.model import FieldChange
from titan_gitops.spec import MANAGED_FIELDS

_EMPTY: tuple[Any, ...] = (None, [], {})
SCHEMA_FIELDS = ("output_schema",)


def canonical_json(value: Any) -> str:
    """The one serialisation used for hashing: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """A SHA-256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def sensitive_hash(value: Any) -> dict[str, Any]:
    """What a saved plan stores instead of a sensitive value."""
    return {"sensitive": True, "sha256": canonical_hash(value)}


def is_sensitive_placeholder(value: Any) -> bool:
    """True for the `{"sensitive": true, "sha256": ...}` stand-in of a saved plan."""
    return isinstance(value, dict) and set(value) == {"sensitive", "sha256"}


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


def split_pointer(pointer: str) -> list[str]:
    """The unescaped segments of a JSON pointer (`/a~1b/c` → ['a/b', 'c'])."""
    if not pointer:
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def join_pointer(segments: Iterable[Any]) -> str:
    """A JSON pointer from segments."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def get_pointer(document: Any, pointer: str) -> Any:
    """The value at `pointer`, or None when it is absent."""
    node = document
    for segment in split_pointer(pointer):
        if isinstance(node, dict):
            if segment not in node:
                return None
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return None
    return node


def remove_pointer(document: dict[str, Any], pointer: str) -> None:
    """Delete the value at `pointer` in place, if present (then prune emptied mappings)."""
    segments = split_pointer(pointer)
    if not segments:
        return
    parents: list[tuple[Any, str]] = []
    node: Any = document
    for segment in segments[:-1]:
        if not isinstance(node, dict) or segment not in node:
            return
        parents.append((node, segment))
        node = node[segment]
    if isinstance(node, dict):
        node.pop(segments[-1], None)
    for parent, key in reversed(parents):
        if parent[key] in _EMPTY:
            del parent[key]


def set_pointer(document: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at `pointer` in place (list items by index), creating mappings on the way."""
    segments = split_pointer(pointer)
    node: Any = document
    for segment in segments[:-1]:
        if _is_index(node, segment):
            child = node[int(segment)]
            if not isinstance(child, dict | list):
                child = node[int(segment)] = {}
        else:
            child = node.get(segment)
            if not isinstance(child, dict | list):
                child = node[segment] = {}
        node = child
    if not segments:
        return
    if _is_index(node, segments[-1]):
        node[int(segments[-1])] = value
    elif isinstance(node, dict):
        node[segments[-1]] = value


def _is_index(node: Any, segment: str) -> bool:
    return isinstance(node, list) and segment.isdigit() and int(segment) < len(node)


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
        sensitive = any(
            pointer == p or pointer.startswith(p + "/") or p.startswith(pointer + "/")
            for p in sensitive_pointers
        )
        changes.append(
            FieldChange(
                pointer=pointer,
                before=get_pointer(old, pointer),
                after=get_pointer(new, pointer),
                sensitive=sensitive,
            )
        )
    return tuple(changes)


# --- breaking output_schema changes -----------------------------------------------------------

_NARROWER = {("number", "integer")}


def _types(schema: Mapping[str, Any]) -> set[str]:
    value = schema.get("type")
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def classify_schema_change(old: Any, new: Any, path: str = "") -> list[str]:
    """Reasons why records valid under `old` may not be under `new` (empty: compatible)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    where = path or "(root)"
    reasons: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if old_types and new_types and old_types != new_types:
        lost = old_types - new_types
        narrowed = all((o, n) in _NARROWER for o in lost for n in new_types - old_types)
        if lost:
            verb = "narrowed" if narrowed and new_types - old_types else "changed"
            reasons.append(
                f"{where}: type {verb} from {'|'.join(sorted(old_types))} "
                f"to {'|'.join(sorted(new_types))}"
            )
    if isinstance(old.get("enum"), list) and isinstance(new.get("enum"), list):
        removed = [v for v in old["enum"] if v not in new["enum"]]
        if removed:
            reasons.append(f"{where}: enum values removed: {', '.join(map(str, removed))}")
    elif "enum" in new and "enum" not in old:
        reasons.append(f"{where}: values newly restricted to an enum")
    old_props: dict[str, Any] = old["properties"] if isinstance(old.get("properties"), dict) else {}
    new_props: dict[str, Any] = new["properties"] if isinstance(new.get("properties"), dict) else {}
    for name in sorted(set(old_props) - set(new_props)):
        reasons.append(f"{path + '.' if path else ''}{name}: property removed")
    old_required = set(old.get("required") or [])
    for name in sorted(set(new.get("required") or []) - old_required):
        reasons.append(f"{path + '.' if path else ''}{name}: newly required")
    for name in sorted(set(old_props) & set(new_props)):
        child = f"{path}.{name}" if path else name
        reasons.extend(classify_schema_change(old_props[name], new_props[name], child))
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        reasons.extend(classify_schema_change(old["items"], new["items"], f"{path}[]"))
    return reasons


def hide_value(value: Any) -> Any:
    """A sensitive value as its saved-plan stand-in; a stand-in (read back from a file) stays."""
    return value if is_sensitive_placeholder(value) else sensitive_hash(value)


def hide_pointers(document: Any, pointers: frozenset[str]) -> Any:
    """A copy of `document` with the values at `pointers` replaced by their stand-ins."""
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = json.loads(json.dumps(document))
    for pointer in sorted(pointers, key=len):
        value = get_pointer(document, pointer)
        if split_pointer(pointer) and value is not None:
            set_pointer(out, pointer, hide_value(value))
    return out
