"""Warnings for YAML 1.1 traps in free-form fields: a plain `010`, `on` or `1:30` where the
contract does not type the value, so nothing else would tell the user it was read otherwise."""

from __future__ import annotations

from typing import Any

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict, LineList
from titan_gitops.validate.context import Loc, Run, format_field_path

# Fields the contract types as text (or a list of texts, or an enum of words): a plain `yes` there
# can only be the text, and a plain number there is already refused as not a string.
TEXT_FIELDS = frozenset(
    (
        "kind", "name", "objective", "schedule", "description", "urls", "proxy_locations",
        "template_id", "template_slug", "script_id", "execution_type", "action_type",
        "input_source", "extends", "previous_names", "ignore_fields", "namespace", "protected",
    )
)  # fmt: skip
STEP_TEXT_FIELDS = frozenset(
    ("action_type", "input_source", "template_id", "template_slug", "script_id")
)


def warn_yaml11_traps(
    run: Run, data: LineDict, prefix: Loc = (), *, skip: frozenset[str] = frozenset()
) -> None:
    """One located warning per YAML 1.1 trap in `data`, a definition (or `defaults`) mapping.

    Keys the contract types as text are passed over, and so are the keys in `skip`.
    """
    _check_mapping(run, data, prefix, len(prefix), TEXT_FIELDS | skip)


def _check_mapping(
    run: Run, data: LineDict, loc: Loc, root: int, passed_over: frozenset[str]
) -> None:
    traps = data.traps or {}
    for key, value in data.items():
        if key in passed_over:
            continue
        here = (*loc, key)
        if key in traps:
            _warn(run, data.src, here, traps[key])
        _check_value(run, value, here, root)


def _check_value(run: Run, value: Any, loc: Loc, root: int) -> None:
    if isinstance(value, LineDict):
        # `execution_plan.steps[i]` of the definition itself, not a look-alike inside a payload.
        in_step = loc[root:-1] == ("execution_plan", "steps")
        _check_mapping(run, value, loc, root, STEP_TEXT_FIELDS if in_step else frozenset())
    elif isinstance(value, LineList):
        traps = value.traps or {}
        for index, item in enumerate(value):
            here = (*loc, index)
            if index in traps:
                _warn(run, value.src, here, traps[index])
            _check_value(run, item, here, root)


def _warn(run: Run, src: str, loc: Loc, trap: tuple[int, int, str]) -> None:
    line, col, message = trap
    run.warnings.append(Problem(src, line, col, format_field_path(loc), message, "warning"))
