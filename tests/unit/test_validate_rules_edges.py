"""validate's rules at their edges: names across tasks and templates, extends chains, blank values,
URLs and text, each at its exact file, line, column and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_validate_edges import PLAN, TEMPLATE, accepted, refused, rows, task

# --- reserved and previous names, template names --------------------------------------------------


def test_a_name_under_the_lease_prefix_is_reserved(tmp_path: Path) -> None:
    assert refused(tmp_path, {"t.yaml": task("'.titan-gitops-lease/mine'")}) == [
        (
            "t.yaml",
            2,
            1,
            "name",
            "names starting with '.titan-gitops-lease/' are reserved for apply leases",
            "error",
        )
    ]


def test_a_previous_name_equal_to_the_tasks_own_name_is_refused(tmp_path: Path) -> None:
    files = {"t.yaml": task(extra="previous_names: [other, shop-a]\n")}
    assert refused(tmp_path, files) == [
        (
            "t.yaml",
            7,
            25,
            "previous_names[1]",
            "a previous name cannot be the task's own name",
            "error",
        )
    ]


def test_a_previous_name_that_is_not_a_string_is_a_shape_problem_not_a_crash(
    tmp_path: Path,
) -> None:
    [(path, line, _, field, message, _)] = refused(
        tmp_path, {"t.yaml": task(extra="previous_names: [5]\n")}
    )
    assert (path, line, field) == ("t.yaml", 7, "previous_names[0]")
    assert "string" in message


def test_a_template_whose_name_is_not_a_string_is_reported_not_a_crash(tmp_path: Path) -> None:
    files = {"b.yaml": TEMPLATE.format(name="[a, b]"), "t.yaml": task()}
    [(path, line, _, field, message, _)] = refused(tmp_path, files)
    assert (path, line, field) == ("b.yaml", 2, "name")
    assert "string" in message


def test_a_template_extending_an_unknown_template_is_refused_with_a_hint(tmp_path: Path) -> None:
    files = {
        "base.yaml": TEMPLATE.format(name="base"),
        "mid.yaml": TEMPLATE.format(name="middle") + "extends: bsae\n",
        "t.yaml": task(extra="extends: middle\n"),
    }
    assert refused(tmp_path, files) == [
        ("mid.yaml", 4, 1, "extends", "no template is named 'bsae'; did you mean 'base'?", "error")
    ]


# --- an empty URL list ----------------------------------------------------------------------------


def test_urls_must_hold_at_least_one_url(tmp_path: Path) -> None:
    text = task().replace("['https://shop.example.com/']", "[]")
    assert refused(tmp_path, {"t.yaml": text}) == [
        ("t.yaml", 3, 1, "urls", "needs at least one URL", "error")
    ]


# --- rules on the merged task ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("proxy_locations: [us, ' ']\n", [(7, 23, "proxy_locations[1]", "must not be empty")]),
        (
            "template_slug: '  '\nscript_version: ''\n",
            [
                (7, 1, "template_slug", "must not be empty"),
                (8, 1, "script_version", "must not be empty"),
            ],
        ),
        (
            "input_source: previous_step\naction_type: scrape\n",
            [
                (
                    7,
                    1,
                    "input_source",
                    "'previous_step' is not possible on a task without an execution_plan: "
                    "no step comes before it",
                )
            ],
        ),
        (
            "execution_plan:\n  steps:\n    - {action_type: scrape, input_source: previous_step}\n",
            [
                (
                    9,
                    29,
                    "execution_plan.steps[0].input_source",
                    "'previous_step' is not possible on the first step: no step comes before it",
                )
            ],
        ),
        (
            # A later step may read the previous one; its blank name and template are refused.
            PLAN + "}\n    - {action_type: scrape, input_source: previous_step, name: ' ', "
            "template_id: ''}\n",
            [
                (10, 58, "execution_plan.steps[1].name", "must not be empty"),
                (10, 69, "execution_plan.steps[1].template_id", "must not be empty"),
            ],
        ),
    ],
)
def test_blank_values_and_a_previous_step_with_nothing_before_are_refused(
    tmp_path: Path, extra: str, expected: list[tuple[int, int, str, str]]
) -> None:
    assert refused(tmp_path, {"t.yaml": task(extra=extra)}) == [
        ("t.yaml", *row, "error") for row in expected
    ]


def test_a_payload_left_out_is_checked_as_empty_against_the_template_schema(
    tmp_path: Path,
) -> None:
    files = {
        "base.yaml": TEMPLATE.format(name="base")
        + "action_type: api_call\npayload_schema: {type: object, required: [zip]}\n",
        "t.yaml": task(extra="extends: base\n").replace("output_schema: {type: object}\n", ""),
    }
    # No payload key to point at: the task itself is named.
    assert refused(tmp_path, files) == [
        (
            "t.yaml",
            1,
            1,
            "",
            "'zip' is a required property (payload_schema of template 'base')",
            "error",
        )
    ]


def test_a_template_schema_that_cannot_be_applied_is_reported_once_not_used(
    tmp_path: Path,
) -> None:
    files = {
        "base.yaml": TEMPLATE.format(name="base")
        + "action_type: api_call\n"
        + "payload_schema: {type: object, required: [zip], propertees: {}}\n",
        "t.yaml": task(extra="extends: base\n").replace("output_schema: {type: object}\n", ""),
    }
    assert refused(tmp_path, files) == [
        (
            "base.yaml",
            5,
            49,
            "payload_schema.propertees",
            "unknown JSON Schema keyword; did you mean properties?",
            "error",
        )
    ]


def test_a_template_payload_schema_may_be_any_type_but_its_output_schema_is_an_object(
    tmp_path: Path,
) -> None:
    base = TEMPLATE.format(name="base") + "payload_schema: {type: string}\n"
    assert accepted(tmp_path / "ok", {"base.yaml": base, "t.yaml": task()}).templates
    files = {"base.yaml": base + "output_schema: {type: array}\n", "t.yaml": task()}
    assert refused(tmp_path / "bad", files) == [
        (
            "base.yaml",
            5,
            1,
            "output_schema",
            "an output_schema must describe an object (type: object)",
            "error",
        )
    ]


# --- templates and extends chains --------------------------------------------------------------


def test_a_cycle_is_named_in_order_at_its_members_only(tmp_path: Path) -> None:
    files = {
        "a.yaml": TEMPLATE.format(name="a") + "extends: b\n",
        "b.yaml": TEMPLATE.format(name="b") + "extends: a\n",
        # c leads into the cycle without being part of it; the task through c is not valid either.
        "c.yaml": TEMPLATE.format(name="c") + "extends: a\n",
        "t.yaml": task(extra="extends: c\n"),
    }
    assert refused(tmp_path, files) == [
        ("a.yaml", 4, 1, "extends", "extends cycle: a → b → a", "error"),
        ("b.yaml", 4, 1, "extends", "extends cycle: a → b → a", "error"),
    ]


def test_a_template_extending_itself_is_a_cycle_of_one(tmp_path: Path) -> None:
    files = {"a.yaml": TEMPLATE.format(name="a") + "extends: a\n", "t.yaml": task()}
    assert refused(tmp_path, files) == [
        ("a.yaml", 4, 1, "extends", "extends cycle: a → a", "error")
    ]


def test_a_chain_merges_limits_key_by_key_and_checks_every_templates_payload_schema(
    tmp_path: Path,
) -> None:
    a = TEMPLATE.format(name="a") + "action_type: api_call\nlimits: {max_pages: 1, max_depth: 2}\n"
    b = TEMPLATE.format(name="b") + "extends: a\nlimits: {max_pages: 5}\npayload: {k: 1}\n"
    t = task(extra="extends: b\n").replace("output_schema: {type: object}\n", "")
    (desired,) = accepted(tmp_path / "ok", {"a.yaml": a, "b.yaml": b, "t.yaml": t}).tasks
    assert desired.body == {
        "name": "shop-a",
        "urls": ["https://shop.example.com/"],
        "objective": "Extract prices.",
        "execution_type": "single",
        "action_type": "api_call",
        "limits": {"max_pages": 5, "max_depth": 2},
        "payload": {"k": 1},
    }
    # The task's payload is merged with b's, then checked against a's schema and b's.
    files = {
        "a.yaml": a + "payload_schema: {type: object, required: [x]}\n",
        "b.yaml": b + "payload_schema: {type: object, required: [k]}\n",
        "t.yaml": t + "payload: {z: 1}\n",
    }
    assert refused(tmp_path / "bad", files) == [
        (
            "t.yaml",
            7,
            1,
            "payload",
            "'x' is a required property (payload_schema of template 'a')",
            "error",
        )
    ]


def test_a_blank_value_inherited_from_a_template_is_reported_where_the_template_wrote_it(
    tmp_path: Path,
) -> None:
    files = {
        "a.yaml": TEMPLATE.format(name="a") + "objective: ' '\n",
        "t.yaml": task(extra="extends: a\n").replace("objective: Extract prices.\n", ""),
    }
    assert refused(tmp_path, files) == [("a.yaml", 4, 1, "objective", "must not be empty", "error")]


def test_a_template_defined_twice_points_at_the_first(tmp_path: Path) -> None:
    files = {"a.yaml": TEMPLATE.format(name="a") + "---\n" + TEMPLATE.format(name="a")}
    first = tmp_path / "a.yaml"
    assert refused(tmp_path, {**files, "t.yaml": task()}) == [
        ("a.yaml", 6, 1, "name", f"template 'a' is also defined at {first}:2", "error")
    ]


# --- names across tasks ------------------------------------------------------------------------


def test_a_name_differing_only_by_case_is_a_warning_at_the_second(tmp_path: Path) -> None:
    files = {"a.yaml": task("Shop-A"), "t.yaml": task()}
    state = accepted(tmp_path, files)
    assert [t.name for t in state.tasks] == ["Shop-A", "shop-a"]
    assert rows(list(state.warnings), tmp_path) == [
        (
            "t.yaml",
            2,
            1,
            "name",
            f"differs only by case from the task at {tmp_path / 'a.yaml'}:2",
            "warning",
        )
    ]


def test_the_namespace_is_checked_once_per_name_and_a_duplicate_points_at_the_first(
    tmp_path: Path,
) -> None:
    files = {
        "titan-gitops.yaml": "namespace: shop-\n",
        "a.yaml": task("shop-b"),
        "t.yaml": task("other"),
        "u.yaml": task("'other '"),
    }
    assert refused(tmp_path, files) == [
        ("t.yaml", 2, 1, "name", "must start with the namespace 'shop-'", "error"),
        (
            "u.yaml",
            2,
            1,
            "name",
            f"task 'other ' is also defined at {tmp_path / 't.yaml'}:2",
            "error",
        ),
    ]


def test_a_reserved_prefix_is_found_after_trimming(tmp_path: Path) -> None:
    assert refused(tmp_path, {"t.yaml": task("' .titan-gitops-lease/x'")}) == [
        (
            "t.yaml",
            2,
            1,
            "name",
            "names starting with '.titan-gitops-lease/' are reserved for apply leases",
            "error",
        )
    ]


def test_a_duplicate_name_is_shown_with_its_invisible_characters_spelled_out(
    tmp_path: Path,
) -> None:
    name = '"shop-a\\u200b"'
    rule = "contains the invisible or bidirectional character U+200B; a name must be one line"
    found = refused(tmp_path, {"a.yaml": task(name), "t.yaml": task(name)})
    assert found == [
        ("a.yaml", 2, 1, "name", rule + " of visible characters", "error"),
        ("t.yaml", 2, 1, "name", rule + " of visible characters", "error"),
        (
            "t.yaml",
            2,
            1,
            "name",
            f"task 'shop-a<U+200B>' is also defined at {tmp_path / 'a.yaml'}:2",
            "error",
        ),
    ]


@pytest.mark.parametrize(
    ("previous", "shown"), [('"shop-b\\u00a0"', "'shop-b\\xa0'"), ('"\\u00e9"', "'é'")]
)
def test_a_previous_name_is_compared_after_nfc_and_trimming(
    tmp_path: Path, previous: str, shown: str
) -> None:
    other = task("shop-b") if "shop-b" in previous else task('"e\\u0301"')
    files = {"a.yaml": other, "t.yaml": task(extra=f"previous_names: [{previous}]\n")}
    assert refused(tmp_path, files) == [
        (
            "t.yaml",
            7,
            18,
            "previous_names[0]",
            f"{shown} is the name of another task ({tmp_path / 'a.yaml'}:2)",
            "error",
        )
    ]


def test_a_previous_name_with_a_tab_is_refused_and_shown_spelled_out(tmp_path: Path) -> None:
    files = {"a.yaml": task("shop-b"), "t.yaml": task(extra='previous_names: ["shop-b\\t"]\n')}
    assert refused(tmp_path, files) == [
        (
            "t.yaml",
            7,
            18,
            "previous_names[0]",
            f"'shop-b<U+0009>' is the name of another task ({tmp_path / 'a.yaml'}:2)",
            "error",
        ),
        (
            "t.yaml",
            7,
            18,
            "previous_names[0]",
            "contains the control character U+0009; a name must be one line of visible characters",
            "error",
        ),
    ]


# --- text and URLs -----------------------------------------------------------------------------


def test_every_bad_url_is_reported_at_its_own_index(tmp_path: Path) -> None:
    urls = [
        "https://user@shop.example.com/",
        "https://:pw@shop.example.com/",
        "http://shop.example.com:99999/",
        "https:///path",
        "https://a b.example/",
        "ftp://x.example/",
        "HTTP://shop.example.com/",
    ]
    text = task().replace("['https://shop.example.com/']", "[" + ", ".join(urls) + "]")
    credentials = (
        "the URL carries credentials; pass them through a ${TITAN_VAR_*} variable elsewhere"
    )
    only_http = "only http:// and https:// URLs are allowed"
    assert [row[3:5] for row in refused(tmp_path, {"t.yaml": text})] == [
        ("urls[0]", credentials),
        ("urls[1]", credentials),
        ("urls[2]", "is not a valid URL"),
        ("urls[3]", "the URL has no host"),
        ("urls[4]", "a URL must not contain spaces"),
        ("urls[5]", only_http),
        ("urls[6]", only_http),
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("objective", '"Bell\\a here"', "contains the control character U+0007; only newlines"),
        (
            "objective",
            '"Zero\\u200bwidth"',
            "contains the invisible or bidirectional character U+200B; only newlines",
        ),
        ("objective", "'   '", "must not be empty"),
        ("name", "'  '", "must not be empty"),
        (
            "name",
            '"shop\\ta"',
            "contains the control character U+0009; a name must be one line of visible characters",
        ),
    ],
)
def test_text_holds_visible_characters_and_a_name_one_line(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    text = task().replace("shop-a" if field == "name" else "Extract prices.", value)
    [(path, line, col, named, found, severity)] = refused(tmp_path, {"t.yaml": text})
    assert (path, line, col, named, severity) == (
        "t.yaml",
        2 if field == "name" else 4,
        1,
        field,
        "error",
    )
    assert found.startswith(message)


def test_an_objective_may_hold_newlines_and_tabs(tmp_path: Path) -> None:
    text = task().replace("Extract prices.", '"Line one\\n\\tline two"')
    (desired,) = accepted(tmp_path, {"t.yaml": text}).tasks
    assert desired.body["objective"] == "Line one\n\tline two"


@pytest.mark.parametrize("text", ["just text\n", "- a\n"])
def test_a_project_file_that_is_not_a_mapping_is_refused_at_its_start(
    tmp_path: Path, text: str
) -> None:
    assert refused(tmp_path, {"titan-gitops.yaml": text, "t.yaml": task()}) == [
        ("titan-gitops.yaml", 1, 1, "", "the project file must be a mapping", "error")
    ]


def test_a_trap_at_the_top_of_the_project_file_is_warned_about(tmp_path: Path) -> None:
    files = {"titan-gitops.yaml": "max_deletes: 010\nnamespace: shop-\n", "t.yaml": task()}
    state = accepted(tmp_path, files)
    assert state.project.max_deletes == 10
    assert [row[:4] + row[5:] for row in rows(list(state.warnings), tmp_path)] == [
        ("titan-gitops.yaml", 1, 14, "max_deletes", "warning")
    ]


# --- more edges: steps, chains, duplicates -----------------------------------------------------


def test_a_plan_steps_output_schema_must_describe_an_object(tmp_path: Path) -> None:
    text = task(extra=PLAN + ", output_schema: {type: array}}\n")
    assert refused(tmp_path, {"t.yaml": text}) == [
        (
            "t.yaml",
            9,
            56,
            "execution_plan.steps[0].output_schema",
            "an output_schema must describe an object (type: object)",
            "error",
        )
    ]


def test_a_previous_name_equal_to_the_own_name_after_trimming_is_the_own_name(
    tmp_path: Path,
) -> None:
    files = {"t.yaml": task(extra="previous_names: ['shop-a ']\n")}
    assert refused(tmp_path, files) == [
        (
            "t.yaml",
            7,
            18,
            "previous_names[0]",
            "a previous name cannot be the task's own name",
            "error",
        )
    ]


def test_a_blank_value_two_templates_up_is_reported_where_it_was_written(tmp_path: Path) -> None:
    files = {
        "a.yaml": TEMPLATE.format(name="a") + "objective: ' '\n",
        "b.yaml": TEMPLATE.format(name="b") + "extends: a\n",
        "t.yaml": task(extra="extends: b\n").replace("objective: Extract prices.\n", ""),
    }
    assert refused(tmp_path, files) == [("a.yaml", 4, 1, "objective", "must not be empty", "error")]


def test_of_a_template_defined_twice_the_first_is_the_one_extended(tmp_path: Path) -> None:
    first = TEMPLATE.format(name="a") + "objective: From the first.\n"
    second = TEMPLATE.format(name="a") + "objective: ' '\n"
    files = {
        "a.yaml": first + "---\n" + second,
        "t.yaml": task(extra="extends: a\n").replace("objective: Extract prices.\n", ""),
    }
    # Only the duplicate is reported: the second copy's blank objective is never used.
    assert refused(tmp_path, files) == [
        (
            "a.yaml",
            7,
            1,
            "name",
            f"template 'a' is also defined at {tmp_path / 'a.yaml'}:2",
            "error",
        )
    ]


def test_a_template_may_extend_one_defined_in_a_later_file(tmp_path: Path) -> None:
    files = {
        "a.yaml": TEMPLATE.format(name="child") + "extends: zparent\n",
        "z.yaml": TEMPLATE.format(name="zparent") + "objective: From the parent.\n",
        "t.yaml": task(extra="extends: child\n").replace("objective: Extract prices.\n", ""),
    }
    (desired,) = accepted(tmp_path, files).tasks
    assert desired.body["objective"] == "From the parent."


def test_a_step_field_typed_as_text_does_not_warn_but_the_same_key_in_its_payload_does(
    tmp_path: Path,
) -> None:
    text = task(extra=PLAN + ", template_slug: on, payload: {template_slug: on}}\n")
    state = accepted(tmp_path, {"t.yaml": text})
    assert state.tasks[0].body["execution_plan"]["steps"][0]["template_slug"] == "on"
    assert [row[:4] + row[5:] for row in rows(list(state.warnings), tmp_path)] == [
        ("t.yaml", 9, 100, "execution_plan.steps[0].payload.template_slug", "warning")
    ]
