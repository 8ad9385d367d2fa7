"""Validation: the desired state built from definitions, one test per rule, and the renderers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.jsontypes import Text, types_in
from titan_gitops.cron import check_cron
from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import load_definition_files, load_yaml_file, load_yaml_text
from titan_gitops.model import DesiredState, SourceDocument
from titan_gitops.pipeline import validate_directory
from titan_gitops.render.problems import (
    render_problems_github,
    render_problems_json,
    render_problems_text,
)
from titan_gitops.validate import validate_definitions

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"

TASK = """\
kind: task
name: {name}
urls: ['https://shop.example.com/']
objective: Extract prices.
execution_type: single
output_schema:
  type: object
  properties:
    price: {{type: number}}
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def valid(root: Path, files: dict[str, str], environ: dict[str, str] | None = None) -> DesiredState:
    return validate_directory(write(root, files), environ=environ or {})


def problems_of(
    root: Path, files: dict[str, str], environ: dict[str, str] | None = None
) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(write(root, files), environ=environ or {})
    return caught.value.problems


def where(problems: list[Problem], root: Path) -> list[tuple[str, int, str]]:
    return [(str(Path(p.path).relative_to(root)), p.line, p.message) for p in problems]


# --- tasks.example ------------------------------------------------------------------------------


def test_the_example_directory_is_valid() -> None:
    state = validate_directory(EXAMPLE, environ={})
    names = [t.name for t in state.tasks]
    assert names == sorted(names)
    assert len(names) >= 6
    assert all(name.startswith("shop-") for name in names)
    assert len(state.templates) >= 2
    assert state.project.namespace == "shop-"
    assert state.project.protected
    assert state.warnings == ()
    bodies = {t.name: t.body for t in state.tasks}
    kinds = {b.get("action_type") for b in bodies.values()}
    assert {"search", "api_call"} <= kinds
    assert any("execution_plan" in b for b in bodies.values())
    slugs = {b.get("template_slug") for b in bodies.values()}
    assert {"example-search-template", "carrier-quote-json"} <= slugs
    assert any(
        prop.get("format") == "media"
        for b in bodies.values()
        for prop in b.get("output_schema", {}).get("properties", {}).values()
    )
    assert any(b.get("schedule") == "0 * * * *" for b in bodies.values())


def test_every_example_file_points_editors_at_the_schema() -> None:
    for path in sorted(EXAMPLE.rglob("*.yaml")):
        depth = len(path.relative_to(EXAMPLE).parts)
        expected = "../" * depth + "schema/titan-gitops.schema.json"
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema={expected}", path
        assert (path.parent / expected).resolve().is_file()


def test_a_body_holds_only_titan_fields_with_file_schemas_inline() -> None:
    state = validate_directory(EXAMPLE, environ={})
    monitor = next(t for t in state.tasks if t.name == "shop-price-monitor")
    assert monitor.previous_names == ("shop-hourly-prices",)
    assert monitor.extends == "product-page"
    assert "extends" not in monitor.body
    assert "previous_names" not in monitor.body
    assert "kind" not in monitor.body
    assert "description" not in monitor.body
    schema = json.loads((EXAMPLE / "schemas" / "product.json").read_text(encoding="utf-8"))
    assert monitor.body["output_schema"] == schema
    assert type(monitor.body) is dict
    assert type(monitor.body["urls"]) is list
    assert monitor.source.path == str(EXAMPLE / "tasks" / "price-monitor.yaml")
    assert monitor.source.line == 3


# --- documents loaded elsewhere -----------------------------------------------------------------


def test_validate_definitions_reads_only_the_documents_it_is_given(tmp_path: Path) -> None:
    root = write(tmp_path, {"a.yaml": TASK.format(name="a"), "b.yaml": TASK.format(name="b")})
    loaded = load_definition_files(root)
    # Change the directory after loading: validation must not walk it again.
    (root / "b.yaml").unlink()
    write(root, {"c.yaml": TASK.format(name="c")})
    state = validate_definitions(loaded, root=root, environ={}, read_yaml=load_yaml_file)
    assert [t.name for t in state.tasks] == ["a", "b"]
    assert state.tasks[1].source.path == str(root / "b.yaml")


