"""Rules on one merged task (text, URLs, schedule, schemas, payload) and across tasks (names)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from titan_gitops.errors import Problem
from titan_gitops.escape import UNSAFE, UNSAFE_IN_TEXT
from titan_gitops.load import LineDict, LineList
from titan_gitops.reserved import LEASE_PREFIX, is_reserved_name
from titan_gitops.spec import NON_BLANK_FIELDS
from titan_gitops.validate.body import plain_data
from titan_gitops.validate.context import Definition, Loc, Run, locate, where_defined
from titan_gitops.validate.files import file_ref

MAX_NAME = 200
MAX_OBJECTIVE = 10_000
_SPACE = re.compile(r"\s")
# Names hold no control (TAB and LF too), invisible or bidirectional character; other text may
# hold newlines and tabs, nothing else of the kind.
_INVISIBLE = UNSAFE
_MODULAR = ("action_type", "input_source", "limits", "payload")


def _show(text: str) -> str:
    """A name safe to print: invisible and control characters shown as code points."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


# --- rules on one merged task -----------------------------------------------------------------


def _check_text(run: Run, data: LineDict, key: str, limit: int, *, required: bool) -> None:
    value = data.get(key)
    if not isinstance(value, str):
        return
    if required and not value.strip():
        run.add(data, (key,), "must not be empty")
    if len(value) > limit:
        run.add(data, (key,), f"is {len(value)} characters long; the limit is {limit}")
    _check_characters(run, data, (key,), value, one_line=key == "name")


def _check_characters(run: Run, data: LineDict, loc: Loc, value: str, *, one_line: bool) -> None:
    """One problem for the first control, invisible or bidirectional character in `value`."""
    found = (_INVISIBLE if one_line else UNSAFE_IN_TEXT).search(value)
    if not found:
        return
    char = found.group()
    kind = "control" if unicodedata.category(char) == "Cc" else "invisible or bidirectional"
    rule = (
        "a name must be one line of visible characters"
        if one_line
        else "only newlines and tabs are allowed"
    )
    run.add(data, loc, f"contains the {kind} character U+{ord(char):04X}; {rule}")


def _check_previous_name_text(run: Run, data: LineDict) -> None:
    for index, old in enumerate(data.get("previous_names") or ()):
        if isinstance(old, str):
            _check_characters(run, data, ("previous_names", index), old, one_line=True)


def _check_urls(run: Run, data: LineDict) -> None:
    urls = data.get("urls")
    if not isinstance(urls, list):
        return
    if not urls:
        run.add(data, ("urls",), "needs at least one URL")
    for index, url in enumerate(urls):
        if isinstance(url, str):
            reason = _url_problem(url)
            if reason:
                run.add(data, ("urls", index), reason)
        # a non-string item was reported by the shape check


