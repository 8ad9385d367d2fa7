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
