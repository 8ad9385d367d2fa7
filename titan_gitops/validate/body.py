"""The API body of a merged task as plain JSON data, and the pointers of its substituted values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from titan_gitops.jsondata import plain_copy
from titan_gitops.load import LineDict
from titan_gitops.spec import TASK_FIELD_NAMES
from titan_gitops.validate.variables import Sensitive


def _pointer(loc: Iterable[str | int]) -> str:
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in loc)


def plain_data(value: Any, pointer: str, sensitive: set[str]) -> Any:
    """Plain JSON data (dict, list, str), recording the pointers of substituted values."""
    if isinstance(value, dict):
        return {
            key: plain_data(item, f"{pointer}/{_pointer((key,))[1:]}", sensitive)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [plain_data(item, f"{pointer}/{i}", sensitive) for i, item in enumerate(value)]
    if isinstance(value, Sensitive):
        sensitive.add(pointer)
        return str(value)
    return value


def build_body(task: LineDict, any_secret: bool) -> tuple[dict[str, Any], frozenset[str]]:
    """The body sent to the API (name first, cron nicknames spelled out) and its secret pointers."""
    body = {key: task[key] for key in TASK_FIELD_NAMES if task.get(key) is not None}
    body = {"name": task["name"], **body}
    if isinstance(body.get("schedule"), str):
        from titan_gitops.cron import spell_out

        body["schedule"] = spell_out(body["schedule"])
    if not any_secret:
        return plain_copy(body), frozenset()
    sensitive: set[str] = set()
    return plain_data(body, "", sensitive), frozenset(sensitive)
