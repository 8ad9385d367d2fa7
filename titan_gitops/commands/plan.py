"""The plan command: diff the definitions against the live tasks and show (and save) the plan."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target, use_colour
from titan_gitops.escape import escape_json_text, escape_terminal

if TYPE_CHECKING:
    from titan_gitops.model import Plan, PlanPreviews
    from titan_gitops.plan import PlanOptions
    from titan_gitops.render.previews import Mask


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
    # Preview created and output-changing tasks, at most `preview_limit` (`--preview`).
    preview: bool = False
    preview_limit: int = 3


def show_plan(options: PlanCommandOptions, console: Console) -> int:
    """Diff the definitions against the live tasks and show the plan."""
    # Each output and option imports what it needs, only when asked (bench/bench_startup.py).
    from titan_gitops.connect import open_client
    from titan_gitops.defcache import open_cache
    from titan_gitops.pipeline import make_plan

    target = resolve_cli_target(options.target)
    if options.out:
        from titan_gitops.atomic import check_file_target

        # Before the service is read: a plan that cannot be saved is not worth making.
        check_file_target(Path(options.out))
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        plan = make_plan(
            options.directory,
            client,
            options.planning,
            environ=os.environ,
            target=target.describe(),
            cache=open_cache(os.environ),
        )
        previews = None
        if options.preview:
            from titan_gitops.preview import preview_plan

            # After the plan is made and apart from it: a preview never changes what apply does.
            previews = preview_plan(plan, client, limit=options.preview_limit)
    if options.out:
        from titan_gitops.planfile import write_plan_file

        write_plan_file(Path(options.out), plan, secrets=console.secrets)
    return _show(options, console, plan, previews)


def _show(
    options: PlanCommandOptions, console: Console, plan: Plan, previews: PlanPreviews | None
) -> int:
    """Write `plan` in the output asked for; the exit code `--detailed-exitcode` asks for."""
    mask = console.secrets.mask
    if options.output == "json":
        from titan_gitops.planfile import render_plan_json

        text = render_plan_json(plan) if previews is None else _json_with(plan, previews, mask)
        console.write(escape_json_text(text))
    elif options.output == "markdown":
        from titan_gitops.render.markdown import render_plan_markdown
        from titan_gitops.render.previews import preview_markdown

        extra = None
        if previews is not None:
            found = previews

            def extra(change: Any) -> list[str]:
                return preview_markdown(found.find(change.name), mask)

        console.write(render_plan_markdown(plan, mask=mask, extra=extra))
    else:
        from titan_gitops.render.text import render_plan_text

        colour = use_colour(options.no_color)
        console.write(render_plan_text(plan, colour=colour, mask=mask, previews=previews))
        if options.out:
            console.warn(f"Saved the plan to {escape_terminal(options.out)}.")
    if options.detailed_exitcode and plan.has_changes:
        return exit_codes.CHANGES
    return exit_codes.OK


def _json_with(plan: Plan, previews: PlanPreviews, mask: Mask) -> str:
    """The JSON plan with a `preview` object (or null) on each change and a `previews` summary;
    `apply --plan` reads it as the saved plan, previews left aside."""
    import json

    from titan_gitops.planfile import plan_to_json_data
    from titan_gitops.render.previews import preview_to_dict, previews_to_dict

    data = plan_to_json_data(plan)
    for change in data["changes"]:
        change["preview"] = preview_to_dict(previews.find(change["name"]), mask)
    data["previews"] = previews_to_dict(previews, mask)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
