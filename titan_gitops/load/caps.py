"""Safety caps on definition text, checked before any parser sees it: size, encoding, depth."""

from __future__ import annotations

import re
from pathlib import Path

from titan_gitops.errors import Problem

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64

_INDENT = re.compile(r"^( *)\S", re.MULTILINE)
_DASHES = re.compile(r"^ *((?:- +)+)", re.MULTILINE)


def _depth_bound(text: str) -> int:
    """A cheap upper bound of the depth: distinct indents + most dashes on a line + all opens."""
    indents = len(set(_INDENT.findall(text)))
    dashes = max((m.count("-") for m in _DASHES.findall(text)), default=0)
    return indents + dashes + text.count("[") + text.count("{")


def scan_nesting_depth(text: str, limit: int | None = None) -> tuple[int, int]:
    """A conservative upper bound of the nesting depth of YAML text, and the line reaching it.

    With `limit`, stops at the first line deeper than it.

    Counts indentation levels, `- ` markers opening a line, and open flow brackets; it may
    over-count (a bracket in a block scalar) but never under-counts deep flow or block nesting.
    """
    if limit is not None and _depth_bound(text) <= limit:
        return 0, 0
    indents: list[int] = []
    flow = 0
    worst, worst_line = 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        while indents and indents[-1] > indent:
            indents.pop()
        if not indents or indents[-1] < indent:
            indents.append(indent)
        dashes = 0
        rest = stripped
        while rest.startswith("- ") or rest == "-":
            dashes += 1
            rest = rest[2:].lstrip(" ")
        if not any(bracket in rest for bracket in "[]{}"):
            # No flow brackets on this line: its depth is its indentation plus open flows.
            if len(indents) + dashes + flow > worst:
                worst, worst_line = len(indents) + dashes + flow, number
                if limit is not None and worst > limit:
                    return worst, worst_line
            continue
        quote = ""
        for char in rest:
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[{":
                flow += 1
                if len(indents) + dashes + flow > worst:
                    worst, worst_line = len(indents) + dashes + flow, number
                    if limit is not None and worst > limit:
                        return worst, worst_line
            elif char in "]}":
                flow = max(0, flow - 1)
            elif char == "#":
                break
        if len(indents) + dashes + flow > worst:
            worst, worst_line = len(indents) + dashes + flow, number
            if limit is not None and worst > limit:
                return worst, worst_line
    return worst, worst_line


def read_definition_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or a located problem: too big, unreadable, not UTF-8, or too deep."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [file_problem(display, f"file is {size} bytes; the limit is 1 MiB")]
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [file_problem(display, f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [file_problem(display, "file is larger than the 1 MiB limit")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem(display, line, col, "", "the file is not valid UTF-8")]
    text = text.removeprefix("\ufeff")
    depth, line = scan_nesting_depth(text, MAX_DEPTH)
    if depth > MAX_DEPTH:
        message = f"nesting is deeper than {MAX_DEPTH} levels"
        return None, [Problem(display, line, 1, "", message)]
    return text, []


def file_problem(display: str, message: str) -> Problem:
    """A problem about a whole file, placed at its first line."""
    return Problem(display, 1, 1, "", message)
