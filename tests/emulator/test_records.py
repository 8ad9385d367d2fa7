"""Emulated result records: valid against their output_schema, deterministic, faithful as CSV."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from titan_gitops.emulator.records import SchemaNotSupported, generate_records
from titan_gitops.emulator.records_csv import flatten_record, records_to_csv

Schema = dict[str, Any]


def media_url(key: str) -> str:
    return f"http://emulator.test/media/{key}?token=t-{key[:6]}"


def assert_valid(schema: Schema, records: list[dict[str, Any]]) -> None:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for record in records:
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(record)]
        assert errors == [], (record, errors)


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


# --- Schema strategies: consistent schemas built only from the supported keywords ----------------

PATTERNS = ["^[A-Z]{3}$", r"^\d{2,4}$", "^[a-z]+-[0-9]+$", "abc", "^(foo|bar)$", r"^SKU-\d{4}$"]
FORMATS = ["email", "uri", "date", "date-time", "uuid", "media"]


@st.composite
def string_schemas(draw: st.DrawFn) -> Schema:
    style = draw(st.sampled_from(["plain", "length", "enum", "const", "pattern", "format"]))
    if style == "length":
        low = draw(st.integers(0, 20))
        return {"type": "string", "minLength": low, "maxLength": low + draw(st.integers(0, 30))}
    if style == "enum":
        return {
            "type": "string",
            "enum": draw(st.lists(st.text(max_size=5), min_size=1, max_size=4)),
        }
    if style == "const":
        return {"const": draw(st.text(max_size=8))}
    if style == "pattern":
        return {"type": "string", "pattern": draw(st.sampled_from(PATTERNS))}
    if style == "format":
        return {"type": "string", "format": draw(st.sampled_from(FORMATS))}
    return {"type": "string"}


@st.composite
def integer_schemas(draw: st.DrawFn) -> Schema:
    low = draw(st.integers(-10_000, 10_000))
    step = draw(st.none() | st.integers(1, 7))
    width = draw(st.integers(0, 100)) + (step or 1) - 1
    schema: Schema = {"type": "integer"}
    if draw(st.booleans()):
        if draw(st.booleans()):
            schema["minimum"] = low
        else:
            schema["exclusiveMinimum"] = low - 1
    if draw(st.booleans()):
        if draw(st.booleans()):
            schema["maximum"] = low + width
        else:
            schema["exclusiveMaximum"] = low + width + 1
    if step is not None:
        schema["multipleOf"] = step
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> Schema:
    low = draw(st.floats(-1e6, 1e6, allow_nan=False))
    step = draw(st.none() | st.sampled_from([0.5, 0.25, 0.01, 2, 0.1]))
    width = draw(st.floats(1.0, 1e4)) + 4 * (step or 0)
    schema: Schema = {"type": "number"}
    schema["minimum" if draw(st.booleans()) else "exclusiveMinimum"] = low
    if draw(st.booleans()):
        schema["maximum" if draw(st.booleans()) else "exclusiveMaximum"] = low + width
    if step is not None:
        schema["multipleOf"] = step
    return schema


def scalar_schemas() -> st.SearchStrategy[Schema]:
    return st.one_of(
        string_schemas(),
        integer_schemas(),
        number_schemas(),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
        st.just({"type": ["string", "null"]}),
        st.just({"type": ["integer", "boolean"], "minimum": 3}),
    )


def extend_schemas(children: st.SearchStrategy[Schema]) -> st.SearchStrategy[Schema]:
    return st.one_of(object_schemas(children), array_schemas(children), any_of_schemas(children))


@st.composite
def object_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    names = draw(st.lists(st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True), max_size=5))
    properties = {name: draw(children) for name in dict.fromkeys(names)}
    required = [name for name in properties if draw(st.booleans())]
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


@st.composite
def array_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    low = draw(st.integers(0, 3))
    schema: Schema = {"type": "array", "items": draw(children), "minItems": low}
    if draw(st.booleans()):
        schema["maxItems"] = low + draw(st.integers(0, 3))
    return schema


@st.composite
def any_of_schemas(draw: st.DrawFn, children: st.SearchStrategy[Schema]) -> Schema:
    return {"anyOf": draw(st.lists(children, min_size=1, max_size=3))}


root_schemas = object_schemas(st.recursive(scalar_schemas(), extend_schemas, max_leaves=12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=root_schemas, seed=st.text(max_size=12))
def test_records_are_valid_instances_of_random_object_schemas(schema: Schema, seed: str) -> None:
    records = generate_records(schema, seed=seed, count=3, media_url=media_url)
    assert len(records) == 3
    assert_valid(schema, records)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=root_schemas, seed=st.text(max_size=12))
def test_csv_of_random_records_has_one_row_per_record(schema: Schema, seed: str) -> None:
    records = generate_records(schema, seed=seed, count=2, media_url=media_url)
    rows = parse_csv(records_to_csv(records))
    header = rows[0]
    assert len(rows) == 3
    assert len(set(header)) == len(header)
    assert all(len(row) == len(header) for row in rows)


# --- Hand-written schemas ----------------------------------------------------------------------

PRODUCT: Schema = {
    "type": "object",
    "$defs": {
        "money": {
            "type": "object",
            "properties": {
                "amount": {"type": "number", "minimum": 0, "multipleOf": 0.01},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            },
            "required": ["amount", "currency"],
        },
        "category": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/category"}},
            },
            "required": ["name"],
        },
    },
    "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": 40},
        "price": {"$ref": "#/$defs/money"},
        "in_stock": {"type": "boolean"},
        "rating": {"type": "integer", "minimum": 1, "maximum": 5},
        "image": {"type": "string", "format": "media"},
        "gallery": {"type": "array", "items": {"type": "string", "format": "media"}, "minItems": 2},
        "category": {"$ref": "#/$defs/category"},
        "seller": {"oneOf": [{"type": "string", "format": "email"}, {"type": "null"}]},
        "listed_at": {"type": "string", "format": "date-time"},
    },
    "required": ["title", "price", "image"],
}


def test_same_seed_gives_identical_records() -> None:
    first = generate_records(PRODUCT, seed="exec-1", media_url=media_url)
    again = generate_records(PRODUCT, seed="exec-1", media_url=media_url)
    other = generate_records(PRODUCT, seed="exec-2", count=len(first), media_url=media_url)
    assert first == again
    assert first != other
    assert_valid(PRODUCT, first)


def test_default_count_is_small_and_follows_the_seed() -> None:
    counts = {
        seed: len(generate_records(PRODUCT, seed=seed, media_url=media_url))
        for seed in (f"exec-{n}" for n in range(40))
    }
    assert set(counts.values()) <= {1, 2, 3, 4, 5}
    assert len(set(counts.values())) > 1
    assert counts["exec-7"] == len(generate_records(PRODUCT, seed="exec-7", media_url=media_url))


def test_explicit_count_is_honoured() -> None:
    assert len(generate_records(PRODUCT, seed="s", count=17, media_url=media_url)) == 17
    assert generate_records(PRODUCT, seed="s", count=0, media_url=media_url) == []


def test_every_property_is_present_and_nested_objects_are_built() -> None:
    records = generate_records(PRODUCT, seed="s", count=5, media_url=media_url)
    for record in records:
        assert set(record) == set(PRODUCT["properties"])
        assert set(record["price"]) == {"amount", "currency"}
        assert "name" in record["category"]


def test_media_fields_use_stable_keys_from_seed_and_path() -> None:
    keys: list[str] = []

    def remember(key: str) -> str:
        keys.append(key)
        return media_url(key)

    records = generate_records(PRODUCT, seed="exec-9", count=2, media_url=remember)
    assert records[0]["image"] == media_url(keys[0])
    media_values = [r["image"] for r in records] + [u for r in records for u in r["gallery"]]
    assert len(set(media_values)) == len(media_values) == len(keys)
    assert generate_records(PRODUCT, seed="exec-9", count=2, media_url=media_url) == records
    again = generate_records(PRODUCT, seed="exec-10", count=2, media_url=media_url)
    assert again[0]["image"] != records[0]["image"]


@pytest.mark.parametrize("fmt", ["email", "date", "date-time", "uuid", "ipv4", "time", "hostname"])
def test_formats_pass_their_format_check(fmt: str) -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
    records = generate_records(schema, seed=fmt, count=5, media_url=media_url)
    checker = Draft202012Validator.FORMAT_CHECKER
    for record in records:
        assert checker.conforms(record["v"], fmt), record


@pytest.mark.parametrize("fmt", ["uri", "url"])
def test_url_formats_are_absolute_http_urls(fmt: str) -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}}
    for record in generate_records(schema, seed=fmt, count=5, media_url=media_url):
        parts = urllib.parse.urlsplit(record["v"])
        assert (parts.scheme, bool(parts.netloc)) == ("https", True)


@pytest.mark.parametrize("schema", [None, {}])
def test_missing_schema_gives_url_and_title_records(schema: Schema | None) -> None:
    records = generate_records(schema, seed="modular", media_url=media_url)
    assert 1 <= len(records) <= 5
    for record in records:
        assert set(record) == {"url", "title"}
        assert record["url"].startswith("https://")
        assert record["title"]


def test_recursive_refs_terminate_with_valid_records() -> None:
    schema: Schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/node"}, "v": {"type": "integer"}},
                "required": ["child"],
            }
        },
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}},
        "required": ["root"],
    }
    with pytest.raises(SchemaNotSupported, match="cannot build"):
        generate_records(schema, seed="s", media_url=media_url)
    optional = json.loads(json.dumps(schema))
    del optional["$defs"]["node"]["required"]
    records = generate_records(optional, seed="s", count=3, media_url=media_url)
    assert_valid(optional, records)
    assert "root" in records[0]


def test_optional_property_with_an_impossible_pattern_is_left_out() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": "^(?=q)z$"}, "b": {"type": "integer"}},
    }
    records = generate_records(schema, seed="s", count=3, media_url=media_url)
    assert all(set(record) == {"b"} for record in records)
    schema["required"] = ["a"]
    with pytest.raises(SchemaNotSupported):
        generate_records(schema, seed="s", media_url=media_url)


def test_unsupported_keywords_still_give_valid_records_or_a_clear_error() -> None:
    loose: Schema = {
        "type": "object",
        "properties": {"code": {"type": "string", "not": {"const": ""}}},
        "allOf": [{"required": ["code"]}],
    }
    assert_valid(loose, generate_records(loose, seed="s", count=5, media_url=media_url))
    impossible: Schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "not": {"type": "integer"}}},
        "required": ["n"],
    }
    with pytest.raises(SchemaNotSupported, match=r"\$\.n"):
        generate_records(impossible, seed="s", media_url=media_url)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object", "properties": {"a": {"type": "nonsense"}}},
        {
            "type": "object",
            "properties": {"a": {"type": "string", "minLength": 5, "maxLength": 2}},
            "required": ["a"],
        },
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]},
    ],
)
def test_bad_schemas_raise_schema_not_supported(schema: Schema) -> None:
    with pytest.raises(SchemaNotSupported):
        generate_records(schema, seed="s", media_url=media_url)
    assert issubclass(SchemaNotSupported, ValueError)


def test_type_lists_and_branches_cover_every_option_over_many_records() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "v": {"type": ["string", "integer", "null"]},
            "w": {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 10}]},
        },
        "required": ["v", "w"],
    }
    records = generate_records(schema, seed="s", count=40, media_url=media_url)
    assert_valid(schema, records)
    assert {type(r["v"]).__name__ for r in records} == {"str", "int", "NoneType"}


# --- Flattening and CSV -------------------------------------------------------------------------


def test_flatten_record_uses_dotted_columns_and_json_for_arrays() -> None:
    record = {
        "title": "Kettle",
        "price": {"amount": 12.5, "currency": {"code": "EUR"}},
        "tags": ["a", "b"],
        "offers": [{"seller": "x", "price": 1}],
        "meta": {},
        "note": None,
        "ok": True,
    }
    assert flatten_record(record) == {
        "title": "Kettle",
        "price.amount": 12.5,
        "price.currency.code": "EUR",
        "tags": '["a","b"]',
        "offers": '[{"seller":"x","price":1}]',
        "meta": "{}",
        "note": None,
        "ok": True,
    }


def test_csv_header_is_the_union_of_columns_in_first_seen_order() -> None:
    records = [{"b": 1, "a": {"x": 2}}, {"c": "z", "b": 3}]
    data = records_to_csv(records)
    assert data.startswith(b"b,a.x,c\r\n")
    assert parse_csv(data) == [["b", "a.x", "c"], ["1", "2", ""], ["3", "", "z"]]


def test_csv_round_trips_awkward_text_and_renders_json_scalars() -> None:
    records: list[dict[str, Any]] = [
        {"text": 'say "hi", then\nleave', "uni": "Zürich ✓", "flag": False, "n": -4, "f": 0.5},
        {"text": "", "uni": None, "flag": True, "n": 0, "f": -1.25},
    ]
    data = records_to_csv(records)
    rows = parse_csv(data)
    assert rows[1] == ['say "hi", then\nleave', "Zürich ✓", "false", "-4", "0.5"]
    assert rows[2] == ["", "", "true", "0", "-1.25"]
    assert data.endswith(b"\r\n")
    assert "Zürich ✓".encode() in data


@pytest.mark.parametrize("cell", ["=SUM(A1)", "+1", "-x", "@cmd", "\tx"])
def test_csv_neutralises_formula_like_text(cell: str) -> None:
    rows = parse_csv(records_to_csv([{"v": cell, "n": -3}]))
    assert rows[1] == ["'" + cell, "-3"]


def test_csv_of_no_records_is_an_empty_header() -> None:
    assert records_to_csv([]) == b"\r\n"


def test_csv_keeps_media_urls_and_nested_values_of_generated_records() -> None:
    records = generate_records(PRODUCT, seed="csv", count=3, media_url=media_url)
    rows = parse_csv(records_to_csv(records))
    header = rows[0]
    assert header[:4] == ["title", "price.amount", "price.currency", "in_stock"]
    for record, row in zip(records, rows[1:], strict=True):
        cells = dict(zip(header, row, strict=True))
        assert cells["image"] == record["image"]
        assert json.loads(cells["gallery"]) == record["gallery"]
        assert float(cells["price.amount"]) == record["price"]["amount"]
