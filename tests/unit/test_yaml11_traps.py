"""YAML 1.1 traps: plain values in free-form fields that other YAML tools read differently.

Each test writes real definition files and runs `titan-gitops validate` in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from titan_gitops.cli import main
from titan_gitops.load.yaml11 import describe_trap

HEAD = """\
kind: task
name: shop-quote
urls: [https://shop.example/quote]
objective: Get a shipping quote.
output_schema: {type: object}
execution_type: single
"""


def write(root: Path, body: str, name: str = "t.yaml") -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path


def validate(root: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    code = main(["validate", str(root), *flags])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "unexpected error" not in out + err
    return code, out, err


# --- the rules, one plain value at a time -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("010", 10, "010 is read as the number 10 here; YAML 1.1 tools read it as 8."),
        ("-010", -10, "YAML 1.1 tools read it as -8."),
        ("08", 8, 'YAML 1.1 tools read it as the text "08"'),
        ("00501", 501, "YAML 1.1 tools read it as 321."),
        ("02139", 2139, 'YAML 1.1 tools read it as the text "02139"'),
        ("0o17", 15, 'YAML 1.1 tools read it as the text "0o17"'),
        ("0x1F", 31, "0x1F is read as the number 31 here; some YAML tools read it as the text"),
        ("0b101", 5, 'some YAML tools read it as the text "0b101"'),
        ("1_000", 1000, 'some YAML tools read it as the text "1_000"'),
        ("1e3", 1000.0, 'YAML 1.1 tools read it as the text "1e3"'),
        ("on", "on", 'on is read as the text "on" here; YAML 1.1 tools read it as true.'),
        ("OFF", "OFF", "YAML 1.1 tools read it as false."),
        ("yes", "yes", "YAML 1.1 tools read it as true."),
        ("No", "No", "YAML 1.1 tools read it as false."),
        ("y", "y", "YAML 1.1 tools read it as true."),
        ("n", "n", "YAML 1.1 tools read it as false."),
        ("yEs", "yEs", "some YAML tools read it as true."),
        ("1:30", "1:30", 'read as the text "1:30" here; YAML 1.1 tools read it as the number 90.'),
        ("-1:30", "-1:30", "YAML 1.1 tools read it as the number -90."),
        ("1:30.5", "1:30.5", "YAML 1.1 tools read it as the number 90.5."),
        ("190:20:30", "190:20:30", "YAML 1.1 tools read it as the number 685230."),
        ("~", None, '~ is read as null here; some YAML tools read it as the text "~".'),
        ("inf", "inf", "some tools read it as a number"),
        ("-Infinity", "-Infinity", "some tools read it as a number"),
        ("NaN", "NaN", "some tools read it as a number"),
    ],
)
def test_each_trap_says_both_readings_and_how_to_quote(
    text: str, value: object, expected: str
) -> None:
    message = describe_trap(text, value)
    assert message is not None
    assert expected in message
    assert f'Quote it ("{text}")' in message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10), ("0", 0), ("-0", 0), ("+1", 1), ("1.5", 1.5), ("0.1", 0.1), ("1.5e3", 1500.0),
        ("true", True), ("false", False), ("True", True), ("null", None), ("", None),
        ("hello", "hello"), ("https://a.example:8080/x", "https://a.example:8080/x"),
        ("12:00 noon", "12:00 noon"), ("a:1", "a:1"), ("1:", "1:"), ("01:5x", "01:5x"),
        ("information", "information"), ("nano", "nano"), ("yess", "yess"), ("onion", "onion"),
    ],
)  # fmt: skip
def test_values_every_yaml_reads_alike_are_not_traps(text: str, value: object) -> None:
    assert describe_trap(text, value) is None


# --- validate: located warnings in free-form fields ---------------------------------------------


def test_payload_traps_warn_with_file_line_col_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HEAD + "payload:\n  zip: 010\n  flag: on\n")
    code, out, err = validate(tmp_path, capsys)
    assert code == 0
    assert "valid." in out
    assert (
        f"{path}:8:8: warning: payload.zip: 010 is read as the number 10 here; YAML 1.1 tools "
        'read it as 8. Quote it ("010") if you mean the text' in err
    )
    assert f"{path}:9:9: warning: payload.flag: on is read as the text" in err


def test_quoted_and_block_values_never_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (
        HEAD + "payload:\n  zip: '010'\n  flag: \"on\"\n  when: '1:30'\n  none: \"~\"\n"
        "  text: |\n    yes\n  list: ['0x1F', \"n\"]\n"
    )
    write(tmp_path, body)
    code, _out, err = validate(tmp_path, capsys)
    assert code == 0
    assert ": warning: " not in err


def test_every_trap_at_every_depth_and_index_is_reported_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (
        "kind: task\nname: shop-chain\nobjective: Search then scrape.\n"
        "execution_type: single\noutput_schema: {type: object}\n"
        "limits: {max_results: 010, timeout_seconds: 1:30}\n"
        "payload:\n  codes: [010, 011, ok, y]\n  nested: {deep: [{x: off}]}\n"
        "execution_plan:\n  steps:\n"
        "    - {action_type: search, input_source: static_urls}\n"
        "    - action_type: scrape\n      input_source: previous_step\n"
        "      payload: {retry: no, at: 0o17}\n"
    )
    path = write(tmp_path, body)
    _code, _out, err = validate(tmp_path, capsys)
    fields = [
        "limits.max_results",
        "limits.timeout_seconds",
        "payload.codes[0]",
        "payload.codes[1]",
        "payload.codes[3]",
        "payload.nested.deep[0].x",
        "execution_plan.steps[1].payload.retry",
        "execution_plan.steps[1].payload.at",
    ]
    for field in fields:
        assert f": warning: {field}: " in err, field
    assert "payload.codes[2]" not in err
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == len(fields)
    assert all(line.startswith(f"{path}:") for line in warnings)


def test_templates_project_defaults_and_schema_files_warn_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "namespace: shop-\ndefaults:\n  payload: {region: no}\n", "titan-gitops.yaml")
    write(
        tmp_path,
        "kind: template\nname: quote\ndescription: yes\npayload_schema:\n"
        "  type: object\n  properties: {zip: {type: string, default: 010}}\n",
        "templates/quote.yaml",
    )
    write(tmp_path, "type: object\nproperties:\n  rush: {enum: [yes, no]}\n", "schemas/out.yaml")
    write(
        tmp_path,
        HEAD.replace("name: shop-quote", "name: shop-quote\nextends: quote").replace(
            "output_schema: {type: object}", "output_schema: {$file: schemas/out.yaml}"
        ),
        "tasks/t.yaml",
    )
    code, _out, err = validate(tmp_path, capsys)
    assert code == 0, err
    assert f"{tmp_path / 'titan-gitops.yaml'}:3:21: warning: defaults.payload.region:" in err
    assert "warning: payload_schema.properties.zip.default: 010" in err
    schema = tmp_path / "schemas" / "out.yaml"
    assert f"{schema}:3:17: warning: output_schema.properties.rush.enum[0]" in err
    assert "output_schema.properties.rush.enum[1]" in err
    # description is typed text: `yes` there can only mean the text, so it does not warn.
    assert "description" not in err


def test_typed_text_fields_do_not_warn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = HEAD.replace("objective: Get a shipping quote.", "objective: yes")
    write(tmp_path, body + "proxy_locations: [no]\n")
    code, _out, err = validate(tmp_path, capsys)
    assert code == 0
    assert ": warning: " not in err


def test_json_output_counts_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, HEAD + "payload: {zip: 010}\n")
    code, out, _err = validate(tmp_path, capsys, "--output", "json")
    assert code == 0
    report = json.loads(out)
    assert report["errors"] == 0
    assert report["warnings"] == 1
    assert report["problems"][0]["field"] == "payload.zip"
    assert report["problems"][0]["severity"] == "warning"


def test_traps_are_still_listed_beside_the_errors_of_an_invalid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HEAD + "payload: {zip: 010}\nshedule: x\n")
    code, _out, err = validate(tmp_path, capsys)
    assert code == 1
    assert f"{path}:7:16: warning: payload.zip:" in err
    assert f"{path}:8:1: shedule: unknown field" in err


# --- validate --strict --------------------------------------------------------------------------


def test_strict_makes_a_trap_an_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, HEAD + "payload: {zip: 010}\n")
    code, out, err = validate(tmp_path, capsys, "--strict")
    assert code == 1
    assert "valid." not in out
    assert f"{path}:7:16: payload.zip: 010 is read as the number 10 here" in err
    assert ": warning: " not in err
    assert "error: 1 problem found in the definitions (--strict counts warnings as errors)" in err


def test_strict_json_counts_the_trap_as_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, HEAD + "payload: {zip: 010}\n")
    code, out, _err = validate(tmp_path, capsys, "--strict", "--output", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["errors"], report["warnings"]) == (1, 0)
    assert report["problems"][0]["severity"] == "error"


def test_strict_turns_every_warning_into_an_error_not_only_traps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, HEAD)
    write(tmp_path, "", "empty.yaml")
    assert validate(tmp_path, capsys)[0] == 0
    code, _out, err = validate(tmp_path, capsys, "--strict")
    assert code == 1
    assert "empty file" in err


def test_strict_passes_clean_definitions_and_github_annotations_say_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, HEAD + "payload: {zip: '010'}\n")
    code, out, _err = validate(tmp_path, capsys, "--strict")
    assert code == 0
    assert "valid." in out
    write(tmp_path, HEAD + "payload: {zip: 010}\n")
    code, out, _err = validate(tmp_path, capsys, "--strict", "--github")
    assert code == 1
    assert "::error file=" in out
    assert "::warning" not in out


def test_strict_is_not_a_plan_or_apply_flag(capsys: pytest.CaptureFixture[str]) -> None:
    # Refused rather than silently ignored: plan and apply do not check warnings.
    assert main(["plan", "defs", "--strict"]) == 1
    assert main(["apply", "defs", "--strict"]) == 1
    assert "--strict" in capsys.readouterr().err
