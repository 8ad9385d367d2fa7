"""Unknown JSON Schema keywords in output_schema / payload_schema: refused, located, all at once.

The Draft 2020-12 meta-schema allows any keyword, so `maxLenght` would otherwise be ignored;
`validate` refuses every key that is not a 2020-12 keyword, except `x-` extension keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.pipeline import validate_directory
from titan_gitops.schemas import unknown_keywords

HEAD = """\
kind: task
name: shop-a
urls: ['https://shop.example.com/']
objective: Extract prices.
execution_type: single
"""


def refused(root: Path, files: dict[str, str]) -> list[Problem]:
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(root, environ={})
    return [p for p in caught.value.problems if p.severity == "error"]


def accepted(root: Path, text: str) -> None:
    (root / "t.yaml").write_text(text, encoding="utf-8")
    validate_directory(root, environ={})


def shown(problems: list[Problem]) -> list[str]:
    return [f"{Path(p.path).name}:{p.line}:{p.col}: {p.field}: {p.message}" for p in problems]


def test_a_typo_in_a_property_is_located_with_a_hint(tmp_path: Path) -> None:
    text = HEAD + (
        "output_schema:\n"
        "  type: object\n"
        "  properties:\n"
        "    price:\n"
        "      type: string\n"
        "      maxLenght: 5\n"
    )
    assert shown(refused(tmp_path, {"t.yaml": text})) == [
        "t.yaml:11:7: output_schema.properties.price.maxLenght: "
        "unknown JSON Schema keyword; did you mean maxLength?"
    ]


def test_every_unknown_keyword_is_reported_in_one_run(tmp_path: Path) -> None:
    text = HEAD + (
        "output_schema:\n"
        "  type: object\n"
        "  requried: [price]\n"
        "  propertes: {a: {type: string}}\n"
        "  $defs:\n"
        "    money: {type: number, minimun: 0}\n"
        "  items: {wibble: 1}\n"
        "  anyOf:\n"
        "    - {type: object, additionalProperties: {tpye: string}}\n"
        "  if: {zzz: 1}\n"
    )
    fields = sorted(p.field for p in refused(tmp_path, {"t.yaml": text}))
    assert fields == [
        "output_schema.$defs.money.minimun",
        "output_schema.anyOf[0].additionalProperties.tpye",
        "output_schema.if.zzz",
        "output_schema.items.wibble",
        "output_schema.propertes",
        "output_schema.requried",
    ]


def test_a_keyword_inside_a_plan_step_schema_is_checked(tmp_path: Path) -> None:
    text = HEAD + (
        "execution_plan:\n"
        "  steps:\n"
        "    - action_type: scrape\n"
        "      input_source: static_urls\n"
        "      output_schema: {type: object, propertes: {}}\n"
    )
    assert [p.field for p in refused(tmp_path, {"t.yaml": text})] == [
        "execution_plan.steps[0].output_schema.propertes"
    ]


def test_a_template_payload_schema_is_checked(tmp_path: Path) -> None:
    template = (
        "kind: template\nname: base\naction_type: api_call\nexecution_type: single\n"
        "payload_schema:\n  type: object\n  requried: [zip]\n"
    )
    assert shown(refused(tmp_path, {"base.yaml": template})) == [
        "base.yaml:7:3: payload_schema.requried: "
        "unknown JSON Schema keyword; did you mean required?"
    ]


def test_a_schema_file_is_located_in_that_file(tmp_path: Path) -> None:
    files = {
        "t.yaml": HEAD + "output_schema: {$file: schema.yaml}\n",
        "schema.yaml": "type: object\nproperties:\n  price:\n    type: number\n    maximun: 9\n",
    }
    assert shown(refused(tmp_path, files)) == [
        "schema.yaml:5:5: output_schema.properties.price.maximun: "
        "unknown JSON Schema keyword; did you mean maximum?"
    ]


def test_extension_keys_annotations_and_field_names_are_accepted(tmp_path: Path) -> None:
    accepted(
        tmp_path,
        HEAD
        + (
            "output_schema:\n"
            "  $schema: https://json-schema.org/draft/2020-12/schema\n"
            "  $comment: prices\n"
            "  title: Product\n"
            "  x-owner: team-a\n"
            "  type: object\n"
            "  properties:\n"
            "    maxLenght: {type: string, x-source: css, deprecated: true}\n"
            "    propertes: {const: {requried: 1}, enum: [{tpye: 1}], default: {zzz: 1}}\n"
            "    price: {type: number, examples: [{minimun: 1}], readOnly: true}\n"
            "  patternProperties: {'^requried': {type: string}}\n"
            "  dependentRequired: {price: [maxLenght]}\n"
        ),
    )


def test_the_walk_reaches_every_subschema_position() -> None:
    bad = {"wrong": 1}
    schema = {
        "type": "object",
        "properties": {"a": bad},
        "patternProperties": {"^b": bad},
        "$defs": {"c": bad},
        "definitions": {"d": bad},
        "items": bad,
        "prefixItems": [bad],
        "additionalProperties": bad,
        "allOf": [bad],
        "anyOf": [bad],
        "oneOf": [bad],
        "not": bad,
        "if": bad,
        "then": bad,
        "else": bad,
        "contains": bad,
        "propertyNames": bad,
        "dependentSchemas": {"e": bad},
        "unevaluatedItems": bad,
        "unevaluatedProperties": bad,
        "contentSchema": bad,
    }
    found = {path[:-1] for path, _ in unknown_keywords(schema)}
    assert found == {
        ("properties", "a"),
        ("patternProperties", "^b"),
        ("$defs", "c"),
        ("definitions", "d"),
        ("items",),
        ("prefixItems", 0),
        ("additionalProperties",),
        ("allOf", 0),
        ("anyOf", 0),
        ("oneOf", 0),
        ("not",),
        ("if",),
        ("then",),
        ("else",),
        ("contains",),
        ("propertyNames",),
        ("dependentSchemas", "e"),
        ("unevaluatedItems",),
        ("unevaluatedProperties",),
        ("contentSchema",),
    }


def test_no_hint_names_the_escape_hatch() -> None:
    assert unknown_keywords({"source_selector": "css"}) == [
        (
            ("source_selector",),
            "unknown JSON Schema keyword (an extension key must start with x-)",
        )
    ]
