"""What makes a task body valid: the emulator's reading of Titan's task validation rules.

Every problem is collected and reported together in one 400 message, each prefixed with the
field it is about (e.g. "output_schema: must be a JSON object schema"), in a fixed order.

Choices where the docs are silent:
- Unknown fields are rejected at every depth (the task, `execution_plan`, each step, `limits`),
  with the closest known name as a hint, so a typo never silently vanishes.
- A top-level field set to null counts as absent (PATCH uses null to remove a key); below the
  top level (a step's fields, `limits` values) null is a value of the wrong type and is refused.
- `name`, `urls`, `objective` and `execution_type` are required for every shape; `output_schema`
  only for classic tasks (without `action_type` or `execution_plan`), as the docs' modular
  examples omit it.
- `output_schema` must be a mapping with `"type": "object"` that passes the JSON Schema
  (Draft 2020-12) meta-schema; `format: media` is accepted like any other format. Every key at
  a schema position must be a 2020-12 keyword or an `x-` extension key (SCHEMA_KEYWORDS).
- `urls`: a non-empty list of absolute http(s) URLs with a host and no whitespace at all.
- `schedule` is required for `scheduled` tasks, refused on `single` ones, and must be a
  5-field cron expression (see cron.py); no timezone field exists, times are UTC.
- `proxy_locations`: a list of non-empty strings (each bad item named). `script_id`: a non-empty
  string; `script_version`: a non-empty string or an integer. `payload`: a mapping (free-form).
- `limits`: a mapping of only the keys Titan's templates use (LIMIT_KEYS: counts and seconds),
  each a non-negative integer no larger than MAX_LIMIT (a 32-bit signed integer); a boolean is
  not an integer.
- `input_source`: `static_urls` or `previous_step`; `previous_step` only on a plan step after
  the first.
- `template_id` and `template_slug` exclude each other and must name a known template; when the
  task (or step) also sets `action_type`, it must equal the template's.
- `execution_plan` is `{"steps": [step, ...]}` with at least one step; a step holds
  `action_type` and `input_source` (both required: a step says how it is wired),
  `template_id`/`template_slug`, `script_id`, `script_version`, `limits`, `payload`,
  `output_schema`, `name`. It cannot be combined with the
  top-level single-action fields `action_type`, `input_source`, `limits`, `payload`.
- Template defaults are not merged into the stored task: it keeps exactly what was sent.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from titan_gitops.emulator.cron import CronError, parse_cron
from titan_gitops.emulator.templates import ACTION_TYPES, TemplateCatalog

TASK_FIELDS = (
    "name",
    "urls",
    "objective",
    "output_schema",
    "execution_type",
    "schedule",
    "proxy_locations",
    "template_id",
    "template_slug",
    "script_id",
    "script_version",
    "action_type",
    "input_source",
    "limits",
    "payload",
    "execution_plan",
)
# Fields the server owns: ignored when a client sends them back (e.g. GET, edit, PUT).
SERVER_FIELDS = ("id", "status", "created_at", "updated_at")
EXECUTION_TYPES = ("single", "scheduled")
INPUT_SOURCES = ("static_urls", "previous_step")
SINGLE_ACTION_FIELDS = ("action_type", "input_source", "limits", "payload")
LIMIT_KEYS = ("max_results", "max_pages", "max_depth", "timeout_seconds", "max_retries")
MAX_LIMIT = 2_147_483_647
_WHITESPACE = re.compile(r"\s")
STEP_FIELDS = frozenset(
    {
        "name",
        "action_type",
        "input_source",
        "template_id",
        "template_slug",
        "script_id",
        "script_version",
        "limits",
        "payload",
        "output_schema",
    }
)


def strip_task_body(body: dict[str, Any]) -> dict[str, Any]:
    """The user part of a body: server fields dropped, null values treated as absent."""
    return {
        key: value for key, value in body.items() if key not in SERVER_FIELDS and value is not None
    }


def check_task(task: dict[str, Any], templates: TemplateCatalog) -> list[str]:
    """Every problem of a (stripped) task body, each naming its field; empty when valid."""
    problems: list[str] = []
    report_unknown(task, TASK_FIELDS, "", problems)
    plan = task.get("execution_plan")
    classic = "action_type" not in task and plan is None
    required = ["name", "urls", "objective", "execution_type"]
    if classic:
        required.insert(3, "output_schema")
    for key in required:
        if key not in task:
            problems.append(f"{key}: required")
    if "name" in task:
        _check_text(task["name"], "name", problems)
    if "objective" in task:
        _check_text(task["objective"], "objective", problems)
    if "urls" in task:
        check_urls(task["urls"], "urls", problems)
    if "output_schema" in task:
        _check_output_schema(task["output_schema"], "output_schema", problems)
    _check_schedule(task, problems)
    if "proxy_locations" in task:
        locations = task["proxy_locations"]
        if not isinstance(locations, list):
            problems.append("proxy_locations: must be a list of non-empty strings")
        else:
            for index, item in enumerate(locations):
                if not isinstance(item, str) or not item.strip():
                    problems.append(f"proxy_locations[{index}]: must be a non-empty string")
    _check_action_fields(task, "", problems, templates, first_step=True, top_level=True)
    if plan is not None:
        _check_plan(task, plan, problems, templates)
    return problems


def report_unknown(
    holder: dict[str, Any], known: Iterable[str], prefix: str, out: list[str]
) -> None:
    """One problem per key of `holder` not in `known`, with the closest known key as a hint."""
    names = list(known)
    for key in sorted(set(holder) - set(names)):
        hint = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        suffix = f" (did you mean {hint[0]}?)" if hint else ""
        out.append(f"{prefix}{key}: unknown field{suffix}")


def _check_limits(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where}: must be a JSON object")
        return
    report_unknown(value, LIMIT_KEYS, f"{where}.", problems)
    for key in LIMIT_KEYS:
        if key not in value:
            continue
        count = value[key]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_LIMIT:
            problems.append(
                f"{where}.{key}: must be a non-negative integer no larger than {MAX_LIMIT}"
            )


def _check_text(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a non-empty string")


def check_urls(value: Any, where: str, problems: list[str]) -> None:
    """Append a problem unless `value` is a non-empty list of absolute http(s) URLs."""
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: must be a non-empty list of http(s) URLs")
        return
    for index, url in enumerate(value):
        if not isinstance(url, str) or not _is_http_url(url):
            problems.append(f"{where}[{index}]: must be an absolute http or https URL")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it raises on a malformed port
    except ValueError:
        return False
    no_space = not _WHITESPACE.search(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and no_space


@lru_cache(maxsize=256)
def _meta_schema_error(text: str) -> str | None:
    """Why the schema in JSON `text` is not a valid JSON Schema (its path, then the reason), or
    None. Kept per text (key order and number types included): tasks share their schemas, and
    the check is most of what a create costs the emulator."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(text))
    except SchemaError as exc:
        path = "".join(f"[{part!r}]" for part in exc.path)
        return f"{path}: not a valid JSON Schema ({exc.message})"
    return None


