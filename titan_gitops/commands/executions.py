"""The executions command: list, inspect and control executions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target
from titan_gitops.escape import escape_terminal

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient

ExecutionAction = Literal["list", "get", "pause", "resume", "stop"]


@dataclass(frozen=True)
class ExecutionsCommandOptions:
    """`titan-gitops executions list [--task TASK]` or `executions get|pause|resume|stop ID`."""

    action: ExecutionAction
    target: TargetOptions
    output: Literal["text", "json"] = "text"
    task: str | None = None  # list only
    execution_id: str = ""  # every action but list


def control_executions(options: ExecutionsCommandOptions, console: Console) -> int:
    """List, inspect and control executions."""
    from titan_gitops.connect import open_client

    if options.action != "list" and not options.execution_id.strip():
        from titan_gitops.errors import ConfigError

        raise ConfigError(
            f"executions {options.action}: ID is empty; give an execution id "
            "('titan-gitops executions list' shows them)"
        )
    target = resolve_cli_target(options.target)
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        if options.action == "list":
            _list_executions(client, options, console)
            return exit_codes.OK
        operations = {
            "get": client.get_execution,
            "pause": client.pause_execution,
            "resume": client.resume_execution,
            "stop": client.stop_execution,
        }
        record = operations[options.action](options.execution_id).body()
        if options.output == "json":
            console.print(json.dumps(record, indent=2, sort_keys=True))
        else:
            ident, status = (escape_terminal(str(record.get(k))) for k in ("id", "status"))
            console.print(f"{ident}  {status}")
    return exit_codes.OK


def _list_executions(
    client: TitanClient, options: ExecutionsCommandOptions, console: Console
) -> None:
    """Every execution, or one task's, as JSON or one line each."""
    if options.task:
        from titan_gitops.run import resolve_task

        task = resolve_task(client, options.task)
        records = client.list_task_executions(str(task["id"]))
    else:
        records = client.list_executions()
    rows = [r.body() for r in records]
    if options.output == "json":
        console.print(json.dumps(rows, indent=2, sort_keys=True))
        return
    for row in rows:
        # Every field is the service's word: escaped, so no row can redraw the terminal.
        ident, status, owner = (
            escape_terminal(str(row.get(k))) for k in ("id", "status", "task_id")
        )
        created = escape_terminal(str(row.get("created_at", "")))
        console.print(f"{ident}  {status:22s} task {owner}  {created}")
