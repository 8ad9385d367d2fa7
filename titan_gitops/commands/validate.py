"""The validate command: load and validate a definitions directory offline (no network)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console
from titan_gitops.errors import ValidationFailed
from titan_gitops.escape import escape_json_text, escape_terminal


@dataclass(frozen=True)
class ValidateCommandOptions:
    """`titan-gitops validate DIR`."""

    directory: Path
    output: Literal["text", "json"] = "text"
    github: bool = False


def validate_definitions(options: ValidateCommandOptions, console: Console) -> int:
    """Load and validate a definitions directory offline."""
    from titan_gitops.pipeline import validate_directory
    from titan_gitops.render.problems import (
        render_problems_github,
        render_problems_json,
        render_problems_text,
    )

    root = options.directory
    try:
        state = validate_directory(root, environ=os.environ)
    except ValidationFailed as exc:
        if options.output == "json":
            console.print(escape_json_text(render_problems_json(exc.problems)))
        else:
            if options.github:
                console.print(render_problems_github(exc.problems))
            console.warn(render_problems_text(exc.problems))
            console.warn(f"error: {exc}")
        return exit_codes.ERROR
    warnings = list(state.warnings)
    if options.output == "json":
        console.print(escape_json_text(render_problems_json(warnings)))
        return exit_codes.OK
    if warnings:
        if options.github:
            console.print(render_problems_github(warnings))
        console.warn(render_problems_text(warnings))
    tasks, templates = len(state.tasks), len(state.templates)
    console.print(
        f"{escape_terminal(str(root))}: {tasks} task{'s' * (tasks != 1)}, "
        f"{templates} template{'s' * (templates != 1)}: valid."
    )
    return exit_codes.OK
