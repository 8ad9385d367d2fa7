"""The export command: write live tasks out as definition files (to adopt existing tasks)."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target
from titan_gitops.secrets import VAR_PREFIX


@dataclass(frozen=True)
class ExportCommandOptions:
    """`titan-gitops export --out DIR`."""

    out: str
    target: TargetOptions
    namespace: str | None = None
    only: tuple[str, ...] = ()
    force: bool = False


def export_live_tasks(options: ExportCommandOptions, console: Console) -> int:
    """Write live tasks out as definition files, `TITAN_VAR_*` values as their placeholders."""
    from titan_gitops.connect import open_client
    from titan_gitops.escape import escape_terminal
    from titan_gitops.export import export_tasks
    from titan_gitops.fetch import fetch_tasks

    target = resolve_cli_target(options.target)
    check_export_folder(Path(options.out))
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        tasks = fetch_tasks(client)
    for glob in options.only:
        if not any(fnmatch.fnmatchcase(task.name, glob) for task in tasks):
            console.warn(f"warning: --only {glob!r} matches no live task name; check the glob")
    report = export_tasks(
        tasks,
        Path(options.out),
        namespace=options.namespace,
        only=options.only,
        force=options.force,
        secrets=console.secrets,
        variables={k: v for k, v in os.environ.items() if k.startswith(VAR_PREFIX)},
    )
    out = escape_terminal(options.out)
    console.print(
        f"Exported {report.tasks} task{'s' * (report.tasks != 1)} to {out}: "
        f"{len(report.written)} file{'s' * (len(report.written) != 1)} written, "
        f"{len(report.unchanged)} unchanged."
    )
    for refused in report.refused:
        console.warn(f"error: not exported: {refused}")
    if report.refused:
        # The rest is written, but a pipeline must notice that the set is not every live task.
        count = len(report.refused)
        console.warn(
            f"error: {count} live task{'s' * (count != 1)} could not be exported; "
            "a definition cannot hold what they hold (see above)"
        )
        return exit_codes.ERROR
    return exit_codes.OK


def check_export_folder(out: Path) -> None:
    """Refuse, before the service is read, an --out that is or looks like a file, or cannot be
    written (a folder named like a YAML file would hold definitions nobody expects there).

    Raises:
        ConfigError: naming the path and what to give instead.
    """
    from titan_gitops.atomic import check_folder_target
    from titan_gitops.errors import ConfigError

    if os.path.lexists(out) and not out.is_dir():
        raise ConfigError(f"cannot export into {out}: it is not a folder; give a folder")
    if not os.path.lexists(out) and out.suffix.lower() in (".yaml", ".yml", ".json"):
        raise ConfigError(
            f"export --out takes a folder, and {out} looks like a file name: "
            "give a folder (it is created)"
        )
    check_folder_target(out)
