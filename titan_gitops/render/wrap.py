"""Our own lines of prose (headings, markers, warnings, summaries) folded to the width. Pure.

A field change is laid out by render.fields; everything else a text renderer writes goes through
`wrap`: a line over WIDTH columns is cut at its last space before the limit (at the limit when it
has none), and each further line starts two columns further in than the line's own text, with
`↳`. So a continuation never starts with a piece of untrusted text (a name, a value, an author):
such a piece at the start of an output line could act as a CI workflow command (`::error::`).
"""

from __future__ import annotations

from titan_gitops.render.fields import WIDTH

MARK = "↳ "


def wrap(line: str, width: int = WIDTH) -> list[str]:
    """`line` as lines of at most `width` columns (`[line]` when it fits)."""
    if len(line) <= width:
        return [line]
    text = line.lstrip(" ")
    own = len(line) - len(text)
    lead = " " * min(own + 2, width // 2) + MARK
    out: list[str] = []
    # Never cut inside the first word (a sign such as `~` or `!` stays with what follows it).
    first = line.find(" ", own)
    start = first if first > own else own
    while len(line) > width:
        cut = line.rfind(" ", start + 1, width + 1)
        cut = width if cut <= start else cut
        out.append(line[:cut].rstrip(" "))
        rest = line[cut:].lstrip(" ")
        if not rest:
            return out
        line, start = lead + rest, len(lead)
    out.append(line)
    return out
