"""Stage: desired and live state → TaskDiffs: match, normalise, diff field by field. No network.

The only module that imports deepdiff.

Normalising is what keeps plans free of changes that are not changes: server-owned fields, fields
we do not manage, empty values (absent, null, [] and {} all mean "not set"), key order and the order
of set-like JSON Schema lists (`required`, `type`) never show up as differences. The order of
`urls` is significant and kept.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from titan_gitops.align import pair_items
from titan_gitops.jsondata import is_plain_value, plain_copy
from titan_gitops.model import DesiredState, DesiredTask, FieldChange, LiveState, LiveTask, TaskDiff
from titan_gitops.pointers import join_pointer, pointers_overlap, remove_pointer
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


# Canonical forms of the schemas seen, by their exact encoding (`_exact`): tasks made from one
# template share a schema, which is then sorted once. Bounded; cleared when full.
_CANONICAL: dict[bytes, Any] = {}
_CANONICAL_MAX = 4096


def _canonical_schema(schema: Any) -> Any:
    """`canonicalise_schema(schema)`, shared between schemas of the same exact encoding (callers
    copy the result before anyone may change it)."""
    key = _exact(schema)
    if key is None:
        return canonicalise_schema(schema)
    found = _CANONICAL.get(key)
    if found is None:
        if len(_CANONICAL) >= _CANONICAL_MAX:
            _CANONICAL.clear()
        found = _CANONICAL[key] = canonicalise_schema(schema)
    return found


def _exact(value: Any) -> bytes | None:
    """`value` encoded with the exact type of every part, in order; None when it holds what the
    encoding cannot write (a subclass of str or dict, say) or is nested too deeply for it.

    marshal's format 0 (no interning flags, no back-references) writes each value with its exact
    type (a tuple is no list, 1 is not 1.0 or True) and reads it back as it was: equal bytes mean
    equal values of equal types in the same order, whatever is shared or interned. It takes a
    third of the JSON encoder's time.
    """
    try:
        return marshal.dumps(value, 0)
    except ValueError:
        return None


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in _EMPTY}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _without_empty(value: Any) -> Any:
    """`_drop_empty(value)` through a JSON round trip, as new dicts and lists with each plain
    value shared (jsondata.plain_copy); anything else takes the round trip itself."""
    if is_plain_value(value):
        return value
    if isinstance(value, list):
        return [_without_empty(item) for item in value]
    if isinstance(value, dict) and all(key.__class__ is str for key in value):
        out: dict[str, Any] = {}
        for key, item in value.items():
            kept = _without_empty(item)
            # A tuple is no empty value to _drop_empty, even when the round trip makes it [].
            if kept not in _EMPTY or isinstance(item, tuple):
                out[key] = kept
        return out
    return json.loads(json.dumps(_drop_empty(value)))


def normalise_task(
    body: Mapping[str, Any],
    *,
    ignore_fields: Iterable[str] = (),
) -> dict[str, Any]:
    """The comparable form of a task body, desired or live: new containers throughout, so later
    edits never reach the caller's data."""
    out: dict[str, Any] = {}
    for key, value in _set_fields(body):
        if key in SCHEMA_FIELDS:
            value = _canonical_schema(value)
        # payload and limits hold user data: an empty nested value is still a value there.
        out[key] = plain_copy(value) if key in ("payload", "limits") else _without_empty(value)
    for pointer in ignore_fields:
        remove_pointer(out, pointer)
    return out


