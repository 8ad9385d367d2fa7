"""Workflow commands and environment files: escaping, annotation limits, outputs, masks."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from titan_gitops.github.workflow import (
    Annotation,
    append_summary,
    cap_summary,
    emit_masks,
    escape_data,
    escape_property,
    format_annotation,
    format_outputs,
    split_annotations,
    write_outputs,
)
from titan_gitops.secrets import SecretSet

from .conftest import parse_outputs


def test_data_escapes_percent_and_line_breaks_only() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"


def test_property_also_escapes_colon_and_comma() -> None:
    assert escape_property("C:\\a,b%\n") == "C%3A\\a%2Cb%25%0A"


def test_data_and_properties_show_every_other_control_visibly() -> None:
    assert escape_data("a\x1b[2J\x9b\u202e\tb") == "a\\x1b[2J\\x9b<U+202E>\tb"
    assert escape_property("t\x1b]0;x\x07") == "t\\x1b]0;x\\x07"


def test_a_mask_is_the_secret_itself_whatever_it_holds() -> None:
    stream = io.StringIO()
    emit_masks(SecretSet.of(["key\x1bwith-escape"]), stream)
    assert "::add-mask::key\x1bwith-escape\n" in stream.getvalue()


def test_log_text_that_could_hold_a_command_is_wrapped_with_a_random_token() -> None:
    from titan_gitops.github.outbox import inert_log_text

    assert inert_log_text("plain plan text") == "plain plan text"
    first = inert_log_text("x\n::warning::y").split("\n")
    second = inert_log_text("##[error]z").split("\n")
    token = first[0].removeprefix("::stop-commands::")
    assert len(token) == 32
    assert first == [f"::stop-commands::{token}", "x", "::warning::y", f"::{token}::"]
    assert second[0] != first[0]


def test_annotation_carries_file_line_col_and_escaped_message() -> None:
    note = Annotation("error", "bad: value\nsecond line", file="teams/a,b.yaml", line=5, col=11)
    assert format_annotation(note) == (
        "::error file=teams/a%2Cb.yaml,line=5,col=11,title=titan-gitops::bad: value%0Asecond line"
    )


def test_annotation_without_location_or_title() -> None:
    assert format_annotation(Annotation("warning", "careful", title="")) == "::warning::careful"


def test_a_message_cannot_inject_a_second_command() -> None:
    line = format_annotation(Annotation("error", "x\n::add-mask::y", file="f.yaml", line=1))
    # One line: the runner reads commands line by line, so the mask command stays inert data.
    assert "\n" not in line
    assert line.endswith("::x%0A::add-mask::y")


def test_at_most_ten_annotations_per_level_are_shown() -> None:
    notes = [Annotation("error", f"e{i}") for i in range(13)]
    notes += [Annotation("warning", f"w{i}") for i in range(3)]
    shown, rest = split_annotations(notes)
    assert [n.message for n in shown if n.level == "error"] == [f"e{i}" for i in range(10)]
    assert len([n for n in shown if n.level == "warning"]) == 3
    assert [n.message for n in rest] == ["e10", "e11", "e12"]


@given(st.dictionaries(st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True), st.text()))
def test_outputs_round_trip_whatever_the_values(values: dict[str, str]) -> None:
    assert parse_outputs(format_outputs(values)) == values


def test_a_value_cannot_end_its_heredoc_early() -> None:
    text = format_outputs({"a": "x\nghadelim_fixed\ninjected=1"}, delimiter="other")
    assert parse_outputs(text) == {"a": "x\nghadelim_fixed\ninjected=1"}


def test_outputs_are_appended_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    write_outputs(path, {"a": "1"})
    write_outputs(path, {"b": "two"})
    assert parse_outputs(path.read_text()) == {"a": "1", "b": "two"}
    write_outputs(None, {"c": "3"})  # outside Actions nothing is written anywhere


def test_mask_forms_cover_lines_and_encodings() -> None:
    forms = SecretSet.of(["first-line\nsecond-line"]).log_masks()
    assert "first-line" in forms
    assert "second-line" in forms
    assert all("\n" not in f for f in forms)
    assert "dG9rZW4tdmFsdWU=" in SecretSet.of(["token-value"]).log_masks()
    assert "a%2Fb%3Dc%26d" in SecretSet.of(["a/b=c&d"]).log_masks()


def test_masks_are_one_command_per_form() -> None:
    stream = io.StringIO()
    emit_masks(SecretSet.of(["token-value", "token-value", "ab"]), stream)
    lines = stream.getvalue().splitlines()
    assert all(line.startswith("::add-mask::") for line in lines)
    assert "::add-mask::token-value" in lines
    assert len(lines) == len(set(lines))
    assert "::add-mask::ab" not in lines  # too short to mask without shredding the log


def test_summary_is_capped_under_the_step_limit(tmp_path: Path) -> None:
    text = "row\n" * 400_000
    capped = cap_summary(text, limit=100_000)
    assert len(capped) <= 100_000
    assert "1 MiB" in capped
    path = tmp_path / "summary.md"
    append_summary(path, "hello")
    append_summary(path, "world\n")
    assert path.read_text() == "hello\nworld\n"
