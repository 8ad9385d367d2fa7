"""Leaf values of the record generator: strings (formats, patterns, plain text), integers,
numbers, booleans and null, each satisfying its sub-schema by construction.

A pattern is satisfied by walking the stdlib's regex parse tree (a private module: when its shape
changes, a few plain candidates are tried instead).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import math
import operator
import random
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

# Formats whose values the generator builds; validation checks them when jsonschema can.
BUILT_FORMATS = frozenset(
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
WORDS = ("amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "indigo")
_PATTERN_CANDIDATES = ("a", "abc", "A", "ABC", "0", "123", "a1", "x-1", "2026-01-01", "", "a b")
_EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


class Unsatisfiable(Exception):
    """This sub-schema has no value the generator can build (the caller may try another)."""


@dataclass
class BuildContext:
    """What every builder of one record shares: the whole schema (for $ref), the draws, the
    seed and attempt number, and how a media key becomes a URL."""

    root: Mapping[str, Any]
    rng: random.Random
    seed: str
    attempt: int
    media_url: Callable[[str], str]


def build_string(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    """A string within the length bounds, of the given format or matching the pattern."""
    low = int(schema.get("minLength", 0))
    # Without maxLength any length is valid; plain text is still kept short to stay readable.
    high = int(schema.get("maxLength", 1_000_000))
    if high < low:
        raise Unsatisfiable(f"{path}: maxLength is below minLength")
    fmt = schema.get("format")
    pattern = schema.get("pattern")
    if isinstance(fmt, str) and fmt in BUILT_FORMATS:
        if fmt == "media":
            key = hashlib.sha256(f"{ctx.seed}\x00{path}".encode()).hexdigest()[:32]
            value = ctx.media_url(key)
        else:
            value = _build_formatted(fmt, ctx.rng)
        fits = low <= len(value) <= high
        if not fits or (isinstance(pattern, str) and not re.search(pattern, value)):
            raise Unsatisfiable(f"{path}: a {fmt} value does not fit the length or pattern")
        return value
    if isinstance(pattern, str):
        return _build_patterned(pattern, low, high, ctx.rng, path)
    # Prefer non-empty text: an empty cell looks like missing data.
    return build_text(ctx.rng, min(max(low, 1), high), min(high, max(low, 24)))


def _build_formatted(fmt: str, rng: random.Random) -> str:
    word = rng.choice(WORDS)
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


def build_text(rng: random.Random, low: int, high: int) -> str:
    """Readable words, between `low` and `high` characters (kept short when `high` is large)."""
    target = rng.randint(low, high) if high - low <= 24 else rng.randint(low, low + 24)
    text = ""
    while len(text) < target:
        text = f"{text} {rng.choice(WORDS)}" if text else rng.choice(WORDS)
    text = text[:target]
    # A trailing space after cutting reads like a bug in the data; swap it for a letter.
    return text[:-1] + "x" if text.endswith(" ") else text


def _build_patterned(pattern: str, low: int, high: int, rng: random.Random, path: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error:
        raise Unsatisfiable(f"{path}: pattern is not a usable regular expression") from None
    candidates: list[str] = []
    for _ in range(6):
        built = _build_from_regex(pattern, rng)
        if built is not None:
            candidates.append(built)
    candidates.extend(_PATTERN_CANDIDATES)
    candidates.append(build_text(rng, low, min(high, max(low, 24))))
    for candidate in candidates:
        if low <= len(candidate) <= high and compiled.search(candidate):
            return candidate
    raise Unsatisfiable(f"{path}: no value found for pattern {pattern!r}")


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


def build_integer(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    """An integer within the (exclusive) bounds, a multiple of multipleOf when given."""
    lows = [math.ceil(schema["minimum"])] if "minimum" in schema else []
    if "exclusiveMinimum" in schema:
        lows.append(math.floor(schema["exclusiveMinimum"]) + 1)
    highs = [math.floor(schema["maximum"])] if "maximum" in schema else []
    if "exclusiveMaximum" in schema:
        highs.append(math.ceil(schema["exclusiveMaximum"]) - 1)
    lo, hi = _default_range(max(lows, default=None), min(highs, default=None), 1000)
    if lo > hi:
        raise Unsatisfiable(f"{path}: no integer between the bounds")
    step = schema.get("multipleOf")
    if step is None:
        return ctx.rng.randint(lo, hi)
    return _build_multiple(step, schema, lo, hi, ctx.rng, path, integral=True)


def build_number(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    """A number within the (exclusive) bounds, a multiple of multipleOf when given."""
    low, high = _bounds(schema)
    lo, hi = _default_range(low, high, 1000.0)
    step = schema.get("multipleOf")
    if step is not None:
        return _build_multiple(step, schema, lo, hi, ctx.rng, path, integral=False)
    for value in (round(ctx.rng.uniform(lo, hi), 2), (lo + hi) / 2):
        if _within(value, schema):
            return value
    raise Unsatisfiable(f"{path}: no number between the bounds")


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
        raise Unsatisfiable(f"{path}: no multiple of {step} between the bounds")
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
    raise Unsatisfiable(f"{path}: no usable multiple of {step} between the bounds")


def build_boolean(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    """True or false, drawn."""
    return ctx.rng.random() < 0.5


def build_null(schema: Mapping[str, Any], ctx: BuildContext, path: str, depth: int) -> Any:
    """None."""
    return None
