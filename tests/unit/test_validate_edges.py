"""validate at its edges: each refusal's exact file, line, column, field and message, limits at the
boundary, and odd values that must be reported rather than crash the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.model import DesiredState
from titan_gitops.pipeline import validate_directory
from titan_gitops.validate.placeholders import reads_back_as

TASK = """\
kind: task
name: {name}
urls: ['https://shop.example.com/']
objective: Extract prices.
execution_type: single
output_schema: {{type: object}}
"""
TEMPLATE = """\
kind: template
name: {name}
description: Base.
"""

# (file, line, column, field, message, severity), the way `titan-gitops validate` prints it.
Row = tuple[str, int, int, str, str, str]


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def rows(problems: list[Problem], root: Path) -> list[Row]:
    return [
        (str(Path(p.path).relative_to(root)), p.line, p.col, p.field, p.message, p.severity)
        for p in problems
    ]


def refused(root: Path, files: dict[str, str], environ: dict[str, str] | None = None) -> list[Row]:
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(write(root, files), environ=environ or {})
    return rows(caught.value.problems, root)


def accepted(
    root: Path, files: dict[str, str], environ: dict[str, str] | None = None
) -> DesiredState:
    return validate_directory(write(root, files), environ=environ or {})


def task(name: str = "shop-a", extra: str = "") -> str:
    return TASK.format(name=name) + extra


# --- limits at the boundary --------------------------------------------------------------------


def test_a_name_of_two_hundred_characters_is_accepted_and_one_more_is_refused(
    tmp_path: Path,
) -> None:
    longest = "s" * 200
    assert [t.name for t in accepted(tmp_path / "ok", {"t.yaml": task(longest)}).tasks] == [longest]
    assert refused(tmp_path / "bad", {"t.yaml": task(longest + "s")}) == [
        ("t.yaml", 2, 1, "name", "is 201 characters long; the limit is 200", "error")
    ]


def test_an_objective_of_ten_thousand_characters_is_accepted_and_one_more_is_refused(
    tmp_path: Path,
) -> None:
    def with_objective(length: int) -> dict[str, str]:
        return {"t.yaml": task().replace("Extract prices.", "x" * length)}

    assert accepted(tmp_path / "ok", with_objective(10_000)).tasks[0].body["objective"] == (
        "x" * 10_000
    )
    assert refused(tmp_path / "bad", with_objective(10_001)) == [
        ("t.yaml", 4, 1, "objective", "is 10001 characters long; the limit is 10000", "error")
    ]


def test_a_file_reference_of_1024_characters_is_looked_up_and_a_longer_one_refused(
    tmp_path: Path,
) -> None:
    at_limit = "d/" * 509 + "s.json"
    assert len(at_limit) == 1024
    over = at_limit + "x"

    def with_ref(ref: str) -> dict[str, str]:
        return {"t.yaml": task().replace("{type: object}", "{$file: '" + ref + "'}")}

    [(path, line, col, field, message, _)] = refused(tmp_path / "ok", with_ref(at_limit))
    assert (path, line, col, field) == ("t.yaml", 6, 17, "output_schema.$file")
    assert message == f"{at_limit!r} does not exist"
    assert refused(tmp_path / "bad", with_ref(over)) == [
        (
            "t.yaml",
            6,
            17,
            "output_schema.$file",
            "the path is 1025 characters long; the limit is 1024",
            "error",
        )
    ]


# --- $file references ------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["''", "5", "[a.json]"])
def test_a_file_reference_that_is_not_a_path_is_refused_where_written(
    tmp_path: Path, ref: str
) -> None:
    text = task().replace("output_schema: {type: object}", f"output_schema: {{$file: {ref}}}")
    assert refused(tmp_path, {"t.yaml": text}) == [
        (
            "t.yaml",
            6,
            17,
            "output_schema.$file",
            "$file must be a relative path inside the definitions directory",
            "error",
        )
    ]


@pytest.mark.parametrize(
    "content", ["- type\n- object\n", "type: object\n---\ntype: object\n", "just text\n"]
)
def test_a_schema_file_that_does_not_hold_one_object_is_refused(
    tmp_path: Path, content: str
) -> None:
    text = task().replace("{type: object}", "{$file: schema.yaml}")
    assert refused(tmp_path, {"t.yaml": text, "schema.yaml": content}) == [
        (
            "t.yaml",
            6,
            17,
            "output_schema.$file",
            "'schema.yaml' does not hold a JSON or YAML object",
            "error",
        )
    ]


# --- names across tasks and templates ----------------------------------------------------------


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


# --- shapes ------------------------------------------------------------------------------------


def test_urls_must_hold_at_least_one_url(tmp_path: Path) -> None:
    text = task().replace("['https://shop.example.com/']", "[]")
    assert refused(tmp_path, {"t.yaml": text}) == [
        ("t.yaml", 3, 1, "urls", "needs at least one URL", "error")
    ]


# --- export's read-back check ---------------------------------------------------------------------


def test_an_exported_text_naming_an_unset_variable_does_not_read_back() -> None:
    document = {"kind": "task", "name": "${TITAN_VAR_GONE}"}
    assert not reads_back_as("kind: task\nname: ${TITAN_VAR_GONE}\n", document, {})
    assert reads_back_as(
        "kind: task\nname: ${TITAN_VAR_GONE}\n",
        {"kind": "task", "name": "back-again"},
        {"TITAN_VAR_GONE": "back-again"},
    )


# --- the shape check: one located problem per wrong field, at every depth ------------------------

PLAN = "execution_plan:\n  steps:\n    - {action_type: scrape, input_source: static_urls"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "objectve: x\n",
            [(7, 1, "objectve", "unknown field 'objectve'; did you mean 'objective'?")],
        ),
        ("zzz: 1\n", [(7, 1, "zzz", "unknown field 'zzz'")]),
        (
            "limits: {max_page: 3}\n",
            [(7, 10, "limits.max_page", "unknown field 'max_page'; did you mean 'max_pages'?")],
        ),
        (
            "limits: {max_pages: -1}\n",
            [(7, 10, "limits.max_pages", "Input should be greater than or equal to 0")],
        ),
        (
            "limits: {max_pages: true}\n",
            [(7, 10, "limits.max_pages", "Input should be a valid integer")],
        ),
        (
            "limits: 5\n",
            [(7, 1, "limits", "Input should be a valid dictionary or instance of LimitsSpec")],
        ),
        # A union (string or integer) is reported once, not once per member.
        ("script_version: [1]\n", [(7, 1, "script_version", "Input should be a valid string")]),
        (
            "previous_names: [x, ~]\n",
            [(7, 21, "previous_names[1]", "is empty (null); write a value or remove the key")],
        ),
        (
            PLAN + ", actoin: x}\n",
            [(9, 56, "execution_plan.steps[0].actoin", "unknown field 'actoin'")],
        ),
        (
            "execution_plan:\n  steps:\n    - {action_type: scrape}\n",
            [(9, 7, "execution_plan.steps[0].input_source", "is required")],
        ),
        (
            "execution_plan:\n  steps: []\n",
            [
                (
                    8,
                    3,
                    "execution_plan.steps",
                    "List should have at least 1 item after validation, not 0",
                )
            ],
        ),
        (
            "execution_plan:\n  steps: [5]\n",
            [
                (
                    8,
                    11,
                    "execution_plan.steps[0]",
                    "Input should be a valid dictionary or instance of StepSpec",
                )
            ],
        ),
        (
            "execution_plan:\n  stepz: []\n",
            [
                (7, 1, "execution_plan.steps", "is required"),
                (8, 3, "execution_plan.stepz", "unknown field 'stepz'; did you mean 'steps'?"),
            ],
        ),
        (
            PLAN + ", limits: {max_deph: 1}}\n",
            [
                (
                    9,
                    65,
                    "execution_plan.steps[0].limits.max_deph",
                    "unknown field 'max_deph'; did you mean 'max_depth'?",
                )
            ],
        ),
        (
            PLAN + "}\n    - {action_type: scrape, input_source: previous_step, name: 5}\n",
            [
                (
                    10,
                    58,
                    "execution_plan.steps[1].name",
                    "Input should be a valid string; 5 was read as a number: quote it",
                )
            ],
        ),
    ],
)
def test_a_wrong_field_is_named_from_the_task_down(
    tmp_path: Path, extra: str, expected: list[tuple[int, int, str, str]]
) -> None:
    errors = [row for row in refused(tmp_path, {"t.yaml": task(extra=extra)}) if row[5] == "error"]
    assert errors == [("t.yaml", *row, "error") for row in expected]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "~", "is empty (null); write a quoted string or remove the key"),
        ("name", "12", "Input should be a valid string; 12 was read as a number: quote it"),
        ("name", "[a]", "Input should be a valid string"),
        ("description", "5", "Input should be a valid string; 5 was read as a number: quote it"),
        ("description", "~", "is empty (null); write a quoted string or remove the key"),
    ],
)
def test_a_text_field_that_is_not_text_is_reported_once(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    template = TEMPLATE.format(name="base").replace(f"{field}: ", f"{field}: {value} #")
    assert refused(tmp_path, {"b.yaml": template, "t.yaml": task()}) == [
        ("b.yaml", 2 if field == "name" else 3, 1, field, message, "error")
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


# --- variables ---------------------------------------------------------------------------------

ENVIRON = {"TITAN_VAR_K": "k3y-value", "TITAN_VAR_A-B": "dash-value", "TITAN_VAR_S": "x"}


def test_substituted_values_inside_lists_and_odd_keys_are_recorded_by_json_pointer(
    tmp_path: Path,
) -> None:
    extra = (
        "action_type: api_call\npayload:\n  a/b~c: '${TITAN_VAR_K}'\n  rows:\n"
        "    - [plain, '${TITAN_VAR_K}']\n    - {k: 'in ${TITAN_VAR_K} and $${x}', n: 5}\n"
    )
    state = accepted(tmp_path, {"t.yaml": task(extra=extra)}, ENVIRON)
    (desired,) = state.tasks
    assert desired.body["payload"] == {
        "a/b~c": "k3y-value",
        "rows": [["plain", "k3y-value"], {"k": "in k3y-value and ${x}", "n": 5}],
    }
    # Exactly the substituted strings: the plain item, the number and the literal `$${` are not.
    assert desired.sensitive_paths == frozenset(
        {"/payload/a~1b~0c", "/payload/rows/0/1", "/payload/rows/1/k"}
    )
    assert state.secrets == frozenset({"k3y-value"})


def test_a_literal_dollar_brace_alone_is_not_sensitive(tmp_path: Path) -> None:
    extra = "action_type: api_call\npayload: {k: '${TITAN_VAR_K}', lit: 'a $${TITAN_VAR_K}'}\n"
    (desired,) = accepted(tmp_path, {"t.yaml": task(extra=extra)}, ENVIRON).tasks
    assert desired.body["payload"] == {"k": "k3y-value", "lit": "a ${TITAN_VAR_K}"}
    assert desired.sensitive_paths == frozenset({"/payload/k"})


@pytest.mark.parametrize("name", ["TITAN_VAR_A-B", ""])
def test_a_variable_name_outside_the_titan_var_pattern_is_refused_even_when_set(
    tmp_path: Path, name: str
) -> None:
    extra = "action_type: api_call\npayload: {k: '${" + name + "}'}\n"
    assert refused(tmp_path, {"t.yaml": task(extra=extra)}, ENVIRON) == [
        (
            "t.yaml",
            8,
            11,
            "payload.k",
            "${" + name + "}: only variables named TITAN_VAR_* are read",
            "error",
        )
    ]


def test_a_value_too_short_to_mask_is_warned_about_and_an_empty_one_is_not(
    tmp_path: Path,
) -> None:
    extra = "action_type: api_call\npayload: {s: 'a${TITAN_VAR_S}b', e: 'a${TITAN_VAR_E}b'}\n"
    state = accepted(tmp_path, {"t.yaml": task(extra=extra)}, {**ENVIRON, "TITAN_VAR_E": ""})
    (desired,) = state.tasks
    assert desired.body["payload"] == {"s": "axb", "e": "ab"}
    assert desired.sensitive_paths == frozenset({"/payload/s", "/payload/e"})
    assert state.secrets == frozenset({"x"})
    assert [(w.line, w.col, w.field, w.severity) for w in state.warnings] == [
        (8, 11, "payload.s", "warning")
    ]
    assert state.warnings[0].message.startswith(
        "the value of TITAN_VAR_S is shorter than 4 characters, so it cannot be masked"
    )


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


# --- the project file --------------------------------------------------------------------------


def test_defaults_are_substituted_and_read_from_a_schema_file(tmp_path: Path) -> None:
    files = {
        "titan-gitops.yaml": "defaults:\n  output_schema: {$file: s.json}\n"
        "  action_type: api_call\n  payload: {key: '${TITAN_VAR_K}'}\n",
        "s.json": '{"type": "object", "required": ["a"]}',
        "t.yaml": task().replace("output_schema: {type: object}\n", ""),
    }
    (desired,) = accepted(tmp_path, files, ENVIRON).tasks
    assert desired.body["output_schema"] == {"type": "object", "required": ["a"]}
    assert desired.body["payload"] == {"key": "k3y-value"}
    assert desired.sensitive_paths == frozenset({"/payload/key"})


def test_a_yaml_schema_file_named_only_by_the_defaults_is_not_read_as_a_definition(
    tmp_path: Path,
) -> None:
    files = {
        "titan-gitops.yaml": "defaults:\n  output_schema: {$file: schemas/s.yaml}\n",
        "schemas/s.yaml": "type: object\nrequired: [a]\n",
        "t.yaml": task().replace("output_schema: {type: object}\n", ""),
    }
    (desired,) = accepted(tmp_path, files).tasks
    assert desired.body["output_schema"] == {"type": "object", "required": ["a"]}


def test_defaults_are_shape_checked_and_their_traps_warned_about_by_full_path(
    tmp_path: Path,
) -> None:
    files = {
        "titan-gitops.yaml": "defaults:\n  limits: {max_pages: x}\n  payload: {zip: 010}\n",
        "t.yaml": task(),
    }
    found = refused(tmp_path, files)
    assert [row[:4] + row[5:] for row in found] == [
        ("titan-gitops.yaml", 2, 12, "defaults.limits.max_pages", "error"),
        ("titan-gitops.yaml", 3, 18, "defaults.payload.zip", "warning"),
    ]
    assert found[0][4] == "Input should be a valid integer"


def test_a_document_without_a_usable_kind_is_refused_whole(tmp_path: Path) -> None:
    files = {"t.yaml": "kind: 5\nname: x\n", "u.yaml": "name: y\n", "v.yaml": "- a\n"}
    assert refused(tmp_path, files) == [
        ("t.yaml", 1, 1, "kind", "kind must be task or template, not 5", "error"),
        ("u.yaml", 1, 1, "", "kind is required: task or template", "error"),
        (
            "v.yaml",
            1,
            1,
            "",
            "a definition document must be a mapping with kind: task or template",
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