def test_a_file_reference_is_read_through_the_given_reader(tmp_path: Path) -> None:
    text = TASK.format(name="t").split("output_schema:")[0] + "output_schema: {$file: s.json}\n"
    root = write(tmp_path, {"t.yaml": text, "s.json": "{}"})
    calls: list[tuple[Path, str]] = []

    def read_yaml(path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
        calls.append((path, display))
        return load_yaml_text("{type: object, required: [price]}", display)

    loaded = load_definition_files(root)
    (task,) = validate_definitions(loaded, root=root, environ={}, read_yaml=read_yaml).tasks
    assert calls == [((root / "s.json").resolve(), str(root / "s.json"))]
    assert task.body["output_schema"] == {"type": "object", "required": ["price"]}


def test_file_references_are_located_through_the_given_tree(tmp_path: Path) -> None:
    # A tree that is not the disk: `s.json` exists only there, and `gone.json` is refused by it.
    text = TASK.format(name="t").split("output_schema:")[0] + "output_schema: {$file: s.json}\n"
    other = text.replace("s.json", "gone.json").replace("name: t", "name: u")
    root = write(tmp_path, {"t.yaml": text, "u.yaml": other})
    asked: list[Path] = []

    class Tree:
        def real_path(self, path: Path) -> Path:
            asked.append(path)
            return path

        def file_problem(self, path: Path) -> str | None:
            return None if path.name == "s.json" else "is not in this tree"

    def read_yaml(path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
        return load_yaml_text("{type: object}", display)

    loaded = load_definition_files(root)
    with pytest.raises(ValidationFailed) as caught:
        validate_definitions(loaded, root=root, environ={}, read_yaml=read_yaml, tree=Tree())
    assert [p.message for p in caught.value.problems] == ["'gone.json' is not in this tree"]
    assert root / "s.json" in asked
    assert root in asked


# --- merging ------------------------------------------------------------------------------------


def test_extends_and_defaults_merge_task_first_with_limits_and_payload_key_by_key(
    tmp_path: Path,
) -> None:
    files = {
        "titan-gitops.yaml": "defaults:\n  proxy_locations: [us]\n  limits: {max_retries: 1}\n",
        "templates/base.yaml": (
            "kind: template\nname: base\ndescription: Base.\nexecution_type: single\n"
            "action_type: api_call\nurls: ['https://a.example/']\n"
            "limits: {timeout_seconds: 30, max_retries: 2}\npayload: {a: 1, b: 2}\n"
            "output_schema: {type: object, properties: {x: {type: string}}}\n"
        ),
        "tasks/t.yaml": (
            "kind: task\nname: t\nextends: base\nobjective: Call it.\n"
            "urls: ['https://b.example/']\nlimits: {timeout_seconds: 45}\npayload: {b: 3}\n"
            "output_schema: {type: object}\n"
        ),
    }
    (task,) = valid(tmp_path, files).tasks
    assert task.body == {
        "name": "t",
        "urls": ["https://b.example/"],
        "objective": "Call it.",
        "output_schema": {"type": "object"},
        "execution_type": "single",
        "proxy_locations": ["us"],
        "action_type": "api_call",
        "limits": {"timeout_seconds": 45, "max_retries": 2},
        "payload": {"a": 1, "b": 3},
    }


def test_extends_chains_resolve_through_several_templates(tmp_path: Path) -> None:
    files = {
        "a.yaml": "kind: template\nname: a\nexecution_type: single\n",
        "b.yaml": "kind: template\nname: b\nextends: a\nobjective: From b.\n",
        "t.yaml": "kind: task\nname: t\nextends: b\nurls: ['https://a.example/']\n"
        "output_schema: {type: object}\n",
    }
    (task,) = valid(tmp_path, files).tasks
    assert task.body["execution_type"] == "single"
    assert task.body["objective"] == "From b."


def test_an_extends_cycle_names_the_chain_at_every_member(tmp_path: Path) -> None:
    files = {
        "a.yaml": "kind: template\nname: a\nextends: c\n",
        "b.yaml": "kind: template\nname: b\nextends: a\n",
        "c.yaml": "kind: template\nname: c\nextends: b\n",
    }
    problems = problems_of(tmp_path, files)
    assert {Path(p.path).name for p in problems} == {"a.yaml", "b.yaml", "c.yaml"}
    assert all(p.message.startswith("extends cycle: ") and p.line == 3 for p in problems)


def test_payload_is_checked_against_every_template_schema_after_merging(tmp_path: Path) -> None:
    files = {
        "base.yaml": (
            "kind: template\nname: base\naction_type: api_call\nexecution_type: single\n"
            "payload: {zip: '10001'}\n"
            "payload_schema:\n  type: object\n  required: [zip, kg]\n"
            "  properties: {zip: {type: string}, kg: {type: number}}\n"
        ),
        "ok.yaml": "kind: task\nname: ok\nextends: base\nobjective: x\n"
        "urls: ['https://a.example/']\npayload: {kg: 2}\n",
        "bad.yaml": "kind: task\nname: bad\nextends: base\nobjective: x\n"
        "urls: ['https://a.example/']\npayload:\n  kg: heavy\n",
    }
    problems = problems_of(tmp_path, files)
    assert where(problems, tmp_path) == [
        ("bad.yaml", 7, "'heavy' is not of type 'number' (payload_schema of template 'base')")
    ]


# --- variables ----------------------------------------------------------------------------------


def test_variables_are_substituted_masked_and_recorded(tmp_path: Path) -> None:
    files = {
        "t.yaml": TASK.format(name="t")
        + "action_type: api_call\npayload:\n  key: 'k-${TITAN_VAR_KEY}'\n"
        + "  literal: '$${TITAN_VAR_KEY}'\n"
    }
    state = valid(tmp_path, files, {"TITAN_VAR_KEY": "s3cr3t-value"})
    (task,) = state.tasks
    assert task.body["payload"] == {"key": "k-s3cr3t-value", "literal": "${TITAN_VAR_KEY}"}
    assert task.sensitive_paths == frozenset({"/payload/key"})
    assert state.secrets == frozenset({"s3cr3t-value"})
    assert "s3cr3t-value" not in repr(state)
    assert "s3cr3t-value" not in repr(task)


def test_an_unset_variable_is_an_error_never_an_empty_string(tmp_path: Path) -> None:
    files = {"t.yaml": TASK.format(name="t").replace("Extract prices.", "${TITAN_VAR_GONE}")}
    problems = problems_of(tmp_path, files)
    assert where(problems, tmp_path) == [("t.yaml", 4, "the variable TITAN_VAR_GONE is not set")]


def test_only_titan_var_variables_are_read(tmp_path: Path) -> None:
    files = {"t.yaml": TASK.format(name="t").replace("Extract prices.", "${HOME}")}
    problems = problems_of(tmp_path, files, {"HOME": "/root"})
    assert "only variables named TITAN_VAR_*" in problems[0].message


def test_a_secret_never_appears_in_a_problem(tmp_path: Path) -> None:
    files = {
        "base.yaml": "kind: template\nname: base\npayload_schema:\n  type: object\n"
        "  properties: {n: {type: integer}}\n",
        "t.yaml": TASK.format(name="t") + "extends: base\naction_type: api_call\n"
        "payload: {n: '${TITAN_VAR_PIN}'}\n",
    }
    problems = problems_of(tmp_path, files, {"TITAN_VAR_PIN": "771234"})
    assert problems
    assert all("771234" not in str(p) for p in problems)
    assert any("***" in p.message for p in problems)


# --- rules --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "line", "fragment"),
    [
        ("shedule: '0 * * * *'\n", 10, "did you mean 'schedule'"),
        ("schedule: '0 * * * *'\n", 10, "a single task has no schedule"),
        ("template_id: a\ntemplate_slug: b\n", 11, "not both"),
        ("ignore_fields: [limits]\n", 10, "JSON pointer"),
        (
            "action_type: search\nexecution_plan:\n"
            "  steps: [{action_type: scrape, input_source: x}]\n",
            10,
            "execution_plan replaces",
        ),
    ],
)
def test_task_rules(tmp_path: Path, extra: str, line: int, fragment: str) -> None:
    problems = problems_of(tmp_path, {"t.yaml": TASK.format(name="t") + extra})
    assert any(p.line == line and fragment in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1e3", "1000.0 was read as a number: quote it"),
        ("2024-01-01", "read as a date"),
        ("true", "True was read as a boolean: quote it"),
        ("~", "is empty (null)"),
    ],
)
def test_string_fields_must_be_yaml_strings(tmp_path: Path, value: str, fragment: str) -> None:
    text = TASK.format(name="t").replace("Extract prices.", value)
    problems = problems_of(tmp_path, {"t.yaml": text})
    assert any(p.line == 4 and fragment in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://a.example/", "only http"),
        ("https://user:pw@a.example/", "credentials"),
        ("https:///nohost", "no host"),
        ("https://a.example/a b", "spaces"),
        ("https://a.example:99999/", "not a valid URL"),
    ],
)
def test_url_rules(tmp_path: Path, url: str, fragment: str) -> None:
    text = TASK.format(name="t").replace("https://shop.example.com/", url)
    problems = problems_of(tmp_path, {"t.yaml": text})
    assert [(p.line, p.field) for p in problems] == [(3, "urls[0]")]
    assert fragment in problems[0].message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("'t\u202eevil'", "U+202E"),
        ("'t\u200b'", "U+200B"),
        ("'  '", "must not be empty"),
        ("t" + "x" * 200, "the limit is 200"),
    ],
)
def test_name_rules(tmp_path: Path, name: str, fragment: str) -> None:
    problems = problems_of(tmp_path, {"t.yaml": TASK.format(name=name)})
    assert any(p.line == 2 and fragment in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ("{type: array}", "must describe an object"),
        ("{type: object, properties: {a: {$ref: 'https://x.example/s.json'}}}", "not a local"),
        ("{type: object, properties: {a: {type: 3}}}", "invalid JSON Schema"),
        (
            "{$schema: 'http://json-schema.org/draft-07/schema#', type: object,"
            " properties: {a: {minLength: -1}}}",
            "invalid JSON Schema",
        ),
    ],
)
def test_output_schema_rules(tmp_path: Path, schema: str, fragment: str) -> None:
    text = TASK.format(name="t").split("output_schema:")[0] + f"output_schema: {schema}\n"
    problems = problems_of(tmp_path, {"t.yaml": text})
    assert any(fragment in p.message for p in problems), problems


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("../x.json", "leaves the definitions directory"),
        ("/etc/passwd", "leaves"),
        ("nope.json", "does not exist"),
    ],
)
def test_file_references_stay_inside_the_root(tmp_path: Path, ref: str, fragment: str) -> None:
    (tmp_path / "x.json").write_text('{"type": "object"}', encoding="utf-8")
    root = tmp_path / "defs"
    text = TASK.format(name="t").split("output_schema:")[0] + f"output_schema: {{$file: {ref}}}\n"
    problems = problems_of(root, {"t.yaml": text})
    assert [(p.line, p.field) for p in problems] == [(6, "output_schema.$file")]
    assert fragment in problems[0].message


