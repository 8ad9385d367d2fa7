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
    assert [t.name for t in accepted(tmp_path / "ok", {"t.yaml": task(longest)}).tasks] == [
        longest
    ]
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
