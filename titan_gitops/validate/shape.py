"""The pydantic shape check of one document, its errors turned into located Problems."""

from __future__ import annotations

import difflib
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict
from titan_gitops.model import SourceDocument
from titan_gitops.spec import STRING_FIELDS
from titan_gitops.validate.context import Loc, Run, format_field_path, locate


def check_shape(
    run: Run, data: LineDict, model: type[BaseModel], at: SourceDocument, prefix: Loc = ()
) -> BaseModel | None:
    """`data` as a `model`, or None with one problem per wrong field, at every depth and index."""
    for key in STRING_FIELDS:
        if key in data and data[key] is None:
            run.add(data, (key,), "is empty (null); write a quoted string or remove the key")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        seen: set[Loc] = set()
        for error in exc.errors(include_url=False, include_input=False):
            loc = _data_loc(data, tuple(error["loc"]), error["type"])
            # A union reports one error per member at the same place: the first one says it.
            if (error["type"] == "model_type" and not loc) or loc in seen:
                continue
            seen.add(loc)
            if len(loc) == 1 and loc[0] in STRING_FIELDS and data.get(str(loc[0]), 0) is None:
                continue
            message = _shape_message(error, loc, data, model)
            src, line, col = locate(data, loc, (at.path, at.line, at.col))
            run.problems.append(Problem(src, line, col, format_field_path(prefix + loc), message))
        return None


def _data_loc(data: Any, loc: Loc, kind: str) -> Loc:
    """The part of a pydantic location that names real keys (unions add type tags to it)."""
    found: list[str | int] = []
    node = data
    for step in loc:
        in_dict = isinstance(node, dict) and isinstance(step, str) and step in node
        if in_dict or (isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)):
            node = node[step]
        else:
            if kind in ("missing", "extra_forbidden") and isinstance(node, dict):
                found.append(step)
            break
        found.append(step)
    return tuple(found)


def _shape_message(error: Any, loc: Loc, data: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_at(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        suffix = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown field {str(loc[-1])!r}{suffix}"
    if kind == "missing":
        return "is required"
    value = _value_at(data, loc)
    if value is None and loc and kind != "dict_type":
        return "is empty (null); write a value or remove the key"
    message = str(error["msg"])
    if kind == "string_type" and isinstance(value, (int, float, bool)):
        message += f"; {value!r} was read as a {_yaml_type(value)}: quote it"
    return message


def _yaml_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number"}[type(value)]


def _value_at(data: Any, loc: Loc) -> Any:
    for step in loc:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _known_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the model that describes the object at `loc` (list indexes skipped)."""
    current: Any = model
    for step in loc:
        if isinstance(step, int):
            continue
        field = current.model_fields.get(step) if _is_model(current) else None
        if field is None:
            return []
        current = _inner_model(field.annotation)
    return list(current.model_fields) if _is_model(current) else []


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _inner_model(annotation: Any) -> Any:
    """The model inside `X | None` or `list[X]`, if any."""
    if _is_model(annotation):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
