"""Breaking output_schema changes: which edits may make records valid before invalid after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from titan_gitops.align import pair_items

# Which items of two lists correspond: (i, j) changed, (i, None) removed, (None, j) added.

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


def _steps(body: Mapping[str, Any]) -> list[Any]:
    plan = body.get("execution_plan")
    steps = plan.get("steps") if isinstance(plan, dict) else None
    return steps if isinstance(steps, list) else []


def _schema_of(step: Any) -> Any:
    return step.get("output_schema") if isinstance(step, dict) else None


def _schema_breaks(where: str, old: Any, new: Any) -> list[str]:
    """How the schema `old` at `where` breaks in `new`: removed, or classified; none added."""
    if not isinstance(old, dict):
        return []
    if new is None:
        return [f"{where}: removed"]
    return [f"{where} {r}" for r in classify_schema_change(old, new)]


def find_breaking_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> tuple[str, ...]:
    """A change's `breaking` reasons: how each output_schema of `before` breaks in `after`.

    Every output_schema counts: the task's, then each step's by index. Steps are paired by
    `pair_items`, the alignment the diff shows, so a reason names the path the diff shows (a
    changed step by its index in `after`, a removed one by its index in `before`). A schema
    removed, or a removed step that had one, is breaking for whoever reads those records; a schema
    added where there was none, or an added step, is not.
    """
    if before is None:
        return ()
    reasons = _schema_breaks(
        "output_schema", before.get("output_schema"), after.get("output_schema")
    )
    old_steps, new_steps = _steps(before), _steps(after)
    located: list[tuple[tuple[int, bool], list[str]]] = []
    for i, j in pair_items(old_steps, new_steps):
        if i is None:
            continue
        old = _schema_of(old_steps[i])
        if j is None:
            if isinstance(old, dict):
                located.append(
                    ((i, False), [f"execution_plan.steps[{i}]: step with an output_schema removed"])
                )
        else:
            where = f"execution_plan.steps[{j}].output_schema"
            located.append(((j, True), _schema_breaks(where, old, _schema_of(new_steps[j]))))
    # By index, a removal first at an index (as the diff orders its paths).
    for _, found in sorted(located, key=lambda entry: entry[0]):
        reasons.extend(found)
    return tuple(reasons)