def test_a_symlinked_schema_leaving_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"type": "object"}', encoding="utf-8")
    root = tmp_path / "defs"
    root.mkdir()
    (root / "s.json").symlink_to(tmp_path / "x.json")
    text = TASK.format(name="t").split("output_schema:")[0] + "output_schema: {$file: s.json}\n"
    problems = problems_of(root, {"t.yaml": text})
    assert "leaves the definitions directory" in problems[0].message


def test_a_yaml_schema_file_is_not_read_as_a_definition(tmp_path: Path) -> None:
    files = {
        "schemas/p.yaml": "type: object\nproperties:\n  a: {type: string}\n",
        "t.yaml": TASK.format(name="t").split("output_schema:")[0]
        + "output_schema: {$file: schemas/p.yaml}\n",
    }
    (task,) = valid(tmp_path, files).tasks
    assert task.body["output_schema"] == {"type": "object", "properties": {"a": {"type": "string"}}}


# --- cross-file ---------------------------------------------------------------------------------


def test_names_are_unique_after_nfc_and_trimming(tmp_path: Path) -> None:
    files = {
        "a.yaml": TASK.format(name="shop-caf\u00e9"),
        "b.yaml": TASK.format(name="'shop-cafe\u0301 '"),
    }
    problems = problems_of(tmp_path, files)
    assert where(problems, tmp_path)[0][:2] == ("b.yaml", 2)
    assert f"also defined at {tmp_path / 'a.yaml'}:2" in problems[0].message


