"""Paths from an untrusted tree: names made printable, OS errors and file kinds as sentences."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

# C0 and C1 controls, DEL, and the bidi marks and overrides that reorder what a terminal shows.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The lone surrogates Python uses for bytes of a file name that are not UTF-8.
_UNDECODED = re.compile("[\udc80-\udcff]")

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symlink"),
)


def show_name(text: str) -> str:
    """`text` safe to print on one line: undecodable bytes as `\\xff`, controls as `\\n`."""
    if not _UNPRINTABLE.search(text) and not _UNDECODED.search(text):
        return text
    shown = []
    for char in text:
        if _UNDECODED.fullmatch(char):
            shown.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif _UNPRINTABLE.fullmatch(char) or char == "\\":
            shown.append(char.encode("unicode_escape").decode("ascii"))
        else:
            shown.append(char)
    return "".join(shown)


def name_problem(name: str) -> str | None:
    """Why a file or folder name cannot be used safely, or None when it can."""
    if _UNDECODED.search(name):
        return "the name is not valid UTF-8; rename it"
    if _UNPRINTABLE.search(name):
        return "the name holds a control character; rename it"
    return None


def describe_kind(mode: int) -> str:
    """What a file of this mode is, for messages: `a FIFO`, `a folder`, `a regular file`."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "an unusual file"


def describe_os_error(what: str, exc: OSError) -> str:
    """A sentence for an OSError met while reading `what` (the file, the folder, the symlink)."""
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long to read; shorten the names or nest fewer folders"
    if exc.errno == errno.ELOOP:
        return "symlink loop: following the link leads back to itself (or through over 40 links)"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"cannot read the {what}: it vanished while it was being read"
    return f"cannot read the {what}: {exc.strerror or type(exc).__name__}"


def regular_file_problem(path: str | Path) -> str | None:
    """Why `path` (symlinks followed) is not a readable regular file, or None when it is one."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "does not exist"
        if exc.errno == errno.ELOOP:
            return "is a symlink loop"
        if exc.errno == errno.ENAMETOOLONG:
            return "is too long a path to read"
        return f"cannot be read: {exc.strerror or type(exc).__name__}"
    except ValueError:
        return "holds a NUL character"
    if not stat.S_ISREG(info.st_mode):
        return f"is {describe_kind(info.st_mode)}, not a regular file"
    return None