def _url_problem(url: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return "only http:// and https:// URLs are allowed"
    if _SPACE.search(url):
        return "a URL must not contain spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    del port
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// URLs are allowed"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return "the URL carries credentials; pass them through a ${TITAN_VAR_*} variable elsewhere"
    return None


def check_schema_field(
    run: Run, data: LineDict, key: str, *, want_object: bool, at: tuple[LineDict, Loc] | None = None
) -> None:
    """Report a JSON Schema at `data[key]` that could not be applied.

    `at` is (the task, the path of `data` in it) when `data` is nested (a plan step), so the
    field is named from the task down: `execution_plan.steps[0].output_schema.propertes`.
    """
    owner, prefix = at if at is not None else (data, ())
    from titan_gitops.schemas import check_schema

    schema = data.get(key)
    # An unresolved {$file: ...} was reported where it was read.
    if not isinstance(schema, dict) or file_ref(schema) is not None:
        return
    for path, message in check_schema(schema):
        run.add(owner, (*prefix, key, *path), message)
    # Exactly "object", as the service (and the emulator) require: a record is never null.
    if want_object and schema.get("type") != "object":
        run.add(owner, (*prefix, key), "an output_schema must describe an object (type: object)")


def _check_schedule(run: Run, data: LineDict) -> None:
    execution = data.get("execution_type")
    schedule = data.get("schedule")
    if execution == "single" and schedule is not None:
        run.add(data, ("schedule",), "a single task has no schedule; remove it or use scheduled")
    if execution == "scheduled" and schedule is None:
        run.add(data, ("execution_type",), "a scheduled task needs a schedule (cron)")
    if isinstance(schedule, str):
        from titan_gitops.cron import check_cron

        reason = check_cron(schedule)
        if reason:
            run.add(data, ("schedule",), reason)


def check_task(run: Run, task: LineDict, schemas: Sequence[tuple[LineDict, str]]) -> None:
    """Every rule on one merged task; `schemas` are the templates (and names) it extends."""
    _check_text(run, task, "name", MAX_NAME, required=True)
    _check_text(run, task, "objective", MAX_OBJECTIVE, required=True)
    _check_previous_name_text(run, task)
    plan = task.get("execution_plan")
    modular = task.get("action_type") is not None
    # Every shape needs urls: a plan's first step reads them (input_source: static_urls).
    required = ["objective", "execution_type", "urls"]
    if plan is None and not modular:
        required.append("output_schema")
    for key in required:
        if task.get(key) is None:
            run.add(task, (), f"{key} is required")
    if plan is not None:
        for key in _MODULAR:
            if task.get(key) is not None:
                run.add(task, (key,), "execution_plan replaces the single-action fields; drop one")
    if task.get("template_id") is not None and task.get("template_slug") is not None:
        run.add(task, ("template_slug",), "use template_slug or template_id, not both")
    _check_schedule(run, task)
    _check_urls(run, task)
    check_schema_field(run, task, "output_schema", want_object=True)
    _check_action_fields(run, task, (), first=True)
    locations = task.get("proxy_locations")
    for index, item in enumerate(locations if isinstance(locations, list) else ()):
        if isinstance(item, str) and not item.strip():
            run.add(task, ("proxy_locations", index), "must not be empty")
    if isinstance(plan, LineDict) and isinstance(plan.get("steps"), LineList):
        for index, step in enumerate(plan["steps"]):
            if isinstance(step, LineDict):
                where: Loc = ("execution_plan", "steps", index)
                check_schema_field(run, step, "output_schema", want_object=True, at=(task, where))
                _check_action_fields(run, task, where, first=index == 0)
    payload = task.get("payload")
    for owner, name in schemas:
        schema = owner.get("payload_schema")
        if isinstance(schema, dict) and _schema_is_clean(schema):
            _check_payload(run, task, payload, schema, name)
    for index, pointer in enumerate(task.get("ignore_fields") or ()):
        if isinstance(pointer, str) and not pointer.startswith("/"):
            run.add(task, ("ignore_fields", index), "must be a JSON pointer such as /limits")


def _check_action_fields(run: Run, task: LineDict, where: Loc, *, first: bool) -> None:
    """Blank strings and `previous_step` where nothing comes before, in the task or one step."""
    holder: Any = task
    for step in where:
        holder = holder[step]
    for key in (*NON_BLANK_FIELDS, *(("name",) if where else ())):
        value = holder.get(key)
        if isinstance(value, str) and not value.strip():
            run.add(task, (*where, key), "must not be empty")
    if holder.get("input_source") == "previous_step" and first:
        place = "the first step" if where else "a task without an execution_plan"
        message = f"'previous_step' is not possible on {place}: no step comes before it"
        run.add(task, (*where, "input_source"), message)


def _schema_is_clean(schema: dict[str, Any]) -> bool:
    from titan_gitops.schemas import check_schema

    return not check_schema(schema)


def _check_payload(run: Run, task: LineDict, payload: Any, schema: Any, template: str) -> None:
    from titan_gitops.schemas import validate_instance

    instance = plain_data(payload if payload is not None else {}, "", set())
    for path, message in validate_instance(schema, instance):
        loc: Loc = ("payload", *path) if payload is not None else ()
        run.add(task, loc, f"{message} (payload_schema of template {template!r})")


# --- names across tasks -----------------------------------------------------------------------


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip()


def check_names(run: Run, tasks: Sequence[Definition], namespace: str | None) -> None:
    """Names unique after NFC and trimming, in the namespace; previous names free."""
    by_name: dict[str, Definition] = {}
    by_case: dict[str, Definition] = {}
    for task in tasks:
        name = task.data.get("name")
        if not isinstance(name, str):
            continue
        folded = _fold(name)
        if folded in by_name:
            where = where_defined(by_name[folded])
            run.add(task.data, ("name",), f"task {_show(name)!r} is also defined at {where}")
            continue
        by_name[folded] = task
        if folded.casefold() in by_case:
            src, line, col = locate(task.data, ("name",), (task.document.path, 1, 1))
            other = where_defined(by_case[folded.casefold()])
            message = f"differs only by case from the task at {other}"
            run.warnings.append(Problem(src, line, col, "name", message, severity="warning"))
        by_case.setdefault(folded.casefold(), task)
        if namespace and not name.startswith(namespace):
            run.add(task.data, ("name",), f"must start with the namespace {namespace!r}")
        if is_reserved_name(folded):
            message = f"names starting with {LEASE_PREFIX!r} are reserved for apply leases"
            run.add(task.data, ("name",), message)
    _check_previous_names(run, tasks, by_name)


def _check_previous_names(
    run: Run, tasks: Sequence[Definition], by_name: dict[str, Definition]
) -> None:
    for task in tasks:
        own = task.data.get("name")
        previous = task.data.get("previous_names")
        if not isinstance(previous, list):
            continue
        for index, old in enumerate(previous):
            if not isinstance(old, str):
                continue
            other = by_name.get(_fold(old))
            loc: Loc = ("previous_names", index)
            if other is task or old == own:
                run.add(task.data, loc, "a previous name cannot be the task's own name")
            elif other is not None:
                where = where_defined(other)
                run.add(task.data, loc, f"{_show(old)!r} is the name of another task ({where})")
