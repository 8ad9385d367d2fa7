"""Safety caps on definition text, checked before any parser sees it: size, encoding, depth."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from titan_gitops.errors import Problem
from titan_gitops.load.paths import describe_kind, describe_os_error, regular_file_problem

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


def read_definition_bytes(path: str | Path, display: str) -> tuple[bytes | None, list[Problem]]:
    """The file's bytes (not yet decoded: `decode_definition_bytes`), or a located problem:
    unreadable or not a plain file, too big."""
    raw, problem = _read_regular_file(path, display)
    if raw is None:
        return None, [problem] if problem else []
    return raw, []


def decode_definition_bytes(raw: bytes, display: str) -> tuple[str | None, list[Problem]]:
    """Definition bytes (read from a file or from git) as text, or a located problem: too big,
    bad UTF-8, nested too deep. A leading byte order mark is dropped."""
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


def _read_regular_file(path: str | Path, display: str) -> tuple[bytes | None, Problem | None]:
    """At most MAX_FILE_BYTES + 1 bytes of a regular file; anything else is never read.

    The kind is checked before opening and again on the open handle, which is opened
    non-blocking: a FIFO swapped in after the walk listed a plain file cannot stall the run.
    """
    problem = regular_file_problem(path)
    if problem is not None:
        return None, file_problem(display, f"the file {problem}")
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return None, file_problem(display, describe_os_error("file", exc))
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            kind = describe_kind(info.st_mode)
            return None, file_problem(display, f"the file is {kind}, not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            message = f"file is {info.st_size} bytes; the limit is 1 MiB"
            return None, file_problem(display, message)
        # Sized by the file (a 1 MiB buffer per file costs more than reading it); a file that
        # grew since is read on, still to one byte past the cap at most.
        want = min(info.st_size, MAX_FILE_BYTES) + 1
        data = _read_up_to(handle, want)
        if len(data) == want:
            data += _read_up_to(handle, MAX_FILE_BYTES + 1 - want)
        return data, None
    except OSError as exc:
        return None, file_problem(display, describe_os_error("file", exc))
    finally:
        os.close(handle)


def _read_up_to(handle: int, size: int) -> bytes:
    """The next `size` bytes of an open file, or fewer at its end."""
    parts: list[bytes] = []
    while size > 0:
        part = os.read(handle, size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def file_problem(display: str, message: str) -> Problem:
    """A problem about a whole file, placed at its first line."""
    return Problem(display, 1, 1, "", message)
