"""Result records of emulated executions: valid instances of an output_schema, and their CSV.

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
import csv
import datetime
import hashlib
import importlib
import io
import json
import math
import operator
import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

__all__ = [
    "SchemaNotSupported",
    "flatten_record",
    "generate_records",
    "records_to_csv",
]

Cell = str | int | float | bool | None

# Past this nesting depth, recursion through $ref is cut: only required properties, minimal arrays.
_SHALLOW_DEPTH = 6
# Past this depth nothing more can be built (a required cycle with no way out).
_MAX_DEPTH = 24
# How often a record is rebuilt with fresh draws before the schema is declared unsupported.
_ATTEMPTS = 8
# Formats whose values the generator builds; validation checks them when jsonschema can.
_BUILT_FORMATS = frozenset(
    {
        "email",
        "uri",
        "url",
        "uri-reference",
        "iri",
        "date",
        "date-time",
        "time",
        "uuid",
        "hostname",
        "ipv4",
        "media",
    }
)
_WORDS = ("amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "indigo")
_PATTERN_CANDIDATES = ("a", "abc", "A", "ABC", "0", "123", "a1", "x-1", "2026-01-01", "", "a b")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class SchemaNotSupported(ValueError):
    """The output_schema cannot be satisfied by the generator (or is not a valid JSON Schema)."""


class _Unsatisfiable(Exception):
    """Internal: this sub-schema has no value the generator can build."""


@dataclass
class _Context:
    root: Mapping[str, Any]
    rng: random.Random
    seed: str
    attempt: int
    media_url: Callable[[str], str]


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


def flatten_record(record: Mapping[str, Any]) -> dict[str, Cell]:
    """Flatten one record to columns.

    Nested objects become dotted columns (``{"price": {"amount": 1}}`` → ``price.amount``); an empty
    nested object is kept as the string ``"{}"`` so its column does not vanish. Every array (of
    scalars or of objects) becomes one column holding its compact JSON text, so a cell always
    round-trips with ``json.loads``. Keys that contain a dot are not escaped: ``{"a.b": 1}`` and
    ``{"a": {"b": 1}}`` both give the column ``a.b``.
    """
    flat: dict[str, Cell] = {}
    _flatten_into(flat, "", record)
    return flat


def records_to_csv(records: Iterable[Mapping[str, Any]]) -> bytes:
    """Render records as RFC 4180 CSV: UTF-8, ``\\r\\n`` line ends, a header row always present.

    Columns are the union of every record's flattened columns in first-seen order (the schema's
    property order, since records follow it). A missing or null value is an empty cell; booleans
    are ``true``/``false`` as in JSON. A text cell starting with ``= + - @``, a tab or a carriage
    return gets a leading ``'`` so spreadsheets do not run it as a formula; numbers are never
    altered, so a negative number stays as it is.
    """
    rows = [flatten_record(record) for record in records]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_format_cell(row.get(column)) for column in columns])
    return out.getvalue().encode("utf-8")


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
        if name in _BUILT_FORMATS:
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
        ctx = _Context(root=schema, rng=rng, seed=seed, attempt=attempt, media_url=media_url)
        try:
            value = _build_value(schema, ctx, f"/{index}", 0)
        except _Unsatisfiable as exc:
            problem = str(exc)
            continue
        error = best_match(validator.iter_errors(value))
        if error is None and isinstance(value, dict):
            return value
        if error is not None:
            problem = f"{error.json_path}: {error.message}"
    raise SchemaNotSupported(f"cannot build a record for this output_schema ({problem})")


def _build_default_record(rng: random.Random, index: int) -> dict[str, Any]:
    words = [rng.choice(_WORDS) for _ in range(3)]
    return {
        "url": f"https://example.com/{words[0]}/{index + 1}",
        "title": " ".join(words).capitalize(),
    }


def _build_value(schema: Any, ctx: _Context, path: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise _Unsatisfiable(f"{path}: nesting too deep")
    if schema is True or schema == {}:
        return _build_text(ctx.rng, 1, 12)
    if schema is False:
        raise _Unsatisfiable(f"{path}: schema is false")
    if not isinstance(schema, Mapping):
        raise _Unsatisfiable(f"{path}: schema is not an object")
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
        raise _Unsatisfiable(f"$ref {ref!r}: only local #/$defs references are supported")
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            raise _Unsatisfiable(f"$ref {ref!r} does not resolve")
        target = target[part]
    if target is True:
        target = {}
    if not isinstance(target, Mapping):
        raise _Unsatisfiable(f"$ref {ref!r} points at a false or non-object schema")
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
    schema: Mapping[str, Any], branches: list[Any], ctx: _Context, path: str, depth: int
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
        except _Unsatisfiable:
            continue
    raise _Unsatisfiable(f"{path}: no anyOf/oneOf branch can be built")


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


def _build_object(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
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
        except _Unsatisfiable:
            if is_required:
                raise
    extra_schema = schema.get("additionalProperties", True)
    for name in sorted(required - set(properties)):
        if extra_schema is False:
            raise _Unsatisfiable(f"{path}: required {name!r} is not allowed by the schema")
        result[name] = _build_value(extra_schema, ctx, f"{path}/{name}", depth + 1)
    serial = 0
    while len(result) < schema.get("minProperties", 0):
        if extra_schema is False:
            raise _Unsatisfiable(f"{path}: minProperties exceeds the allowed properties")
        serial += 1
        name = f"extra_{serial}"
        if name not in result:
            result[name] = _build_value(extra_schema, ctx, f"{path}/{name}", depth + 1)
    return result


def _build_array(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
    prefix: list[Any] = schema.get("prefixItems", [])
    items = schema.get("items", True)
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", low + 3))
    if high < low:
        raise _Unsatisfiable(f"{path}: maxItems is below minItems")
    if depth > _SHALLOW_DEPTH or items is False:
        size = low
    else:
        # Prefer non-empty arrays: an empty one shows nothing of the item shape.
        size = ctx.rng.randint(min(max(low, 1), high), min(max(low, 1) + 2, high))
    if items is False and size > len(prefix):
        raise _Unsatisfiable(f"{path}: minItems needs more items than prefixItems allows")
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
                raise _Unsatisfiable(f"{path}: cannot build enough unique items")
        values.append(value)
    return values


def _build_string(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
    low = int(schema.get("minLength", 0))
    # Without maxLength any length is valid; plain text is still kept short to stay readable.
    high = int(schema.get("maxLength", 1_000_000))
    if high < low:
        raise _Unsatisfiable(f"{path}: maxLength is below minLength")
    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(fmt, str) and fmt in _BUILT_FORMATS:
        if fmt == "media":
            key = hashlib.sha256(f"{ctx.seed}\x00{path}".encode()).hexdigest()[:32]
            value = ctx.media_url(key)
        else:
            value = _build_formatted(fmt, ctx.rng)
        fits = low <= len(value) <= high
        if not fits or (isinstance(pattern, str) and not re.search(pattern, value)):
            raise _Unsatisfiable(f"{path}: a {fmt} value does not fit the length or pattern")
        return value
    if isinstance(pattern, str):
        return _build_patterned(pattern, low, high, ctx.rng, path)
    # Prefer non-empty text: an empty cell looks like missing data.
    return _build_text(ctx.rng, min(max(low, 1), high), min(high, max(low, 24)))


def _build_formatted(fmt: str, rng: random.Random) -> str:
    word = rng.choice(_WORDS)
    number = rng.randrange(1, 10_000)
    moment = _EPOCH + datetime.timedelta(seconds=rng.randrange(0, 365 * 86_400))
    if fmt == "email":
        return f"{word}{number}@example.com"
    if fmt in ("uri", "url", "iri", "uri-reference"):
        return f"https://example.com/{word}/{number}"
    if fmt == "date":
        return moment.date().isoformat()
    if fmt == "date-time":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "time":
        return moment.strftime("%H:%M:%SZ")
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt == "hostname":
        return f"{word}.example.com"
    return f"192.0.2.{number % 254 + 1}"


def _build_text(rng: random.Random, low: int, high: int) -> str:
    target = rng.randint(low, high) if high - low <= 24 else rng.randint(low, low + 24)
    text = ""
    while len(text) < target:
        text = f"{text} {rng.choice(_WORDS)}" if text else rng.choice(_WORDS)
    text = text[:target]
    # A trailing space after cutting reads like a bug in the data; swap it for a letter.
    return text[:-1] + "x" if text.endswith(" ") else text


def _build_patterned(pattern: str, low: int, high: int, rng: random.Random, path: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error:
        raise _Unsatisfiable(f"{path}: pattern is not a usable regular expression") from None
    candidates: list[str] = []
    for _ in range(6):
        built = _build_from_regex(pattern, rng)
        if built is not None:
            candidates.append(built)
    candidates.extend(_PATTERN_CANDIDATES)
    candidates.append(_build_text(rng, low, min(high, max(low, 24))))
    for candidate in candidates:
        if low <= len(candidate) <= high and compiled.search(candidate):
            return candidate
    raise _Unsatisfiable(f"{path}: no value found for pattern {pattern!r}")


def _build_from_regex(pattern: str, rng: random.Random) -> str | None:
    """Walk the stdlib regex parse tree to build a matching string, or None when it cannot."""
    try:
        parser: Any = importlib.import_module("re._parser")
        constants: Any = importlib.import_module("re._constants")
        tree = parser.parse(pattern)
        return "".join(_walk_regex(tree, rng, constants))
    except Exception:
        # The private parser may change shape in a later Python; the plain candidates still apply.
        return None


def _walk_regex(tree: Any, rng: random.Random, c: Any) -> Iterable[str]:
    for op, arg in tree:
        if op is c.LITERAL:
            yield chr(arg)
        elif op is c.NOT_LITERAL:
            yield "b" if chr(arg) == "a" else "a"
        elif op is c.ANY:
            yield rng.choice("abcxyz")
        elif op is c.IN:
            yield _pick_from_class(arg, rng, c)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            upper = low + 3 if high == c.MAXREPEAT else min(high, low + 3)
            for _ in range(rng.randint(low, upper)):
                yield from _walk_regex(sub, rng, c)
        elif op is c.SUBPATTERN:
            yield from _walk_regex(arg[-1], rng, c)
        elif op is c.BRANCH:
            yield from _walk_regex(rng.choice(arg[1]), rng, c)
        elif op is c.AT:
            continue
        elif op is c.CATEGORY:
            yield _pick_from_category(arg, c)
        else:
            raise ValueError(f"unsupported regex construct {op}")


def _pick_from_class(items: list[tuple[Any, Any]], rng: random.Random, c: Any) -> str:
    if items and items[0][0] is c.NEGATE:
        excluded = "".join(_pick_all_from_class(items[1:], c))
        for char in "axZ09-_":
            if char not in excluded:
                return char
        raise ValueError("negated class excludes every candidate")
    options = _pick_all_from_class(items, c)
    return rng.choice(options)


def _pick_all_from_class(items: list[tuple[Any, Any]], c: Any) -> list[str]:
    options: list[str] = []
    for op, arg in items:
        if op is c.LITERAL:
            options.append(chr(arg))
        elif op is c.RANGE:
            options.extend(chr(code) for code in range(arg[0], min(arg[1], arg[0] + 25) + 1))
        elif op is c.CATEGORY:
            options.append(_pick_from_category(arg, c))
        else:
            raise ValueError(f"unsupported class member {op}")
    return options


def _pick_from_category(category: Any, c: Any) -> str:
    picks = {
        c.CATEGORY_DIGIT: "7",
        c.CATEGORY_NOT_DIGIT: "a",
        c.CATEGORY_WORD: "w",
        c.CATEGORY_NOT_WORD: "-",
        c.CATEGORY_SPACE: " ",
        c.CATEGORY_NOT_SPACE: "s",
    }
    return picks[category]


def _build_integer(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
    lows = [math.ceil(schema["minimum"])] if "minimum" in schema else []
    if "exclusiveMinimum" in schema:
        lows.append(math.floor(schema["exclusiveMinimum"]) + 1)
    highs = [math.floor(schema["maximum"])] if "maximum" in schema else []
    if "exclusiveMaximum" in schema:
        highs.append(math.ceil(schema["exclusiveMaximum"]) - 1)
    lo, hi = _default_range(max(lows, default=None), min(highs, default=None), 1000)
    if lo > hi:
        raise _Unsatisfiable(f"{path}: no integer between the bounds")
    step = schema.get("multipleOf")
    if step is None:
        return ctx.rng.randint(lo, hi)
    return _build_multiple(step, schema, lo, hi, ctx.rng, path, integral=True)


def _build_number(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
    low, high = _bounds(schema)
    lo, hi = _default_range(low, high, 1000.0)
    step = schema.get("multipleOf")
    if step is not None:
        return _build_multiple(step, schema, lo, hi, ctx.rng, path, integral=False)
    for value in (round(ctx.rng.uniform(lo, hi), 2), (lo + hi) / 2):
        if _within(value, schema):
            return value
    raise _Unsatisfiable(f"{path}: no number between the bounds")


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    lows = [schema[key] for key in ("minimum", "exclusiveMinimum") if key in schema]
    highs = [schema[key] for key in ("maximum", "exclusiveMaximum") if key in schema]
    return (max(lows) if lows else None, min(highs) if highs else None)


def _default_range(low: Any, high: Any, span: Any) -> tuple[Any, Any]:
    if low is None and high is None:
        return (0 * span, span)
    if low is None:
        return (high - span, high)
    if high is None:
        return (low, low + span)
    return (low, high)


def _within(value: float, schema: Mapping[str, Any]) -> bool:
    tests = {
        "minimum": operator.ge,
        "maximum": operator.le,
        "exclusiveMinimum": operator.gt,
        "exclusiveMaximum": operator.lt,
    }
    return all(test(value, schema[key]) for key, test in tests.items() if key in schema)


def _build_multiple(
    step: float,
    schema: Mapping[str, Any],
    lo: float,
    hi: float,
    rng: random.Random,
    path: str,
    *,
    integral: bool,
) -> int | float:
    first, last = math.ceil(lo / step), math.floor(hi / step)
    if first > last:
        raise _Unsatisfiable(f"{path}: no multiple of {step} between the bounds")
    checker = Draft202012Validator({"multipleOf": step})
    # Float steps round badly (0.1 * 3 != 0.3): check each candidate the way jsonschema will.
    factors = [rng.randint(first, last) for _ in range(16)] + [first, last]
    for factor in factors:
        value = factor * step
        candidate: int | float = value
        if integral:
            if not float(value).is_integer():
                continue
            candidate = int(value)
        elif isinstance(step, float):
            candidate = round(value, 10)
        if _within(candidate, schema) and checker.is_valid(candidate):
            return candidate
    raise _Unsatisfiable(f"{path}: no usable multiple of {step} between the bounds")


def _build_boolean(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
    return ctx.rng.random() < 0.5


def _build_null(schema: Mapping[str, Any], ctx: _Context, path: str, depth: int) -> Any:
    return None


_BUILDERS: dict[str, Callable[[Mapping[str, Any], _Context, str, int], Any]] = {
    "object": _build_object,
    "array": _build_array,
    "string": _build_string,
    "integer": _build_integer,
    "number": _build_number,
    "boolean": _build_boolean,
    "null": _build_null,
}


def _flatten_into(flat: dict[str, Cell], prefix: str, value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        column = f"{prefix}{key}"
        if isinstance(item, Mapping):
            if item:
                _flatten_into(flat, f"{column}.", item)
            else:
                flat[column] = "{}"
        elif isinstance(item, list | tuple):
            flat[column] = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        else:
            flat[column] = item


def _format_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value.startswith(_FORMULA_PREFIXES):
        return f"'{value}"
    return value
