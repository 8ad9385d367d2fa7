"""The adopt command: write what was changed in Titan since the base into the definitions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target

if TYPE_CHECKING:
    from collections.abc import Sequence

    from titan_gitops.adopt import AdoptReport, FileEdit
    from titan_gitops.model import PlanOptions


@dataclass(frozen=True)
class AdoptCommandOptions:
    """`titan-gitops adopt DIR --base REV`."""

    directory: Path
    target: TargetOptions
    planning: PlanOptions
    include_conflicts: bool = False
    include_deletes: bool = False
    dry_run: bool = False


def adopt_live_edits(options: AdoptCommandOptions, console: Console) -> int:
    """Write the live values of edits made in Titan into the definition files, in place (with
    `dry_run`, print the diff instead); say what was adopted and what was left, and why."""
    from titan_gitops.adopt import AdoptOptions
    from titan_gitops.connect import open_client
    from titan_gitops.pipeline import make_adoption

    target = resolve_cli_target(options.target)
    wanted = AdoptOptions(options.include_conflicts, options.include_deletes)
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        report = make_adoption(
            options.directory,
            client,
            options.planning,
            wanted,
            environ=os.environ,
            secrets=console.secrets,
        )
    if options.dry_run:
        for edit in report.edits:
            console.write(edit.unified_diff())
    else:
        write_edits(report.edits)
    console.write(describe_adoption(report, dry_run=options.dry_run))
    return exit_codes.OK


def write_edits(edits: Sequence[FileEdit]) -> None:
    """Every file as adopt leaves it, once each is still as adopt read it (checked for all
    before any is written, so a file saved meanwhile is neither overwritten nor half-adopted).

    Raises:
        ConfigError: a file changed on disk since adopt read it (or appeared, for a new one).
    """
    from titan_gitops.errors import ConfigError
    from titan_gitops.escape import escape_terminal

    for edit in edits:
        try:
            now = edit.path.read_bytes().decode("utf-8") if os.path.lexists(edit.path) else ""
        except (OSError, UnicodeDecodeError):
            now = None
        if now != edit.before:
            raise ConfigError(
                f"{escape_terminal(str(edit.path))} changed on disk since adopt read it; nothing "
                "was written: run adopt again"
            )
    for edit in edits:
        write_edit(edit)


def write_edit(edit: FileEdit) -> None:
    """One file as adopt leaves it: written in place (atomically), created, or removed."""
    from titan_gitops.atomic import make_directory, remove_file, write_text_atomic

    if not edit.after:
        remove_file(edit.path)
        return
    if not edit.before:
        make_directory(edit.path.parent)
    write_text_atomic(edit.path, edit.after)


def describe_adoption(report: AdoptReport, *, dry_run: bool) -> str:
    """What was (or would be) adopted, file by file, and what was left and why."""
    from titan_gitops.escape import escape_terminal

    def show(text: str) -> str:
        return escape_terminal(text)

    base = report.threeway.base
    named = "" if base.sha.startswith(base.rev) else f" ({show(base.rev)})"
    lines = [f"Base: {base.sha[:7]}{named}"]
    if report.adopted:
        verb = "Would adopt" if dry_run else "Adopted"
        lines.append(f"{verb} from Titan:")
    for item in report.adopted:
        if item.how == "created":
            lines.append(f"  + {show(item.name)}  created in Titan → new file {show(item.path)}")
        elif item.how == "removed":
            lines.append(
                f"  - {show(item.name)}  deleted in Titan → removed from {show(item.path)}"
            )
        else:
            fields = ", ".join(item.fields)
            lines.append(f"  ~ {show(item.name)}  {fields}  ({show(item.path)})")
        for key, origin in item.overrides:
            lines.append(f"      {key} came from {show(origin)}: written as an override here")
    if report.not_adopted:
        lines.append("Left as they are:")
    for left in report.not_adopted:
        where = f" {left.field}" if left.field else ""
        lines.append(f"  ! {show(left.name)}{where}: {show(left.reason)}")
    count = len(report.edits)
    if not report.adopted:
        lines.append("Nothing to adopt: no edit made in Titan since the base can be kept.")
    elif dry_run:
        lines.append(f"Would write {count} file{'s' * (count != 1)}; nothing was written.")
    else:
        lines.append(
            f"Wrote {count} file{'s' * (count != 1)}. A plan now shows no change for the adopted "
            "tasks; commit the files to keep the edits."
        )
    return "\n".join(lines) + "\n"
