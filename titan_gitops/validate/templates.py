"""Templates: the index by name, `extends` chains (cycles, unknown names), and field merging."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from titan_gitops.load import LineDict
from titan_gitops.spec import TASK_FIELD_NAMES
from titan_gitops.validate.context import Definition, Run, where_defined
from titan_gitops.validate.rules import check_schema_field

_MERGED_MAPPINGS = ("limits", "payload")

# A template's fields with its `extends` chain merged in, and every (template, name) in the chain;
# None when the chain is broken (the problem was reported).
Resolved = tuple[LineDict, list[tuple[LineDict, str]]]


def merge_fields(base: LineDict, over: LineDict, fields: Iterable[str] | None = None) -> LineDict:
    """`over` wins; `limits` and `payload` merge key by key; anything else is replaced whole."""
    merged = LineDict(over.src, over.pos)
    merged.key_src = {}
    allowed = set(fields) if fields is not None else None
    for source in (base, over):
        for key, value in source.items():
            if allowed is not None and source is base and key not in allowed:
                continue
            old = merged.get(key)
            if key in _MERGED_MAPPINGS and isinstance(old, LineDict) and isinstance(value, dict):
                value = merge_fields(old, value) if isinstance(value, LineDict) else value
            merged[key] = value
            merged.key_pos[key] = source.key_pos.get(key, source.pos)
            merged.key_src[key] = _key_src(source, key)
    return merged


def _key_src(node: LineDict, key: str) -> str:
    return node.key_src.get(key, node.src) if node.key_src else node.src


def only_task_fields(data: LineDict) -> LineDict:
    """The Titan task fields of a template, keeping where each one was written."""
    result = LineDict(data.src, data.pos)
    result.key_src = {}
    for key in TASK_FIELD_NAMES:
        if key in data:
            result[key] = data[key]
            result.key_pos[key] = data.key_pos.get(key, data.pos)
            result.key_src[key] = _key_src(data, key)
    return result


def index_templates(run: Run, templates: Sequence[Definition]) -> dict[str, Definition]:
    """Templates by name (the first of a duplicate wins), their schemas checked once each."""
    index: dict[str, Definition] = {}
    for template in templates:
        name = template.data.get("name")
        if not isinstance(name, str):
            continue
        if name in index:
            where = where_defined(index[name])
            run.add(template.data, ("name",), f"template {name!r} is also defined at {where}")
            continue
        index[name] = template
        check_schema_field(run, template.data, "payload_schema", want_object=False)
        check_schema_field(run, template.data, "output_schema", want_object=True)
    return index


def resolve_template(
    run: Run,
    name: str,
    index: Mapping[str, Definition],
    memo: dict[str, Resolved | None],
    chain: tuple[str, ...] = (),
) -> Resolved | None:
    """A template's fields with its own `extends` chain merged in, and every template in it."""
    if name in memo:
        return memo[name]
    template = index[name]
    if name in chain:
        return None
    parent_name = template.data.get("extends")
    merged, owners = template.data, [(template.data, name)]
    if isinstance(parent_name, str):
        if parent_name in (*chain, name):
            _report_cycle(run, name, parent_name, index, memo, chain)
            return None
        if parent_name not in index:
            report_unknown_template(run, template.data, parent_name, index)
        else:
            parent = resolve_template(run, parent_name, index, memo, (*chain, name))
            if parent is None:
                memo[name] = None
                return None
            merged = merge_fields(parent[0], template.data, TASK_FIELD_NAMES)
            owners = parent[1] + owners
    memo[name] = (merged, owners)
    return memo[name]


def _report_cycle(
    run: Run,
    name: str,
    parent_name: str,
    index: Mapping[str, Definition],
    memo: dict[str, Resolved | None],
    chain: tuple[str, ...],
) -> None:
    members = (*chain[chain.index(parent_name) :], name) if parent_name in chain else (name,)
    cycle = " → ".join((*members, parent_name))
    # Every template in the cycle is at fault; name the chain at each of them.
    for member in members:
        run.add(index[member].data, ("extends",), f"extends cycle: {cycle}")
        memo[member] = None


def report_unknown_template(run: Run, data: LineDict, name: str, index: Mapping[str, Any]) -> None:
    """`extends` names no template: say so, with the closest name as a hint."""
    hint = difflib.get_close_matches(name, list(index), n=1)
    suffix = f"; did you mean {hint[0]!r}?" if hint else ""
    run.add(data, ("extends",), f"no template is named {name!r}{suffix}")