def test_names_differing_only_by_case_are_a_warning(tmp_path: Path) -> None:
    state = valid(
        tmp_path, {"a.yaml": TASK.format(name="Shop"), "b.yaml": TASK.format(name="shop")}
    )
    assert [(Path(w.path).name, w.line, w.severity) for w in state.warnings] == [
        ("b.yaml", 2, "warning")
    ]


def test_previous_names_may_not_take_another_tasks_name(tmp_path: Path) -> None:
    files = {
        "a.yaml": TASK.format(name="a"),
        "b.yaml": TASK.format(name="b") + "previous_names: [a]\n",
    }
    problems = problems_of(tmp_path, files)
    assert where(problems, tmp_path) == [
        ("b.yaml", 10, f"'a' is the name of another task ({tmp_path / 'a.yaml'}:2)")
    ]


def test_names_must_sit_inside_the_namespace(tmp_path: Path) -> None:
    files = {"titan-gitops.yaml": "namespace: shop-\n", "t.yaml": TASK.format(name="other")}
    problems = problems_of(tmp_path, files)
    assert where(problems, tmp_path) == [("t.yaml", 2, "must start with the namespace 'shop-'")]


def test_all_problems_of_all_files_come_at_once_sorted(tmp_path: Path) -> None:
    files = {
        "b.yaml": TASK.format(name="b") + "shedule: x\n",
        "a.yaml": "kind: task\nname: a\nname: b\n",
        "c.yaml": "kind: tsak\n",
    }
    problems = problems_of(tmp_path, files)
    assert [Path(p.path).name for p in problems] == sorted(Path(p.path).name for p in problems)
    assert {Path(p.path).name for p in problems} == {"a.yaml", "b.yaml", "c.yaml"}


