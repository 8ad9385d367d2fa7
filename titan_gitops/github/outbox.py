"""Everything the Action hands to GitHub passes here: log lines, annotations, outputs, summary.

Log lines are masked through the run's SecretSet; the summary and every posted body go through
the secret guard first. Text echoed to the log is untrusted: its controls are shown visibly and,
when it could hold a workflow command, it is wrapped in `::stop-commands::` with a random token,
so no line of it runs as one. Our own commands (annotations) are written as commands.
"""

from __future__ import annotations

import secrets as random_source
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from titan_gitops.errors import Problem
from titan_gitops.escape import escape_cell, escape_output, escape_text
from titan_gitops.github.context import GitHubContext
from titan_gitops.github.guard import ensure_no_secrets
from titan_gitops.github.workflow import (
    Annotation,
    append_summary,
    format_annotation,
    split_annotations,
    write_outputs,
)
from titan_gitops.secrets import SecretSet


def annotation_file(path_text: str, root: Path, workspace: Path | None) -> str:
    """A problem's file as GitHub wants it: relative to the repository root."""
    path = Path(path_text)
    if not path.is_absolute():
        for candidate in (path, root / path):
            if candidate.exists():
                path = candidate
                break
    base = (workspace or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except (ValueError, OSError):
        return path_text


def problem_to_annotation(problem: Problem, root: Path, workspace: Path | None) -> Annotation:
    """One validation problem as a file/line annotation."""
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return Annotation(
        level="error" if problem.severity == "error" else "warning",
        message=message,
        file=annotation_file(problem.path, root, workspace),
        line=problem.line,
        col=problem.col,
    )


def render_problems_markdown(problems: Sequence[Problem], *, hidden: int) -> str:
    """Every problem as a Markdown table, saying how many had no annotation of their own."""
    rows = ["| | File | Line | Problem |", "|---|---|---:|---|"]
    for p in problems:
        icon = "❌" if p.severity == "error" else "⚠️"
        what = f"{p.field}: {p.message}" if p.field else p.message
        rows.append(
            f"| {icon} | <code>{escape_cell(p.path)}</code> | {p.line} | {escape_cell(what)} |"
        )
    text = "\n".join(rows)
    if hidden:
        text += (
            f"\n\n_GitHub shows 10 annotations of each level per step: {hidden} more "
            f"problem{'s' * (hidden != 1)} appear{'s' * (hidden == 1)} only in this table._"
        )
    return text + "\n"


def inert_log_text(text: str) -> str:
    """`text` so that the runner runs none of its lines as a workflow command.

    A command is a line starting (after spaces) with `::`, or holding `##[`; text with neither
    is left as it is. Otherwise it goes between `::stop-commands::TOKEN` and `::TOKEN::`, with a
    token it cannot know or contain. `text` must hold no CR or other line separator (see
    `escape_output`), so its lines are the ones the runner sees.
    """
    if "::" not in text and "##[" not in text:
        return text
    token = random_source.token_hex(16)
    while token in text:  # pragma: no cover (1 in 2**128)
        token = random_source.token_hex(16)
    return f"::stop-commands::{token}\n{text}\n::{token}::"


class Outbox:
    """The Action's single way out to the log, the runner's files and GitHub."""

    def __init__(
        self, context: GitHubContext, secrets: SecretSet, stream: TextIO | None = None
    ) -> None:
        self.context = context
        self.secrets = secrets
        self._stream = stream or sys.stdout
        self.outputs: dict[str, str] = {}

    def log(self, text: str) -> None:
        """A line (or block) for the job log: secrets masked, inert to the runner."""
        self._write(inert_log_text(escape_output(self.secrets.mask(text)).rstrip("\n")))

    def _command(self, line: str) -> None:
        """One workflow command of our own (its untrusted parts escaped by the caller)."""
        self._write(self.secrets.mask(line))

    def _write(self, text: str) -> None:
        self._stream.write(text + "\n")
        self._stream.flush()

    def error(self, message: str) -> None:
        """A top-level error annotation."""
        self._annotate("error", message)

    def warning(self, message: str) -> None:
        """A top-level warning annotation."""
        self._annotate("warning", message)

    def _annotate(self, level: str, message: str) -> None:
        # Masked before the command escapes it: an escaped secret would slip past the log's mask.
        self._command(format_annotation(Annotation(level, self.secrets.mask(message), title="")))

    def check(self, text: str, *, what: str) -> str:
        """Return `text` if it is safe to post, else raise SecretLeak."""
        ensure_no_secrets(text, self.secrets, what=what)
        return text

    def summary(self, markdown: str) -> None:
        """Append to the step summary, after the secret guard."""
        append_summary(self.context.summary_path, self.check(markdown, what="step summary"))

    def annotate(self, notes: Sequence[Annotation]) -> int:
        """Emit what GitHub will show; return how many were left for the summary."""
        shown, rest = split_annotations(notes)
        for note in shown:
            self._command(format_annotation(note))
        return len(rest)

    def report_problems(self, problems: Sequence[Problem], root: Path, *, title: str) -> None:
        """Annotations for the first problems, the full table in the summary."""
        notes = [problem_to_annotation(p, root, self.context.workspace) for p in problems]
        hidden = self.annotate(notes)
        for problem in problems:
            self.log(str(problem))
        self.summary(
            f"### {escape_text(title)}\n\n" + render_problems_markdown(problems, hidden=hidden)
        )

    def set_outputs(self, values: Mapping[str, str]) -> None:
        """Record outputs (written once, at the end, by `flush_outputs`)."""
        self.outputs.update(values)

    def flush_outputs(self) -> None:
        """Write the recorded outputs to `$GITHUB_OUTPUT`."""
        self.check("\n".join(self.outputs.values()), what="outputs")
        write_outputs(self.context.output_path, self.outputs)
        self.outputs = {}
