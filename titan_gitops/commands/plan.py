"""The plan command: diff the definitions against the live tasks and show (and save) the plan."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target, use_colour

if TYPE_CHECKING:
    from titan_gitops.plan import PlanOptions


@dataclass(frozen=True)
class PlanCommandOptions:
    """`titan-gitops plan DIR`."""

    directory: Path
    target: TargetOptions
    planning: PlanOptions
    out: str | None = None
    output: Literal["text", "json", "markdown"] = "text"
    detailed_exitcode: bool = False
    no_color: bool = False


def show_plan(options: PlanCommandOptions, console: Console) -> int:
    """Diff the definitions against the live tasks and show the plan."""
    from titan_gitops.atomic import check_file_target
    from titan_gitops.connect import open_client
    from titan_gitops.escape import escape_json_text, escape_terminal
    from titan_gitops.pipeline import make_plan
    from titan_gitops.planfile import render_plan_json, write_plan_file
    from titan_gitops.render.markdown import render_plan_markdown
    from titan_gitops.render.text import render_plan_text

    target = resolve_cli_target(options.target)
    if options.out:
        # Before the service is read: a plan that cannot be saved is not worth making.
        check_file_target(Path(options.out))
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        plan = make_plan(
            options.directory,
            client,
            options.planning,
            environ=os.environ,
            target=target.describe(),
        )
    if options.out:
        write_plan_file(Path(options.out), plan, secrets=console.secrets)
    if options.output == "json":
        console.write(escape_json_text(render_plan_json(plan)))
    elif options.output == "markdown":
        console.write(render_plan_markdown(plan, mask=console.secrets.mask))
    else:
        colour = use_colour(options.no_color)
        console.write(render_plan_text(plan, colour=colour, mask=console.secrets.mask))
        if options.out:
            console.warn(f"Saved the plan to {escape_terminal(options.out)}.")
    if options.detailed_exitcode and plan.has_changes:
        return exit_codes.CHANGES
    return exit_codes.OK
