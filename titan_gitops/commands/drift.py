"""The drift command: live edits made outside git, missing tasks and unmanaged ones. Read-only."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target, use_colour

if TYPE_CHECKING:
    from titan_gitops.model import Plan


@dataclass(frozen=True)
class DriftCommandOptions:
    """`titan-gitops drift DIR`."""

    directory: Path
    target: TargetOptions
    output: Literal["text", "json", "markdown"] = "text"
    no_color: bool = False
    # The git revision last applied: tells merges not yet applied from edits made in Titan.
    base: str | None = None
    fail_on_pending: bool = False


def report_drift(options: DriftCommandOptions, console: Console) -> int:
    """Report live edits made outside git, missing tasks and unmanaged ones. Read-only."""
    from titan_gitops.connect import open_client
    from titan_gitops.defcache import open_cache
    from titan_gitops.escape import escape_json_text
    from titan_gitops.pipeline import make_drift_report
    from titan_gitops.planfile import plan_to_json_data
    from titan_gitops.render.markdown import render_plan_markdown
    from titan_gitops.render.text import render_plan_text

    target = resolve_cli_target(options.target)
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        report = make_drift_report(
            options.directory,
            client,
            environ=os.environ,
            target=target.describe(),
            base=options.base,
            cache=open_cache(os.environ),
        )
    if options.output == "json":
        data = {"drift": drift_found(report, options.fail_on_pending), **plan_to_json_data(report)}
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        console.write(escape_json_text(text))
    elif options.output == "markdown":
        console.write(
            render_plan_markdown(
                report, title="titan-gitops drift", drift=True, mask=console.secrets.mask
            )
        )
    else:
        colour = use_colour(options.no_color)
        console.write(
            render_plan_text(report, colour=colour, drift=True, mask=console.secrets.mask)
        )
    return exit_codes.CHANGES if drift_found(report, options.fail_on_pending) else exit_codes.OK


def drift_found(report: Plan, fail_on_pending: bool = False) -> bool:
    """True when the report holds drift that fails a check: any change without a base; with one,
    a live edit, a conflict or an unmanaged task (and, with `fail_on_pending`, a merge not yet
    applied). A task both sides changed alike needs nothing."""
    threeway = report.threeway
    if threeway is None:
        return report.has_changes
    counts = threeway.counts()
    if counts["live_edit"] or counts["conflict"]:
        return True
    if fail_on_pending and counts["pending"]:
        return True
    # What the attribution leaves out still counts: an unclaimed live task out of its scope.
    attributed = {t.name for t in threeway.tasks}
    return any(c.name not in attributed for c in report.actionable)
