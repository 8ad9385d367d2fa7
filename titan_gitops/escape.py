"""How an untrusted string is made inert where it lands: a terminal, a log line, JSON or Markdown.

Shared by the renderers, the commands, the error messages, the Action and the secret masker
(which must know the escaped form of a secret to find it). Pure string functions; nothing here
imports the rest.
"""

from __future__ import annotations

import html
import re

# Characters that must never reach a terminal, a log or a document raw: C0 controls (ESC among
# them), DEL and the C1 controls (U+009B is a one-byte CSI), format characters (bidi overrides
# and isolates, zero-width ones, the invisible tag block), line and paragraph separators, Hangul
# fillers that render as blanks, and lone surrogates (which cannot even be encoded to UTF-8).
UNSAFE_CLASS = (
    r"\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160"
    r"\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    r"\ud800-\udfff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[{UNSAFE_CLASS}]")
# The same, but newline and tab pass: what a multi-line text (an objective, a message of our own)
# may hold.
UNSAFE_IN_TEXT = re.compile(rf"(?![\n\t])[{UNSAFE_CLASS}]")
# Our own colours (SGR, `ESC [ … m`) pass the console's last check; nothing else with an ESC.
_COLOUR_OR_UNSAFE = re.compile(rf"(\x1b\[[0-9;]*m)|(?![\n\t])[{UNSAFE_CLASS}]")
# C0 controls are escaped by json.dumps itself; a raw newline in its output is indentation.
_UNSAFE_IN_JSON = re.compile(rf"(?![\x00-\x1f])[{UNSAFE_CLASS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

_MENTION = re.compile(r"@(?=\w)")
# Inline syntax only: strings never start a line here, so `#`, `-`, `+` and `1.` are inert, and
# `(`, `!` matter only next to an (escaped) bracket.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# Where GitHub's autolink extension would make a link of plain text: `scheme://` and `www.`. A
# backslash before the `:` or the `.` keeps the text as it reads and makes no link.
_AUTOLINK = re.compile(r"(?<=[A-Za-z0-9])(:)(?=//)|(?<![A-Za-z0-9])((?i:www))(\.)")


def show_character(char: str) -> str:
    """The visible stand-in for one unsafe character: `\\n`, `\\x1b`, `\\x9b`, `<U+202E>`."""
    point = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if point <= 0x9F:
        return f"\\x{point:02x}"
    return f"<U+{point:04X}>"


def _show_match(match: re.Match[str]) -> str:
    return show_character(match.group())


def escape_terminal(text: str) -> str:
    """A string from the service or a definition made safe for one line of a terminal or log.

    Every control character (newline and tab too), ESC, DEL, C1 control, bidi override or isolate
    and other invisible character is shown visibly (`\\n`, `\\x1b`, `<U+202E>`); printable
    Unicode is unchanged.
    """
    return UNSAFE.sub(_show_match, text)


def escape_output(text: str, *, keep_colour: bool = False) -> str:
    """The last check on text leaving for a terminal or log: all but newline and tab escaped.

    With `keep_colour`, our own SGR colour sequences (`ESC [ 31 m`) are let through as well.
    """
    if not keep_colour:
        return UNSAFE_IN_TEXT.sub(_show_match, text)

    def keep_or_show(match: re.Match[str]) -> str:
        return match.group(1) or show_character(match.group())

    return _COLOUR_OR_UNSAFE.sub(keep_or_show, text)


def _json_escape(match: re.Match[str]) -> str:
    point = ord(match.group())
    if point <= 0xFFFF:
        return f"\\u{point:04x}"
    point -= 0x10000
    return f"\\u{0xD800 + (point >> 10):04x}\\u{0xDC00 + (point & 0x3FF):04x}"


def escape_json_text(text: str) -> str:
    """JSON text (json.dumps output) with every unsafe character written as a `\\u` escape.

    The document still decodes to the same values; only no C1 control, bidi override or
    invisible character is left raw for a terminal to act on.
    """
    return _UNSAFE_IN_JSON.sub(_json_escape, text)


def escape_text(text: str) -> str:
    """Escape a user string for Markdown prose: HTML, Markdown syntax, links, @-mentions, controls.

    Newlines become spaces (a paragraph or heading stays one line); every other control, bidi
    or invisible character is shown visibly.
    """
    text = UNSAFE_IN_TEXT.sub(_show_match, text)
    # Markdown first, then HTML: `&`, `<` and `>` become entities that hold no Markdown syntax.
    text = _AUTOLINK.sub(r"\2\\\1\3", _MD_SPECIAL.sub(r"\\\1", text))
    text = html.escape(text, quote=False)
    return _MENTION.sub("@\u2060", text).replace("\n", " ")


def escape_code(text: str) -> str:
    """A name, id or path inside inline HTML such as <code>: every unsafe character shown.

    Text between inline tags is still parsed as Markdown, so it is escaped as prose is; a newline
    in a name is shown as `\\n` rather than hidden as a space.
    """
    return escape_text(escape_terminal(text))


def escape_html(text: str) -> str:
    """A user string inside raw HTML that Markdown does not touch (a `<summary>` line).

    HTML entities only, no Markdown escapes (they would show as backslashes); every unsafe
    character shown visibly, a newline as `\\n`; mentions defused.
    """
    return _MENTION.sub("@\u2060", html.escape(escape_terminal(text), quote=True))


def fence(body: str, info: str = "") -> str:
    """A code fence longer than any backtick run inside `body`, so it cannot be broken out of.

    Mentions are defused inside too: a rendered diff never notifies anyone. Controls, bidi
    overrides and invisible characters are shown visibly; newlines and tabs are kept.
    """
    body = _MENTION.sub("@\u2060", UNSAFE_IN_TEXT.sub(_show_match, body))
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


def escape_cell(text: str) -> str:
    """A user string inside a Markdown table cell: no HTML, no pipe, no mention, one line."""
    text = UNSAFE_IN_TEXT.sub(_show_match, text.replace("\r", " "))
    text = html.escape(text, quote=False).replace("|", "\\|")
    return _MENTION.sub("@\u2060", text).replace("\n", " ")
