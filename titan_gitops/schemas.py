"""JSON-Schema helpers for `output_schema` / `payload_schema`: meta-schema checks, local refs only,
Draft 2020-12 keywords only (and `x-` extension keys).

jsonschema is imported only when a schema is present; meta-schema checks are cached by a hash of
the JSON of the schema, and instance validators are built once per schema.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

Path_ = tuple[str | int, ...]
_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")


def _digest(schema: Any) -> bytes:
    """The cache key of `schema`: a SHA-256 of its JSON, key order kept (the order in which
    problems are found follows it, so a schema ordered otherwise is checked afresh)."""
    try:
        text = json.dumps(schema)
    except TypeError:  # a value JSON has no form for: named by its str, and never confused
        text = "str:" + json.dumps(schema, default=str)
    return hashlib.sha256(text.encode()).digest()


def find_remote_refs(schema: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Every `$ref`-like keyword whose target is not inside the schema (`#...`)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in _REF_KEYS and isinstance(value, str) and not value.startswith("#"):
                yield (*path, key), value
            else:
                yield from find_remote_refs(value, (*path, key))
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from find_remote_refs(item, (*path, index))


def find_dangling_refs(schema: Any, node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    """Every local `#/...` reference whose JSON pointer finds nothing in `schema`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                if not _resolves(schema, value[2:]):
                    yield (*path, key), value
            else:
                yield from find_dangling_refs(schema, value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from find_dangling_refs(schema, item, (*path, index))


def _resolves(schema: Any, pointer: str) -> bool:
    from urllib.parse import unquote

    node = schema
    for raw in pointer.split("/"):
        step = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return False
    return True


# Unknown keywords are refused. The Draft 2020-12 meta-schema lets any keyword through, so a typo
# such as `maxLenght` would silently constrain nothing; every key at a schema position must be a
# 2020-12 keyword (core, applicator, unevaluated, validation, meta-data, format, content; plus
# the legacy `definitions`) or an `x-` extension key, the one escape hatch. Property names and
# the values of const/enum/default/examples are data, never looked at. The emulator keeps its own
# copy of this list (emulator/rules.py).
KEYWORDS = frozenset(
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


def unknown_keywords(schema: Any, path: Path_ = ()) -> list[tuple[Path_, str]]:
    """Every key at a schema position that is neither a 2020-12 keyword nor an `x-` key."""
    if not isinstance(schema, dict):
        return []  # a boolean schema, or a wrong type the meta-schema reports
    problems = []
    for key in schema:
        if not isinstance(key, str) or (key not in KEYWORDS and not key.startswith("x-")):
            problems.append(((*path, key), _unknown_message(str(key))))
    for key, sub in _subschemas(schema):
        problems += unknown_keywords(sub, (*path, *key))
    return problems


def _subschemas(schema: dict[str, Any]) -> Iterator[tuple[Path_, Any]]:
    for key in _ONE_SCHEMA:
        if key in schema:
            yield (key,), schema[key]
    for key in _NAMED_SCHEMAS:
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                yield (key, name), sub
    for key in _LISTED_SCHEMAS:
        if isinstance(schema.get(key), list):
            for index, sub in enumerate(schema[key]):
                yield (key, index), sub


def _unknown_message(key: str) -> str:
    hint = difflib.get_close_matches(key, sorted(KEYWORDS), n=1, cutoff=0.6)
    if hint:
        return f"unknown JSON Schema keyword; did you mean {hint[0]}?"
    return "unknown JSON Schema keyword (an extension key must start with x-)"


_CHECKED: dict[bytes, list[tuple[Path_, str]]] = {}


def check_schema(schema: dict[str, Any]) -> list[tuple[Path_, str]]:
    """Problems of `schema` as (path inside it, message): meta-schema errors and remote refs."""
    key = _digest(schema)
    cached = _CHECKED.get(key)
    if cached is not None:
        return cached
    problems = [
        (path, f"{target!r} is not a local reference; only '#/...' is allowed (nothing is fetched)")
        for path, target in find_remote_refs(schema)
    ]
    problems += [
        (path, f"{target!r} points at nothing in this schema")
        for path, target in find_dangling_refs(schema, schema)
    ]
    problems += unknown_keywords(schema)
    cls = _validator_class(schema)
    if cls is None:
        _CHECKED[key] = problems = [
            *problems,
            (("$schema",), f"unknown $schema {schema.get('$schema')!r}; omit it for Draft 2020-12"),
        ]
        return problems
    meta = _meta_validator(cls.__name__)
    for error in sorted(meta.iter_errors(schema), key=lambda e: list(map(str, e.path))):
        problems.append((tuple(error.absolute_path), f"invalid JSON Schema: {error.message}"))
    _CHECKED[key] = problems
    return problems


def _validator_class(schema: dict[str, Any]) -> Any:
    """The validator class `$schema` names (2020-12 when absent), or None when it is unknown."""
    from jsonschema.validators import Draft202012Validator, validator_for

    meta = schema.get("$schema")
    if meta is None:
        return Draft202012Validator
    if not isinstance(meta, str):
        return None
    return validator_for(schema, default=None)


@lru_cache(maxsize=16)
def _meta_validator(name: str) -> Any:
    import jsonschema.validators
    from jsonschema import FormatChecker

    cls = getattr(jsonschema.validators, name)
    # `format: regex` in the meta-schema catches a broken `pattern`. Only regex: jsonschema checks
    # other formats (a `$id`'s uri-reference) only when an optional library is installed, and
    # what validate says must not depend on what else is installed.
    return cls(cls.META_SCHEMA, format_checker=FormatChecker(formats=("regex",)))


_VALIDATORS: dict[bytes, Any] = {}


def validate_instance(schema: dict[str, Any], instance: Any) -> list[tuple[Path_, str]]:
    """Errors of `instance` against a schema already checked clean (no remote resolution)."""
    key = _digest(schema)
    validator = _VALIDATORS.get(key)
    if validator is None:
        from referencing import Registry

        validator = _validator_class(schema)(schema, registry=Registry())
        _VALIDATORS[key] = validator
    try:
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
        return [(tuple(e.absolute_path), e.message) for e in errors]
    except Exception as exc:
        # An unresolvable local reference surfaces only here; it is the schema's problem.
        return [((), f"the schema cannot be applied: {type(exc).__name__}")]
