"""One field contract at every depth: unknown fields, types, ranges and enums in the task, each
`execution_plan.steps[]` item, `limits` and `input_source`, every problem reported in one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.pipeline import validate_directory

HEAD = """\
kind: task
name: shop-a
urls: ['https://shop.example.com/']
objective: Extract prices.
execution_type: single
"""
CLASSIC = HEAD + "output_schema: {type: object}\n"


def refused(root: Path, text: str, name: str = "t.yaml") -> list[Problem]:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(root, environ={})
    return [p for p in caught.value.problems if p.severity == "error"]


def accepted(root: Path, text: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "t.yaml").write_text(text, encoding="utf-8")
    validate_directory(root, environ={})


def lines(problems: list[Problem]) -> list[str]:
    return [f"{p.line}:{p.col}: {p.field}: {p.message}" for p in problems]


def test_a_typo_inside_a_step_is_an_unknown_field_with_a_hint(tmp_path: Path) -> None:
    text = HEAD + (
        "execution_plan:\n"
        "  steps:\n"
        "    - action_type: search\n"
        "      input_source: static_urls\n"
        "    - action_type: scrape\n"
        "      input_source: previous_step\n"
        "    - action_type: scrape\n"
        "      input_source: previous_step\n"
        "      output_shema: {type: object}\n"
    )
    problems = refused(tmp_path, text)
    assert lines(problems) == [
        "14:7: execution_plan.steps[2].output_shema: "
        "unknown field 'output_shema'; did you mean 'output_schema'?"
    ]


def test_limits_values_are_typed_and_their_keys_known(tmp_path: Path) -> None:
    text = HEAD + "action_type: search\nlimits: {max_results: ten, timeout_secs: 5}\n"
    found = lines(refused(tmp_path, text))
    assert len(found) == 2, found
    assert any(
        f.startswith("7:") and "limits.max_results:" in f and "integer" in f for f in found
    ), found
    assert any(
        "limits.timeout_secs: unknown field 'timeout_secs'; did you mean 'timeout_seconds'?" in f
        for f in found
    ), found


@pytest.mark.parametrize("value", ["-1", "1.5", "true", "2147483648", "'5'"])
def test_limits_are_non_negative_integers(tmp_path: Path, value: str) -> None:
    text = HEAD + f"action_type: search\nlimits:\n  max_results: {value}\n"
    found = lines(refused(tmp_path, text))
    assert len(found) == 1, found
    assert found[0].startswith("8:3: limits.max_results: "), found


def test_limits_inside_a_step_are_checked_too(tmp_path: Path) -> None:
    text = HEAD + (
        "execution_plan:\n"
        "  steps:\n"
        "    - action_type: search\n"
        "      input_source: static_urls\n"
        "      limits: {max_pages: -3}\n"
    )
    found = lines(refused(tmp_path, text))
    assert len(found) == 1, found
    assert "execution_plan.steps[0].limits.max_pages:" in found[0], found


def test_every_list_item_is_reported_in_one_run(tmp_path: Path) -> None:
    problems = refused(tmp_path, CLASSIC + "proxy_locations: [5, 6, 7]\n")
    assert [p.field for p in problems] == [
        "proxy_locations[0]",
        "proxy_locations[1]",
        "proxy_locations[2]",
    ]


def test_every_step_is_reported_in_one_run(tmp_path: Path) -> None:
    text = HEAD + (
        "execution_plan:\n"
        "  steps:\n"
        "    - {action_type: serch, input_source: static_urls}\n"
        "    - {action_type: scrape, input_source: previous_stp}\n"
        "    - {action_type: scrape, input_source: previous_step, limits: {max_pages: x}}\n"
    )
    fields = sorted(p.field for p in refused(tmp_path, text))
    assert fields == [
        "execution_plan.steps[0].action_type",
        "execution_plan.steps[1].input_source",
        "execution_plan.steps[2].limits.max_pages",
    ]


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ("action_type: search\ninput_source: statc_urls\n", "input_source", "static_urls"),
        ("action_type: search\ninput_source: previous_step\n", "input_source", "previous_step"),
        ("output_schema: {type: object}\nproxy_locations: ['']\n", "proxy_locations[0]", "empty"),
        ("output_schema: {type: object}\nscript_id: ' '\n", "script_id", "empty"),
        ("output_schema: {type: object}\nscript_version: true\n", "script_version", ""),
        ("output_schema: {type: [object, 'null']}\n", "output_schema", "type: object"),
    ],
)
def test_top_level_fields_follow_the_contract(
    tmp_path: Path, extra: str, field: str, fragment: str
) -> None:
    problems = refused(tmp_path, HEAD + extra)
    assert any(p.field == field and fragment in p.message for p in problems), lines(problems)


@pytest.mark.parametrize(
    ("step", "field", "fragment"),
    [
        ("{action_type: search}", "execution_plan.steps[0].input_source", "required"),
        ("{action_type: search, input_source: previous_step}", "steps[0].input_source", "first"),
        ("{action_type: search, input_source: static_urls, name: ''}", "steps[0].name", "empty"),
        ("{action_type: search, input_source: static_urls, limits: null}", "steps[0].limits", ""),
        ("{action_type: search, input_source: static_urls, payload: [1]}", "steps[0].payload", ""),
    ],
)
def test_step_fields_follow_the_contract(
    tmp_path: Path, step: str, field: str, fragment: str
) -> None:
    problems = refused(tmp_path, HEAD + f"execution_plan:\n  steps:\n    - {step}\n")
    assert any(p.field.endswith(field) and fragment in p.message for p in problems), lines(problems)


def test_the_plan_holds_only_steps(tmp_path: Path) -> None:
    text = HEAD + (
        "execution_plan:\n  stepz: []\n"
        "  steps:\n    - {action_type: search, input_source: static_urls}\n"
    )
    found = lines(refused(tmp_path, text))
    assert any(
        "execution_plan.stepz: unknown field 'stepz'; did you mean 'steps'?" in f for f in found
    )


def test_a_plan_task_needs_urls_like_every_task(tmp_path: Path) -> None:
    text = (
        "kind: task\nname: shop-a\nobjective: Extract prices.\nexecution_type: single\n"
        "execution_plan:\n  steps:\n    - {action_type: search, input_source: static_urls}\n"
    )
    assert any("urls is required" in p.message for p in refused(tmp_path, text))


def test_a_full_valid_plan_passes(tmp_path: Path) -> None:
    accepted(
        tmp_path,
        HEAD
        + (
            "execution_plan:\n"
            "  steps:\n"
            "    - action_type: search\n"
            "      input_source: static_urls\n"
            "      name: find\n"
            "      template_slug: example-search-template\n"
            "      limits: {max_results: 20, timeout_seconds: 0}\n"
            "      payload: {query: shoes}\n"
            "    - action_type: scrape\n"
            "      input_source: previous_step\n"
            "      script_id: s-1\n"
            "      script_version: 3\n"
            "      output_schema: {type: object, properties: {price: {type: number}}}\n"
        ),
    )


@pytest.mark.parametrize("value", ["true", "5", "{a: 1}", "x"])
def test_proxy_locations_of_the_wrong_type_are_a_problem_not_a_crash(
    tmp_path: Path, value: str
) -> None:
    problems = refused(tmp_path, CLASSIC + f"proxy_locations: {value}\n")
    assert [p.field for p in problems] == ["proxy_locations"]