def _check_output_schema(value: Any, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict) or value.get("type") != "object":
        problems.append(f'{where}: must be a JSON object schema ("type": "object")')
        return
    invalid = _meta_schema_error(json.dumps(value))
    if invalid is not None:
        problems.append(f"{where}{invalid}")
    for at, key in _unknown_keywords(value, ()):
        shown = "".join(f"[{part!r}]" for part in (*at, key))
        hint = difflib.get_close_matches(key, sorted(SCHEMA_KEYWORDS), n=1, cutoff=0.6)
        why = f"did you mean {hint[0]}?" if hint else "an extension key must start with x-"
        problems.append(f"{where}{shown}: unknown JSON Schema keyword ({why})")


# Unknown JSON Schema keywords are refused: the 2020-12 meta-schema lets any keyword through,
# so a typo (`maxLenght`) would constrain nothing. A key at a schema position must be a Draft
# 2020-12 keyword (core, applicator, unevaluated, validation, meta-data, format, content; plus
# the legacy `definitions`) or start with `x-`, the one escape hatch. Property names and the
# values of const/enum/default/examples are data and never looked at. This is the emulator's
# own copy of the list; it imports nothing from the rest of the package.
SCHEMA_KEYWORDS = frozenset(
    {
        *("$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor"),
        *("$vocabulary", "$comment", "$defs", "definitions"),
        *("prefixItems", "items", "contains", "additionalProperties", "properties"),
        *("patternProperties", "dependentSchemas", "propertyNames", "if", "then", "else"),
        *("allOf", "anyOf", "oneOf", "not", "unevaluatedItems", "unevaluatedProperties"),
        *("type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum"),
        *("exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
        *("uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties"),
        *("required", "dependentRequired"),
        *("title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples"),
        *("format", "contentEncoding", "contentMediaType", "contentSchema"),
    }
)
_ONE_SCHEMA = (
    *("items", "additionalProperties", "not", "if", "then", "else", "contains"),
    *("propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema"),
)
_NAMED_SCHEMAS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LISTED_SCHEMAS = ("prefixItems", "allOf", "anyOf", "oneOf")


def _unknown_keywords(schema: Any, path: tuple[Any, ...]) -> Iterable[tuple[tuple[Any, ...], str]]:
    """(path of the holding schema, key) for every key that is no keyword and no `x-` key."""
    if not isinstance(schema, dict):
        return
    for key in schema:
        if key not in SCHEMA_KEYWORDS and not str(key).startswith("x-"):
            yield path, str(key)
    for key in _ONE_SCHEMA:
        if key in schema:
            yield from _unknown_keywords(schema[key], (*path, key))
    for key in _NAMED_SCHEMAS:
        for name, sub in (schema[key] if isinstance(schema.get(key), dict) else {}).items():
            yield from _unknown_keywords(sub, (*path, key, name))
    for key in _LISTED_SCHEMAS:
        for index, sub in enumerate(schema[key] if isinstance(schema.get(key), list) else []):
            yield from _unknown_keywords(sub, (*path, key, index))


def _check_schedule(task: dict[str, Any], problems: list[str]) -> None:
    execution_type = task.get("execution_type")
    if "execution_type" in task and execution_type not in EXECUTION_TYPES:
        problems.append("execution_type: must be 'single' or 'scheduled'")
        return
    schedule = task.get("schedule")
    if execution_type == "scheduled" and schedule is None:
        problems.append("schedule: required when execution_type is 'scheduled'")
    elif schedule is not None and execution_type == "single":
        problems.append("schedule: only allowed when execution_type is 'scheduled'")
    elif schedule is not None:
        if not isinstance(schedule, str):
            problems.append("schedule: must be a 5-field cron expression string")
            return
        try:
            parse_cron(schedule)
        except CronError as exc:
            problems.append(f"schedule: not a valid 5-field cron expression: {exc}")


def _check_action_fields(
    holder: dict[str, Any],
    prefix: str,
    problems: list[str],
    templates: TemplateCatalog,
    *,
    first_step: bool,
    top_level: bool,
) -> None:
    action_type = holder.get("action_type")
    if "action_type" in holder and action_type not in ACTION_TYPES:
        problems.append(f"{prefix}action_type: must be one of {', '.join(ACTION_TYPES)}")
        action_type = None
    if "input_source" in holder:
        source = holder["input_source"]
        if source not in INPUT_SOURCES:
            problems.append(f"{prefix}input_source: must be one of {', '.join(INPUT_SOURCES)}")
        elif source == "previous_step" and first_step:
            where = "a task without an execution_plan" if top_level else "the first step"
            problems.append(f"{prefix}input_source: 'previous_step' is not possible on {where}")
    if "payload" in holder and not isinstance(holder["payload"], dict):
        problems.append(f"{prefix}payload: must be a JSON object")
    if "limits" in holder:
        _check_limits(holder["limits"], f"{prefix}limits", problems)
    if "script_id" in holder:
        _check_text(holder["script_id"], f"{prefix}script_id", problems)
    if "script_version" in holder:
        version = holder["script_version"]
        if isinstance(version, bool) or not (
            isinstance(version, int) or (isinstance(version, str) and version.strip())
        ):
            problems.append(f"{prefix}script_version: must be a non-empty string or an integer")
    _check_template_ref(holder, prefix, problems, templates, action_type)


def _check_template_ref(
    holder: dict[str, Any],
    prefix: str,
    problems: list[str],
    templates: TemplateCatalog,
    action_type: Any,
) -> None:
    if "template_id" in holder and "template_slug" in holder:
        problems.append(f"{prefix}template_id: set template_id or template_slug, not both")
        return
    for key, find in (
        ("template_id", templates.find_by_id),
        ("template_slug", templates.find_by_slug),
    ):
        if key not in holder:
            continue
        ref = holder[key]
        if not isinstance(ref, str) or not ref:
            problems.append(f"{prefix}{key}: must be a non-empty string")
            continue
        template = find(ref)
        if template is None:
            problems.append(f"{prefix}{key}: no template {ref!r}")
        elif action_type is not None and template["action_type"] != action_type:
            problems.append(
                f"{prefix}{key}: template {ref!r} is for action_type "
                f"{template['action_type']!r}, not {action_type!r}"
            )


def _check_plan(
    task: dict[str, Any], plan: Any, problems: list[str], templates: TemplateCatalog
) -> None:
    for key in SINGLE_ACTION_FIELDS:
        if key in task:
            problems.append(f"execution_plan: cannot be combined with top-level {key}")
    if not isinstance(plan, dict):
        problems.append('execution_plan: must be a JSON object {"steps": [...]}')
        return
    report_unknown(plan, ("steps",), "execution_plan.", problems)
    steps = plan.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append("execution_plan.steps: must be a non-empty list")
        return
    for index, step in enumerate(steps):
        prefix = f"execution_plan.steps[{index}]."
        if not isinstance(step, dict):
            problems.append(f"{prefix[:-1]}: must be a JSON object")
            continue
        report_unknown(step, sorted(STEP_FIELDS), prefix, problems)
        for key in ("action_type", "input_source"):
            if key not in step:
                problems.append(f"{prefix}{key}: required")
        if "name" in step:
            _check_text(step["name"], f"{prefix}name", problems)
        if "output_schema" in step:
            _check_output_schema(step["output_schema"], f"{prefix}output_schema", problems)
        _check_action_fields(
            step, prefix, problems, templates, first_step=index == 0, top_level=False
        )
