"""The run command: trigger an execution of a task; optionally wait, export and check results."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops import exit_codes
from titan_gitops.commands.common import (
    Console,
    TargetOptions,
    redraws_in_place,
    resolve_cli_target,
)
from titan_gitops.escape import UNSAFE, escape_terminal

if TYPE_CHECKING:
    from titan_gitops.client import ExecutionRecord, TitanClient


@dataclass(frozen=True)
class RunCommandOptions:
    """`titan-gitops run TASK`."""

    task: str
    target: TargetOptions
    wait: bool = False
    timeout: float = 600.0
    interval: float = 3.0
    export: str | None = None
    csv: str | None = None
    media: str | None = None
    secret_payload: str | None = None
    check_schema: bool = False
    strict: bool = False


def run_task(options: RunCommandOptions, console: Console) -> int:
    """Trigger an execution of a task; optionally wait, export and check the results."""
    import os
    from dataclasses import replace

    from titan_gitops.atomic import check_file_target, check_folder_target
    from titan_gitops.connect import open_client
    from titan_gitops.run import read_secret_payload, resolve_task, secret_strings
    from titan_gitops.settings import COMMAND_DEADLINE_VARIABLE

    check_task_reference(options.task)
    for wanted in (options.export, options.csv):
        if wanted:
            # Before the (billed) execution starts: results that cannot be saved are lost.
            check_file_target(Path(wanted))
    if options.media:
        check_folder_target(Path(options.media))
    secret_payload = None
    if options.secret_payload:
        secret_payload = read_secret_payload(Path(options.secret_payload))
        console.add_secrets(secret_strings(secret_payload))
    wait = options.wait or bool(
        options.export or options.csv or options.media or options.check_schema
    )
    target = resolve_cli_target(options.target)
    if wait and COMMAND_DEADLINE_VARIABLE not in os.environ:
        # The default command deadline must not cut a wait the user asked for; an explicit
        # TITAN_DEADLINE is the user's own ceiling and stays.
        target = replace(target, limits=target.limits.with_room_for(options.timeout))
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        task = resolve_task(client, options.task)
        execution = client.run_task(str(task["id"]), secret_payload=secret_payload).body()
        execution_id = str(execution.get("id"))
        shown, name = escape_terminal(execution_id), escape_terminal(str(task.get("name")))
        console.warn(f"Started execution {shown} of '{name}'.")
        if not wait:
            console.print(shown)
            return exit_codes.OK
        try:
            status = _wait_for_end(client, execution_id, options, console)
        except KeyboardInterrupt:
            # Only the wait stops: the execution goes on (and is billed) unless it is stopped.
            console.warn(
                f"Execution {shown} keeps running on the service; stop it with "
                f"'titan-gitops executions stop {shown}'."
            )
            raise
        if status in ("failed", "cancelled"):
            return exit_codes.ERROR
        code = exit_codes.OK
        if status == "completed_with_errors":
            console.warn("warning: the execution completed with errors")
            code = exit_codes.ERROR if options.strict else exit_codes.OK
        if not _save_outputs(client, execution_id, task, options, console):
            code = exit_codes.ERROR
    return code


def check_task_reference(reference: str) -> None:
    """Refuse a TASK argument holding a control or invisible character: no name may hold one.

    Raises:
        InputError: naming the character, with the argument shown escaped.
    """
    from titan_gitops.errors import InputError

    found = UNSAFE.search(reference)
    if found:
        raise InputError(
            f"the task '{escape_terminal(reference)}' holds the character "
            f"U+{ord(found.group()):04X}; give the task's id, or a name of visible characters"
        )


def _save_outputs(
    client: TitanClient,
    execution_id: str,
    task: dict[str, Any],
    options: RunCommandOptions,
    console: Console,
) -> bool:
    """Write what --export, --csv and --media ask for and check the records (--check-schema);
    False when the records do not match the task's output_schema."""
    from titan_gitops.atomic import write_bytes_atomic

    matched = True
    if options.export or options.check_schema:
        matched = _export_json(client, execution_id, task, options, console)
    if options.csv:
        out = Path(options.csv)
        # Read whole (the client caps the size), then written by the one safe writer.
        csv = client.download_results_csv(execution_id)
        assert isinstance(csv, bytes)
        write_bytes_atomic(out, csv, parents=True)
        console.warn(f"Wrote the CSV results to {out}.")
    if options.media:
        _download_media(client, execution_id, Path(options.media), console)
    return matched


def _download_media(client: TitanClient, execution_id: str, folder: Path, console: Console) -> None:
    """Every media file of the execution into `folder`, each verified and written whole; the
    names come from the ids (checked, all before the first download), never from links."""
    from titan_gitops.atomic import make_directory
    from titan_gitops.run import name_media_files

    items = client.list_execution_media(execution_id)
    names = name_media_files(item.body() for item in items)
    make_directory(folder)
    for item, name in zip(items, names, strict=True):
        client.download_media_item(item, folder / name)
    total = sum(item.size for item in items)
    console.warn(
        f"Wrote {len(items)} media file{'' if len(items) == 1 else 's'} ({total:,} bytes, "
        f"size and sha256 verified) to {folder}."
    )


def _wait_for_end(
    client: TitanClient, execution_id: str, options: RunCommandOptions, console: Console
) -> str:
    """Poll until the execution ends, showing its status; returns the final status."""
    import time

    interactive = redraws_in_place()
    shown = escape_terminal(execution_id)
    started = time.monotonic()
    last: list[str] = [""]
    spinner = "|/-\\"

    def on_poll(record: ExecutionRecord) -> None:
        status = str(record.body().get("status"))
        elapsed = time.monotonic() - started
        if interactive:
            frame = spinner[int(elapsed * 4) % len(spinner)]
            console.status(f"\r\x1b[K{frame} {shown}: {escape_terminal(status)} ({elapsed:.0f}s)")
        elif status != last[0]:
            console.warn(f"execution {shown}: {escape_terminal(status)}")
        last[0] = status

    try:
        final = client.wait_for_execution(
            execution_id, timeout=options.timeout, interval=options.interval, on_poll=on_poll
        ).body()
    except KeyboardInterrupt:
        if interactive:
            sys.stderr.write("\n")  # below the status line
        raise
    if interactive:
        sys.stderr.write("\n")
    status = str(final.get("status"))
    reason = final.get("error")
    detail = f": {escape_terminal(str(reason))}" if reason and status != "completed" else ""
    console.warn(f"Execution {shown} ended: {escape_terminal(status)}{detail}.")
    return status


def _export_json(
    client: TitanClient,
    execution_id: str,
    task: dict[str, Any],
    options: RunCommandOptions,
    console: Console,
) -> bool:
    """Write the JSON results (--export) and check them (--check-schema); False on a mismatch."""
    from titan_gitops.atomic import write_bytes_atomic
    from titan_gitops.run import check_records, records_of

    data = client.export_results(execution_id, fmt="json")
    assert isinstance(data, bytes)
    if options.export:
        out = Path(options.export)
        write_bytes_atomic(out, data, parents=True)
        console.warn(f"Wrote the JSON results to {out}.")
    if not options.check_schema:
        return True
    if not task.get("output_schema"):
        console.warn("warning: the task has no output_schema to check the records against")
        return True
    violations = check_records(records_of(data), task.get("output_schema"))
    for violation in violations:
        console.warn(f"schema: {escape_terminal(str(violation))}")
    if violations:
        console.warn("error: exported records do not match the task's output_schema")
        return False
    console.warn("Every exported record matches the task's output_schema.")
    return True
