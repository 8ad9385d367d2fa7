"""Result records of emulated executions: valid instances of an output_schema.

Objects, arrays, $ref and anyOf/oneOf are built here, leaf values in scalars.py; records_csv.py
renders records as CSV.

Records are deterministic: the same seed always yields the same records, drawn from a
`random.Random` seeded with the SHA-256 of the seed (never the global generator).

Supported keywords (Draft 2020-12), which the generator satisfies by construction:
``type`` (a name or a list), ``const``, ``enum``, ``properties`` (every property is emitted unless
its value cannot be built and it is optional), ``required``, ``additionalProperties`` (for required
names not listed in ``properties``), ``minProperties``, ``items``, ``prefixItems``, ``minItems``,
``maxItems``, ``uniqueItems`` (best effort), ``minLength``, ``maxLength``, ``pattern`` (a value is
built from the regular expression, else a few plain candidates are tried; an optional property
whose pattern defeats both is left out), ``format`` (email, uri, url, uri-reference, iri, date,
date-time, time, uuid, hostname, ipv4, and ``media``, which becomes ``media_url(key)`` with a key
stable per seed and JSON path), ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum``, ``multipleOf``, ``anyOf`` / ``oneOf`` (branches are tried in order),
``$ref`` to ``#/$defs/...`` or ``#/definitions/...`` (recursion is cut short by emitting only
required properties and minimal arrays past a depth).

Every other keyword (``allOf``, ``not``, ``if``/``then``/``else``, ``patternProperties``,
``dependentRequired``, ``contains``, ``propertyNames``, ...) is not used to build values. Each
record is still checked against the whole schema with ``jsonschema.Draft202012Validator`` (plus
the formats listed above), and rebuilt with fresh random draws a few times if it fails; a schema
that still defeats the generator raises ``SchemaNotSupported`` (a ``ValueError``) naming the first
violation, so an invalid record is never returned.
"""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from titan_gitops.emulator.scalars import (
    BUILT_FORMATS,
    WORDS,
    BuildContext,
    Unsatisfiable,
    build_boolean,
    build_integer,
    build_null,
    build_number,
    build_string,
    build_text,
)

__all__ = ["SchemaNotSupported", "generate_records"]

# Past this nesting depth, recursion through $ref is cut: only required properties, minimal arrays.
_SHALLOW_DEPTH = 6


# Past this depth nothing more can be built (a required cycle with no way out).
_MAX_DEPTH = 24


# How often a record is rebuilt with fresh draws before the schema is declared unsupported.
_ATTEMPTS = 8


class SchemaNotSupported(ValueError):
    """The output_schema cannot be satisfied by the generator (or is not a valid JSON Schema)."""


def generate_records(
    output_schema: Mapping[str, Any] | None,
    *,
    seed: str,
    count: int | None = None,
    media_url: Callable[[str], str],
) -> list[dict[str, Any]]:
    """Build `count` records (default: 1-5, chosen by the seed) valid against `output_schema`.

    A missing or empty schema (modular tasks carry none) yields ``{"url", "title"}`` records.
    Raises SchemaNotSupported when the schema is invalid, does not describe objects, or defeats
    the generator.
    """
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    total = count if count is not None else 1 + digest[0] % 5
    if total < 0:
        raise ValueError("count must not be negative")
    rng = random.Random(digest)
    if not output_schema:
        return [_build_default_record(rng, index) for index in range(total)]
    schema = _check_schema(output_schema)
    validator = Draft202012Validator(schema, format_checker=_build_format_checker())
    return [_build_valid_record(schema, validator, rng, seed, media_url, i) for i in range(total)]


def _check_schema(output_schema: Mapping[str, Any]) -> dict[str, Any]:
    schema = dict(output_schema)
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaNotSupported(
            f"output_schema is not a valid JSON Schema: {exc.message}"
        ) from None
    declared = schema.get("type", "object")
    types = declared if isinstance(declared, list) else [declared]
    if "object" not in types:
        raise SchemaNotSupported("output_schema must describe objects (type: object)")
    return schema


def _build_format_checker() -> FormatChecker:
    # The draft's own checker: the class-wide one mixes in Draft 3's idea of "time".
    checker = FormatChecker(formats=())
    for name, (func, raises) in Draft202012Validator.FORMAT_CHECKER.checkers.items():
        if name in BUILT_FORMATS:
            checker.checks(name, raises)(func)
    return checker


def _build_valid_record(
    schema: Mapping[str, Any],
    validator: Draft202012Validator,
    rng: random.Random,
    seed: str,
    media_url: Callable[[str], str],
    index: int,
) -> dict[str, Any]:
    problem = "no value could be built"
    for attempt in range(_ATTEMPTS):
        ctx = BuildContext(root=schema, rng=rng, seed=seed, attempt=attempt, media_url=media_url)
        try:
            value = _build_value(schema, ctx, f"/{index}", 0)
        except Unsatisfiable as exc:
            problem = str(exc)
            continue
        error = best_match(validator.iter_errors(value))
        if error is None and isinstance(value, dict):
            return value
        if error is not None:
            problem = f"{error.json_path}: {error.message}"
    raise SchemaNotSupported(f"cannot build a record for this output_schema ({problem})")


