"""GitHub workflow commands and environment files: masks, annotations, outputs, step summary.

Follows GitHub's documented escaping: data escapes `%`, CR and LF; property values also `:` and
`,`. Annotation text is untrusted (names and messages from the service): every other control,
bidi or invisible character in it is shown visibly first. Masks are encoded exactly, so the runner
hides the secret itself. Outputs use a random heredoc delimiter so no value can end its block
early.
"""

from __future__ import annotations

import secrets as random_source
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from titan_gitops.escape import escape_output
from titan_gitops.render.markdown import cut_markdown
from titan_gitops.secrets import SecretSet

# GitHub shows at most 10 error and 10 warning annotations per step; the rest go to the summary.
MAX_ANNOTATIONS = 10
# The step summary is refused above 1 MiB (1,048,576 bytes, the whole file of a step); what we write
# stays under this many UTF-8 bytes, with room for the notes we add.
STEP_SUMMARY_MAX = 1_048_576
SUMMARY_LIMIT = 1_000_000
# Kept free by every append for the one line that says the summary is full.
_SUMMARY_RESERVE = 200
_SUMMARY_FULL = "_The step summary is full; the rest is in the job log._\n"


def encode_data(text: str) -> str:
    """GitHub's encoding of a command's data, nothing more: what `::add-mask::` needs."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _show_controls(text: str) -> str:
    # CR, LF and tab are encoded (or harmless); every other unsafe character is shown visibly.
    return "\r".join(escape_output(part) for part in text.split("\r"))


def escape_data(text: str) -> str:
    """Escape the message part of a workflow command, its other controls shown visibly."""
    return encode_data(_show_controls(text))


def escape_property(text: str) -> str:
    """Escape a property value (`file=`, `title=`) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One file/line annotation: level is error, warning or notice."""

    level: str
    message: str
    file: str = ""
    line: int = 0
    col: int = 0
    title: str = "titan-gitops"


def format_annotation(note: Annotation) -> str:
    """The `::error file=..,line=..,col=..,title=..::message` command for one annotation."""
    props: list[str] = []
    if note.file:
        props.append(f"file={escape_property(note.file)}")
        if note.line > 0:
            props.append(f"line={note.line}")
            if note.col > 0:
                props.append(f"col={note.col}")
    if note.title:
        props.append(f"title={escape_property(note.title)}")
    head = f"::{note.level}"
    if props:
        head += " " + ",".join(props)
    return f"{head}::{escape_data(note.message)}"


def split_annotations(
    notes: Sequence[Annotation], limit: int = MAX_ANNOTATIONS
) -> tuple[list[Annotation], list[Annotation]]:
    """The annotations GitHub will show (at most `limit` per level) and the rest, in order."""
    shown: list[Annotation] = []
    rest: list[Annotation] = []
    per_level: dict[str, int] = {}
    for note in notes:
        count = per_level.get(note.level, 0)
        if count < limit:
            shown.append(note)
            per_level[note.level] = count + 1
        else:
            rest.append(note)
    return shown, rest


def emit_masks(secrets: SecretSet, stream: TextIO) -> None:
    """Print `::add-mask::` for every one-line form of every secret, before anything else."""
    for form in secrets.log_masks():
        stream.write(f"::add-mask::{encode_data(form)}\n")
    stream.flush()


def format_outputs(values: Mapping[str, str], delimiter: str | None = None) -> str:
    """Outputs in the `$GITHUB_OUTPUT` format; every value in a heredoc with a random delimiter."""
    lines: list[str] = []
    for name, value in values.items():
        mark = delimiter or f"ghadelim_{random_source.token_hex(16)}"
        if mark in value:
            raise ValueError("the output delimiter occurs in the value")
        lines.extend([f"{name}<<{mark}", value, mark])
    return "\n".join(lines) + "\n" if lines else ""


def write_outputs(path: Path | None, values: Mapping[str, str]) -> None:
    """Append outputs to the `$GITHUB_OUTPUT` file (nothing when not running in Actions)."""
    if path is None:
        return
    with path.open("a", encoding="utf-8") as handle:
        handle.write(format_outputs(values))


def cap_summary(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Cut a summary to `limit` UTF-8 bytes, keeping its start and saying so."""
    note = "_The summary was cut to stay under GitHub's 1 MiB step-summary limit._\n"
    return cut_markdown(text, limit=limit, note=note)


def _ends_with(path: Path, tail: str) -> bool:
    wanted = tail.encode("utf-8")
    with path.open("rb") as handle:
        handle.seek(max(path.stat().st_size - len(wanted), 0))
        return handle.read() == wanted


def append_summary(path: Path | None, text: str) -> None:
    """Append Markdown to the `$GITHUB_STEP_SUMMARY` file (nothing when not running in Actions).

    GitHub's limit is on the step's whole file, in bytes, so each append gets only the room left
    in it (its size on disk is the running total, earlier writes of the step included), less a
    reserve from which one last line says that the summary is full. A file already past GitHub's
    limit gets nothing more: it is lost whatever is added.
    """
    if path is None:
        return
    if not text.endswith("\n"):
        text += "\n"
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    room = SUMMARY_LIMIT - _SUMMARY_RESERVE - used
    if room < _SUMMARY_RESERVE:
        fits = used + len(_SUMMARY_FULL.encode("utf-8")) <= STEP_SUMMARY_MAX
        text = _SUMMARY_FULL if fits and not _ends_with(path, _SUMMARY_FULL) else ""
    elif len(text) > room // 4:  # only then can it be longer than `room` bytes
        text = cap_summary(text, limit=room)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
