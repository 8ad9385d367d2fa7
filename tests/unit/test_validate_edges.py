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


def test_a_file_reference_through_a_parent_step_is_refused_even_when_it_ends_inside(
    tmp_path: Path,
) -> None:
    files = {
        "t.yaml": task().replace("{type: object}", "{$file: sub/../s.json}"),
        "s.json": '{"type": "object"}',
        "sub/readme.txt": "x",
    }
    assert refused(tmp_path, files) == [
        (
            "t.yaml",
            6,
            17,
            "output_schema.$file",
            "'sub/../s.json' leaves the definitions directory; it must stay inside",
            "error",
        )
    ]


def test_a_schema_file_that_does_not_load_is_reported_in_itself_and_where_it_is_named(
    tmp_path: Path,
) -> None:
    files = {
        "t.yaml": task().replace("{type: object}", "{$file: s.json}"),
        "s.json": '{"type": "object", "type": "object"}',
    }
    assert refused(tmp_path, files) == [
        ("s.json", 1, 20, "", "duplicate key 'type' (first at line 1)", "error"),
        (
            "t.yaml",
            6,
            17,
            "output_schema.$file",
            "'s.json' does not hold a JSON or YAML object",
            "error",
        ),
    ]


# --- export's read-back check ---------------------------------------------------------------------


def test_an_exported_text_with_a_duplicate_key_or_a_second_document_does_not_read_back() -> None:
    # The first document alone would equal the task: the text as a whole must not pass.
    assert not reads_back_as("kind: task\nkind: task\n", {"kind": "task"})
    assert not reads_back_as("kind: task\n---\nkind: task\n", {"kind": "task"})


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
        ("script_version: {a: 1}\n", [(7, 1, "script_version", "Input should be a valid string")]),
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


def test_a_variable_that_cannot_be_read_leaves_the_text_as_written(tmp_path: Path) -> None:
    # Only the variable is reported: the objective is not also taken for an empty one.
    text = task().replace("Extract prices.", "'${HOME}'")
    assert refused(tmp_path, {"t.yaml": text}, {"HOME": "/root"}) == [
        ("t.yaml", 4, 1, "objective", "${HOME}: only variables named TITAN_VAR_* are read", "error")
    ]


def test_a_key_the_defaults_may_not_hold_is_refused_there_and_not_merged(tmp_path: Path) -> None:
    files = {"titan-gitops.yaml": "defaults:\n  ignore_fields: [limits]\n", "t.yaml": task()}
    assert refused(tmp_path, files) == [
        (
            "titan-gitops.yaml",
            2,
            3,
            "defaults.ignore_fields",
            "unknown field 'ignore_fields'",
            "error",
        )
    ]
