"""The validate command: load and validate a definitions directory offline (no network)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console
from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.escape import escape_json_text, escape_terminal

if TYPE_CHECKING:
    from titan_gitops.defcache.store import DefinitionCache
    from titan_gitops.defcache.verdict import Verdict
    from titan_gitops.model import DesiredState


@dataclass(frozen=True)
class ValidateCommandOptions:
    """`titan-gitops validate DIR`."""

    directory: Path
    output: Literal["text", "json"] = "text"
    github: bool = False
    strict: bool = False


def as_errors(problems: Iterable[Problem]) -> list[Problem]:
    """`problems` with every warning made an error: what `--strict` and the Action's input do."""
    return [dataclasses.replace(p, severity="error") for p in problems]


def validate_strictly(root: Path, environ: Mapping[str, str]) -> DesiredState:
    """Validate `root` and refuse it when it has any warning: what `strict` checks before a plan.

    Raises:
        ValidationFailed: with every problem, warnings made errors, if there is any.
    """
    from titan_gitops.pipeline import validate_directory

    try:
        state = validate_directory(root, environ=environ)
    except ValidationFailed as exc:
        raise ValidationFailed(as_errors(exc.problems)) from None
    if state.warnings:
        raise ValidationFailed(as_errors(state.warnings))
    return state


def validate_definitions(options: ValidateCommandOptions, console: Console) -> int:
    """Load and validate a definitions directory offline."""
    from titan_gitops.defcache.store import open_cache
    from titan_gitops.defcache.verdict import recall
    from titan_gitops.render.problems import (
        render_problems_github,
        render_problems_json,
        render_problems_text,
    )

    root = options.directory
    cache = open_cache(os.environ)
    try:
        # A directory none of whose inputs changed since a clean run: that run's verdict.
        state = recall(cache, root) if cache is not None else None
        if state is None:
            state = _validate(root, cache)
        if options.strict and state.warnings:
            # Made errors below, with the rest, so every output says why the run failed.
            raise ValidationFailed(list(state.warnings))
    except ValidationFailed as exc:
        note = ""
        if options.strict and any(p.severity != "error" for p in exc.problems):
            exc = ValidationFailed(as_errors(exc.problems))
            note = " (--strict counts warnings as errors)"
        if options.output == "json":
            console.print(escape_json_text(render_problems_json(exc.problems)))
        else:
            if options.github:
                console.print(render_problems_github(exc.problems))
            console.warn(render_problems_text(exc.problems))
            console.warn(f"error: {exc}{note}")
        return exit_codes.ERROR
    warnings = list(state.warnings)
    if options.output == "json":
        console.print(escape_json_text(render_problems_json(warnings)))
        return exit_codes.OK
    if warnings:
        if options.github:
            console.print(render_problems_github(warnings))
        console.warn(render_problems_text(warnings))
    tasks, templates = state.tasks, state.templates
    console.print(
        f"{escape_terminal(str(root))}: {tasks} task{'s' * (tasks != 1)}, "
        f"{templates} template{'s' * (templates != 1)}: valid."
    )
    return exit_codes.OK


def _validate(root: Path, cache: DefinitionCache | None) -> Verdict:
    from titan_gitops.defcache.verdict import Verdict
    from titan_gitops.pipeline import validate_directory

    state = validate_directory(root, environ=os.environ, cache=cache)
    return Verdict(len(state.tasks), len(state.templates), state.warnings)