def same_managed_fields(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when `a` and `b` set the same managed fields to the same JSON (types, key order and
    all; a field absent, null, [] or {} is not set), so that `normalise_task` makes one body of
    both: a cheap exact pre-check that spares normalising and diffing a pair already equal."""
    ours = _set_fields(a)
    theirs = _set_fields(b)
    # `==` fails fast on most differing pairs; the exact encoding then tells 1 from 1.0 and True,
    # and one key order from another, which `==` does not.
    if ours != theirs:
        return False
    exact, other = _exact(ours), _exact(theirs)
    if exact is None or other is None:
        return json.dumps(ours) == json.dumps(theirs)
    return exact == other


def _set_fields(body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The managed fields `body` sets, in the order normalise_task reads them."""
    return [(k, body[k]) for k in MANAGED_FIELDS if k in body and body[k] not in _EMPTY]


_ABSENT = object()


def _mapping_paths(a: dict[str, Any], b: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The changed paths inside two mappings, by deepdiff, each cut at the first list.

    deepdiff descends only where both sides hold the same kind of container and reports a key
    present on one side only at that key, so an added or removed mapping is one change, and
    along a reported path `a` is a list exactly where `b` is.
    """
    from deepdiff import DeepDiff

    # threshold_to_diff_deeper=0: never collapse a mostly-changed mapping into one root change.
    tree = DeepDiff(a, b, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    return {
        _cut_at_list(item.path(output_format="list"), a)
        for items in tree.values()
        for item in items
    }


def _cut_at_list(path: list[Any], node: Any) -> tuple[Any, ...]:
    """`path` up to the first list it passes through (lists are diffed by `_changes`)."""
    for i, segment in enumerate(path):
        if isinstance(node, list):
            return tuple(path[:i])
        node = node.get(segment) if isinstance(node, dict) else None
    return tuple(path)


def _value_at(value: Any, path: tuple[Any, ...]) -> Any:
    for segment in path:
        value = value.get(segment, _ABSENT) if isinstance(value, dict) else _ABSENT
    return value


def _holds_objects(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value)


Located = tuple[tuple[Any, ...], Any, Any]


def _changes(path: tuple[Any, ...], a: Any, b: Any) -> Iterator[Located]:
    """Each change turning `a` into `b`, as (path, before, after), down to the changed leaf.

    Mappings are diffed key by key; a list of objects (`execution_plan.steps`) item by item; a
    list of plain values (`urls`) is one change, shown as added and removed items by renderers.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for sub in _mapping_paths(a, b):
            yield from _changes(path + sub, _value_at(a, sub), _value_at(b, sub))
    elif _holds_objects(a) and _holds_objects(b):
        yield from _item_changes(path, a, b)
    else:
        yield path, a, b


def _item_changes(path: tuple[Any, ...], a: list[Any], b: list[Any]) -> Iterator[Located]:
    """Diff two lists of objects pair by pair (`pair_items`).

    A changed or added item is located by its index in `b`, a removed one by its index in `a`.
    """
    for pair in pair_items(a, b):
        match pair:
            case (int() as i, int() as j):
                yield from _changes((*path, j), a[i], b[j])
            case (int() as i, None):
                yield (*path, i), a[i], _ABSENT
            case (None, int() as j):
                yield (*path, j), _ABSENT, b[j]


def _order(located: Located) -> tuple[Any, ...]:
    """Sort by path (list indices as numbers: steps[2] before steps[10]), a removal first.

    Under one parent every segment is a list index or every one a key, so paths compare.
    """
    path, _, after = located
    return path, after is not _ABSENT


def diff_bodies(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    *,
    sensitive_pointers: frozenset[str] = frozenset(),
) -> tuple[FieldChange, ...]:
    """Field changes turning `before` into `after`, in path order; () when they are equal."""
    old: dict[str, Any] = dict(before or {})
    new: dict[str, Any] = dict(after or {})
    if old == new:  # the cheap prefilter: deepdiff runs only on pairs that differ
        return ()
    located: list[Located] = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a != b:
            located.extend(_changes((key,), a, b))
    changes = []
    for path, a, b in sorted(located, key=_order):
        pointer = join_pointer(list(path))
        changes.append(
            FieldChange(
                pointer=pointer,
                before=None if a is _ABSENT else a,
                after=None if b is _ABSENT else b,
                sensitive=any(pointers_overlap(pointer, p) for p in sensitive_pointers),
            )
        )
    return tuple(changes)


# --- the stage --------------------------------------------------------------------------------


def diff_states(desired: DesiredState, live: LiveState) -> tuple[TaskDiff, ...]:
    """Match every defined task to its live counterpart and diff their normalised bodies.

    A task matches the live task with its name or, when none has it, the one live task holding
    one of its previous names (a rename). Every defined task is yielded, in name order, then every
    live task no definition matched, in (name, id) order. Ownership is not decided here.
    """
    by_name: dict[str, list[LiveTask]] = {}
    for task in live.tasks:
        by_name.setdefault(task.name, []).append(task)
    # Each live body is normalised once, for the diff, a delete and the fingerprint alike.
    normalised: dict[str, dict[str, Any]] = {}
    for task in live.tasks:
        if task.task_id not in normalised:
            normalised[task.task_id] = normalise_task(task.body)
    diffs = [
        _diff_task(task, by_name, normalised)
        for task in sorted(desired.tasks, key=lambda t: t.name)
    ]
    matched = {d.live.task_id for d in diffs if d.live is not None}
    for task in sorted(live.tasks, key=lambda t: (t.name, t.task_id)):
        if task.task_id not in matched:
            # No definition says what it should be, so there are no field changes to list.
            body = normalised[task.task_id]
            diffs.append(TaskDiff(task.name, None, task, before=body, live_normalised=body))
    return tuple(diffs)


def _match_live(
    task: DesiredTask, by_name: Mapping[str, list[LiveTask]]
) -> tuple[LiveTask | None, tuple[LiveTask, ...]]:
    """The live match of `task` and, when none has its name, the live holders of previous names."""
    current = by_name.get(task.name)
    if current:
        return current[0], ()
    candidates = tuple(by_name[p][0] for p in task.previous_names if p in by_name)
    return (candidates[0] if len(candidates) == 1 else None), candidates


def _diff_task(
    task: DesiredTask,
    by_name: Mapping[str, list[LiveTask]],
    normalised: Mapping[str, dict[str, Any]],
) -> TaskDiff:
    live_task, candidates = _match_live(task, by_name)
    hidden = task.sensitive_paths
    if live_task is None:
        after = normalise_task(task.body, ignore_fields=task.ignore_fields)
        # An ambiguous rename is compared with nothing: the plan refuses it.
        fields = () if candidates else diff_bodies(None, after, sensitive_pointers=hidden)
        return TaskDiff(
            task.name, task, None, after=after, fields=fields, rename_candidates=candidates
        )
    plain = normalised[live_task.task_id]
    before = _without(plain, task.ignore_fields)
    if same_managed_fields(task.body, live_task.body):
        # Equal as JSON field by field, so their normalised forms are equal too: no field differs.
        after, fields = before, ()
    else:
        after = normalise_task(task.body, ignore_fields=task.ignore_fields)
        fields = diff_bodies(before, after, sensitive_pointers=hidden)
    return TaskDiff(
        name=task.name,
        desired=task,
        live=live_task,
        previous_name=live_task.name if candidates else None,
        before=before,
        after=after,
        fields=fields,
        live_normalised=plain,
        rename_candidates=candidates,
    )


def _without(normalised: dict[str, Any], ignore_fields: Iterable[str]) -> dict[str, Any]:
    """A normalised body with the ignored pointers removed (a copy; `normalised` is shared)."""
    pointers = tuple(ignore_fields)
    if not pointers:
        return normalised
    out: dict[str, Any] = plain_copy(normalised)
    for pointer in pointers:
        remove_pointer(out, pointer)
    return out
