"""The escapers: terminal, last-line output check, JSON, and Markdown with control characters."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from titan_gitops.escape import (
    UNSAFE,
    escape_cell,
    escape_code,
    escape_json_text,
    escape_output,
    escape_terminal,
    escape_text,
    fence,
    show_character,
)

HOSTILE = "a\n::warning::x\x1b]0;t\x07\x1b[2J\x9b31m\u202e\u2066\u200b\x7f\x00\ud800\U000e0041"


def test_every_control_format_separator_and_surrogate_character_is_unsafe() -> None:
    missing = [
        f"U+{point:04X}"
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) in ("Cc", "Cf", "Zl", "Zp", "Cs")
        and not UNSAFE.match(chr(point))
    ]
    assert missing == []


def test_printable_text_is_unchanged_by_every_escaper() -> None:
    text = "shop-prices: Ünïcødé 价格 👍 \\ <b> 'quoted'"
    assert escape_terminal(text) == text
    assert escape_output(text) == text
    assert escape_json_text(json.dumps(text, ensure_ascii=False)) == json.dumps(
        text, ensure_ascii=False
    )


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x1b", "\\x1b"),
        ("\x7f", "\\x7f"),
        ("\x9b", "\\x9b"),
        ("\u202e", "<U+202E>"),
        ("\U000e0041", "<U+E0041>"),
    ],
)
def test_show_character_is_visible(char: str, shown: str) -> None:
    assert show_character(char) == shown


def test_escape_terminal_leaves_no_unsafe_character_and_no_line_break() -> None:
    escaped = escape_terminal(HOSTILE)
    assert not UNSAFE.search(escaped)
    assert escaped.startswith(r"a\n::warning::x\x1b]0;t\x07\x1b[2J\x9b31m<U+202E>")
    escaped.encode("utf-8")  # a lone surrogate no longer breaks the output stream


def test_escape_output_keeps_newlines_and_tabs_and_only_our_colours() -> None:
    assert escape_output("one\n\ttwo\r\x1b[31m") == "one\n\ttwo\\r\\x1b[31m"
    coloured = escape_output("\x1b[1;31mred\x1b[0m\x1b]0;t\x07", keep_colour=True)
    assert coloured == "\x1b[1;31mred\x1b[0m\\x1b]0;t\\x07"


def test_escape_json_text_keeps_the_values_and_writes_unsafe_characters_as_escapes() -> None:
    value = {"name": HOSTILE, "list": ["\u2028", "\x85"]}
    text = json.dumps(value, ensure_ascii=False, indent=2)
    escaped = escape_json_text(text)
    assert json.loads(escaped) == value
    assert not UNSAFE.search(escaped.replace("\n", ""))
    # The same escapes json.dumps writes with ensure_ascii, so a masked form still matches.
    assert "\\u202e" in escaped


def test_markdown_escapers_leave_no_control_and_stay_on_one_line() -> None:
    for escaper in (escape_text, escape_code, escape_cell):
        escaped = escaper(HOSTILE)
        assert "\n" not in escaped
        assert "\r" not in escaped
        assert not UNSAFE.search(escaped)


def test_a_heading_or_row_cannot_be_broken_by_a_carriage_return() -> None:
    assert "\r" not in escape_text("x\r# heading")
    assert escape_cell("a\r|b") == "a \\|b"


def test_escape_code_shows_a_newline_in_a_name() -> None:
    assert escape_code("shop-g\nNo changes.") == "shop-g\\\\nNo changes."


def test_fence_keeps_lines_and_shows_controls() -> None:
    body = '- name: "a\u202eb"\n+ name: "c\x1b[2J"\n\tindented'
    fenced = fence(body, "diff")
    assert fenced.split("\n")[1:-1] == [
        '- name: "a<U+202E>b"',
        '+ name: "c\\x1b[2J"',
        "\tindented",
    ]


def test_the_console_lets_no_control_out_but_newlines_tabs_and_our_colours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from titan_gitops.commands.common import Console
    from titan_gitops.secrets import SecretSet

    console = Console(SecretSet.of(["hidden-value-1"]))
    console.write("\x1b[32m+ ok\x1b[0m \x1b]0;t\x07 hidden-value-1\n")
    console.print("one\ttwo\x9b\u202e")
    console.warn("a\nb\x1b[2J")
    console.status("\r\x1b[K[1/2] x\r\x1b[K")
    out, err = capsys.readouterr()
    assert out == "\x1b[32m+ ok\x1b[0m \\x1b]0;t\\x07 ***\none\ttwo\\x9b<U+202E>\n"
    assert err == "a\nb\\x1b[2J\n\r\x1b[K[1/2] x\\r\\x1b[K"


def test_an_api_error_shows_what_the_service_sent_escaped() -> None:
    from titan_gitops.errors import ApiError

    error = ApiError("no\n::warning::x \x9b", method="GET", path="/t/\x1b", status=400, code="c\r")
    assert str(error) == "GET /t/\\x1b HTTP 400 c\\r: no\\n::warning::x \\x9b"
    assert error.detail == "no\\n::warning::x \\x9b"


def test_format_listing_keeps_each_item_on_its_line() -> None:
    from titan_gitops.errors import format_listing

    text = format_listing("refused", ["task 'a\nNo changes.'", "task 'b'"], "Run plan again.")
    assert text.splitlines() == [
        "refused:",
        "  task 'a\\nNo changes.'",
        "  task 'b'",
        "Run plan again.",
    ]


def test_a_problem_is_one_line_whatever_its_path_or_message_holds() -> None:
    from titan_gitops.errors import Problem

    problem = Problem("d/\x1b[2J.yaml", 2, 7, "name", "bad\n::error::x")
    assert str(problem) == "d/\\x1b[2J.yaml:2:7: name: bad\\n::error::x"


def test_run_refuses_a_task_reference_with_a_control_character() -> None:
    from titan_gitops.commands.run import check_task_reference
    from titan_gitops.errors import InputError

    check_task_reference("shop-prices")
    with pytest.raises(InputError, match=r"U\+000A") as caught:
        check_task_reference("x\n::warning::y")
    assert "\n" not in str(caught.value)
