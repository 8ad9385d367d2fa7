"""How an untrusted string is made inert where it lands in Markdown: prose, code, fences, cells.

Shared by the renderers, the Action and the secret masker (which must know the escaped form of a
secret to find it in Markdown). Pure string functions; nothing here imports the rest.
"""

from __future__ import annotations

import html
import re

_MENTION = re.compile(r"@(?=\w)")
# Inline syntax only: strings never start a line here, so `#`, `-`, `+` and `1.` are inert, and
# `(`, `!` matter only next to an (escaped) bracket.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_text(text: str) -> str:
    """Escape a user string for Markdown prose: HTML, Markdown syntax and @-mentions."""
    # Markdown first, then HTML: `&`, `<` and `>` become entities that hold no Markdown syntax.
    text = html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)
    return _MENTION.sub("@\u2060", text).replace("\n", " ")


# Text between inline HTML tags such as <code> is still parsed as Markdown: escape it the same way.
escape_code = escape_text


def fence(body: str, info: str = "") -> str:
    """A code fence longer than any backtick run inside `body`, so it cannot be broken out of.

    Mentions are defused inside too: a rendered diff never notifies anyone.
    """
    body = _MENTION.sub("@\u2060", body)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{body}\n{ticks}"


def escape_cell(text: str) -> str:
    """A user string inside a Markdown table cell: no HTML, no pipe, no mention, one line."""
    text = html.escape(text, quote=False).replace("|", "\\|")
    return _MENTION.sub("@\u2060", text).replace("\r", " ").replace("\n", " ")