def test_a_missing_directory_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(tmp_path / "nope", environ={})
    assert caught.value.problems[0].message == "the folder does not exist"


def test_project_file_defaults_and_limits(tmp_path: Path) -> None:
    state = valid(
        tmp_path, {"titan-gitops.yaml": "protected: ['shop-*']\n", "t.yaml": TASK.format(name="t")}
    )
    assert state.project.namespace is None
    assert state.project.protected == ("shop-*",)
    assert state.project.max_deletes == 10


# --- cron ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "0 * * * *",
        "*/15 9-17 * * 1-5",
        "@hourly",
        "@annually",
        "0 12 * * MON-FRI",
        "0 0 29 2 *",
        "0 0 * * 7",
    ],
)
def test_good_cron(expression: str) -> None:
    assert check_cron(expression) is None


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("0 0 * * * *", "exactly 5 fields"),
        ("5-1 * * * *", "runs backwards"),
        ("0 0 31 2 *", "never fires"),
        ("@reboot", "not supported"),
        ("0 0 L * *", "not a number"),
        ("0 0 * * 5#3", "not a plain value"),
        ("H * * * *", "not a number"),
        ("*/0 * * * *", "at least 1"),
        ("0 24 * * *", "outside 0-23"),
    ],
)
def test_bad_cron(expression: str, fragment: str) -> None:
    reason = check_cron(expression)
    assert reason is not None
    assert fragment in reason