def _build_default_record(rng: random.Random, index: int) -> dict[str, Any]:
    words = [rng.choice(WORDS) for _ in range(3)]
    return {
        "url": f"https://example.com/{words[0]}/{index + 1}",
        "title": " ".join(words).capitalize(),
    }


def _build_value(schema: Any, ctx: BuildContext, path: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise Unsatisfiable(f"{path}: nesting too deep")
    if schema is True or schema == {}:
        return build_text(ctx.rng, 1, 12)
    if schema is False:
        raise Unsatisfiable(f"{path}: schema is false")
    if not isinstance(schema, Mapping):
        raise Unsatisfiable(f"{path}: schema is not an object")
    if "$ref" in schema:
        return _build_value(_merge_ref(schema, ctx.root), ctx, path, depth + 1)
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        return copy.deepcopy(ctx.rng.choice(schema["enum"]))
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return _build_branch(schema, branches, ctx, path, depth)
    kind = _pick_type(schema, ctx.rng)
    builder = _BUILDERS[kind]
    return builder(schema, ctx, path, depth)


def _merge_ref(schema: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    ref = schema["$ref"]
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise Unsatisfiable(f"$ref {ref!r}: only local #/$defs references are supported")
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise Unsatisfiable(f"$ref {ref!r} does not resolve")
        target = target[part]
    if target is True:
        target = {}
    if not isinstance(target, Mapping):
        raise Unsatisfiable(f"$ref {ref!r} points at a false or non-object schema")
    siblings = {key: value for key, value in schema.items() if key != "$ref"}
    return _merge_schemas(target, siblings)


def _merge_schemas(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay `extra` on `base`, uniting properties and required (enough for branch siblings)."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        else:
            merged[key] = value
    return merged


def _build_branch(
    schema: Mapping[str, Any], branches: list[Any], ctx: BuildContext, path: str, depth: int
) -> Any:
    siblings = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
    # Later attempts start from a later branch, so a branch that defeats validation is not retried.
    start = ctx.attempt % len(branches)
    for offset in range(len(branches)):
        branch = branches[(start + offset) % len(branches)]
        if branch is False:
            continue
        candidate = _merge_schemas(siblings, branch) if isinstance(branch, Mapping) else siblings
        try:
            return _build_value(candidate, ctx, path, depth + 1)
        except Unsatisfiable:
            continue
    raise Unsatisfiable(f"{path}: no anyOf/oneOf branch can be built")


def _pick_type(schema: Mapping[str, Any], rng: random.Random) -> str:
    declared = schema.get("type")
    if isinstance(declared, str):
        return "number" if declared not in _BUILDERS else declared
    if isinstance(declared, list) and declared:
        return str(rng.choice(declared))
    if any(key in schema for key in ("properties", "required", "additionalProperties")):
        return "object"
    if any(key in schema for key in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(key in schema for key in ("minimum", "maximum", "exclusiveMinimum", "multipleOf")):
        return "number"
    return "string"


def _build_object(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    shallow = depth > _SHALLOW_DEPTH
    result: dict[str, Any] = {}
    for name, sub in properties.items():
        is_required = name in required
        if shallow and not is_required:
            continue
        try:
            result[name] = _build_value(sub, ctx, f"{path}/{name}", depth + 1)
        except Unsatisfiable:
            if is_required:
                raise
    extra_schema = schema.get("additionalProperties", True)
    for name in sorted(required - set(properties)):
        if extra_schema is False:
            raise Unsatisfiable(f"{path}: required {name!r} is not allowed by the schema")
        result[name] = _build_value(extra_schema, ctx, f"{path}/{name}", depth + 1)
    serial = 0
    while len(result) < schema.get("minProperties", 0):
        if extra_schema is False:
            raise Unsatisfiable(f"{path}: minProperties exceeds the allowed properties")
        serial += 1
        name = f"extra_{serial}"
        if name not in result:
            result[name] = _build_value(extra_schema, ctx, f"{path}/{name}", depth + 1)
    return result


def _build_array(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    prefix: list[Any] = schema.get("prefixItems", [])
    items = schema.get("items", True)
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", low + 3))
    if high < low:
        raise Unsatisfiable(f"{path}: maxItems is below minItems")
    if depth > _SHALLOW_DEPTH or items is False:
        size = low
    else:
        # Prefer non-empty arrays: an empty one shows nothing of the item shape.
        size = ctx.rng.randint(min(max(low, 1), high), min(max(low, 1) + 2, high))
    if items is False and size > len(prefix):
        raise Unsatisfiable(f"{path}: minItems needs more items than prefixItems allows")
    values: list[Any] = []
    for position in range(size):
        sub = prefix[position] if position < len(prefix) else items
        element_path = f"{path}/{position}"
        value = _build_value(sub, ctx, element_path, depth + 1)
        if schema.get("uniqueItems"):
            for _ in range(4):
                if value not in values:
                    break
                value = _build_value(sub, ctx, element_path, depth + 1)
            if value in values:
                if position >= low:
                    break
                raise Unsatisfiable(f"{path}: cannot build enough unique items")
        values.append(value)
    return values


_BUILDERS: dict[str, Callable[[Mapping[str, Any], BuildContext, str, int], Any]] = {
    "object": _build_object,
    "array": _build_array,
    "string": build_string,
    "integer": build_integer,
    "number": build_number,
    "boolean": build_boolean,
    "null": build_null,
}
