"""Breaking output_schema changes: which edits may make records valid before invalid after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (old, new) type pairs where the new type accepts only some of the old values.
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


def find_breaking_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> tuple[str, ...]:
    """A change's `breaking` reasons: how the output_schema of `before` breaks in `after`."""
    if before is None or "output_schema" not in before:
        return ()
    return tuple(
        f"output_schema {r}"
        for r in classify_schema_change(before["output_schema"], after.get("output_schema", {}))
    )