# --- renderers ----------------------------------------------------------------------------------

PROBLEMS = [
    Problem("d/b.yaml", 3, 1, "name", "bad, really: 100%\nsecond line"),
    Problem("d/a.yaml", 1, 1, "", "empty file", severity="warning"),
]


def test_text_render_is_sorted_and_says_warning() -> None:
    assert render_problems_text(PROBLEMS).splitlines() == [
        "d/a.yaml:1:1: warning: empty file",
        # One line per problem: a newline in a message is shown, never followed.
        "d/b.yaml:3:1: name: bad, really: 100%\\nsecond line",
    ]


def test_json_render_lists_every_problem() -> None:
    document: dict[str, Any] = json.loads(render_problems_json(PROBLEMS))
    assert document["errors"] == 1
    assert document["warnings"] == 1
    assert [p["path"] for p in document["problems"]] == ["d/a.yaml", "d/b.yaml"]


def test_github_render_escapes_as_github_documents() -> None:
    assert render_problems_github(PROBLEMS).splitlines() == [
        "::warning file=d/a.yaml,line=1,col=1::empty file",
        "::error file=d/b.yaml,line=3,col=1,title=name::bad, really: 100%25%0Asecond line",
    ]


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ("{$schema: 3, type: object}", "unknown $schema"),
        ("{$schema: 'https://x.example/meta', type: object}", "unknown $schema"),
        ("{type: object, properties: {a: {$ref: '#/$defs/gone'}}}", "points at nothing"),
        ("{type: object, properties: {a: {type: string, pattern: '('}}}", "is not a 'regex'"),
    ],
)
def test_schemas_that_could_not_be_applied_are_refused_up_front(
    tmp_path: Path, schema: str, fragment: str
) -> None:
    text = TASK.format(name="t").split("output_schema:")[0] + f"output_schema: {schema}\n"
    problems = problems_of(tmp_path, {"t.yaml": text})
    assert any(p.line == 6 and fragment in p.message for p in problems), problems


def test_a_cron_nickname_is_sent_spelled_out(tmp_path: Path) -> None:
    task = TASK.format(name="t").replace(
        "execution_type: single", "execution_type: scheduled\nschedule: '@daily'"
    )
    state = valid(tmp_path, {"t.yaml": task})
    assert state.tasks[0].body["schedule"] == "0 0 * * *"


def test_a_task_body_is_plain_json_data_apart_from_its_definition() -> None:
    from titan_gitops.load import LineDict, LineList
    from titan_gitops.validate.body import build_body

    properties = LineDict("t.yaml")
    properties.update({"price": {"type": "number"}, "tags": ("a", "b")})
    required = LineList("t.yaml")
    required.append(Text("price"))
    schema = LineDict("t.yaml")
    schema.update({"type": "object", "properties": properties, "required": required})
    urls = LineList("t.yaml")
    urls.extend(["https://a.example/", "https://b.example/"])
    task = LineDict("t.yaml")
    task.update({"name": "shop-a", "urls": urls, "output_schema": schema, "objective": None})
    before = json.dumps(task)

    body, sensitive = build_body(task, any_secret=False)

    assert sensitive == frozenset()
    # What a JSON round trip gives, exactly: plain dicts, lists and strings, None fields left out.
    expected = json.loads(before)
    del expected["objective"]
    assert body == expected
    assert list(body) == ["name", "urls", "output_schema"]

    assert types_in(body) == {dict, list, str}
    # Changing the body leaves the definition as it was.
    body["urls"].append("https://c.example/")
    body["output_schema"]["properties"]["price"]["type"] = "string"
    body["output_schema"]["required"].clear()
    assert json.dumps(task) == before
