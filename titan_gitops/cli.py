"""The command line: argv → typed options → pipeline → render → exit code; nothing else.

Heavy dependencies (pydantic, httpx, jsonschema, deepdiff) are imported inside each command, so
`--help` and `--version` start as fast as a bare interpreter allows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from titan_gitops import __version__, exit_codes
from titan_gitops.errors import TitanGitopsError, ValidationFailed
from titan_gitops.redact import RedactingFilter, redact

Command = Callable[[argparse.Namespace], int]


def _print(text: str, stream: TextIO | None = None) -> None:
    print(redact(text), file=stream or sys.stdout)


def _warn(text: str) -> None:
    _print(text, sys.stderr)


@contextlib.contextmanager
def error_boundary(debug: bool) -> Iterator[list[int]]:
    """Turn our errors into one line and exit 1; anything else into "unexpected error"."""
    code = [exit_codes.OK]
    try:
        yield code
    except ValidationFailed as exc:
        for problem in exc.problems:
            _warn(str(problem))
        _warn(f"error: {exc}")
        code[0] = exit_codes.ERROR
    except TitanGitopsError as exc:
        _warn(f"error: {exc}")
        code[0] = exit_codes.ERROR
    except KeyboardInterrupt:
        _warn("interrupted")
        code[0] = exit_codes.ERROR
    except Exception as exc:
        if debug:
            import traceback

            _warn(redact("".join(traceback.format_exception(exc))))
        _warn(
            f"unexpected error: {type(exc).__name__}"
            + ("" if debug else "; run again with --debug for the details")
        )
        code[0] = exit_codes.ERROR


def _configure_logging(debug: bool) -> None:
    if not debug:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
    root = logging.getLogger("titan_gitops")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


# --- commands -------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    """Load and validate a definitions directory offline."""
    from titan_gitops.render.problems import (
        render_problems_github,
        render_problems_json,
        render_problems_text,
    )
    from titan_gitops.validate import validate_directory

    root = Path(args.directory)
    try:
        state = validate_directory(root, environ=os.environ)
    except ValidationFailed as exc:
        if args.output == "json":
            _print(render_problems_json(exc.problems))
        else:
            if args.github:
                _print(render_problems_github(exc.problems))
            _warn(render_problems_text(exc.problems))
            _warn(f"error: {exc}")
        return exit_codes.ERROR
    warnings = list(state.warnings)
    if args.output == "json":
        _print(render_problems_json(warnings))
        return exit_codes.OK
    if warnings:
        if args.github:
            _print(render_problems_github(warnings))
        _warn(render_problems_text(warnings))
    tasks, templates = len(state.tasks), len(state.templates)
    _print(
        f"{root}: {tasks} task{'s' * (tasks != 1)}, "
        f"{templates} template{'s' * (templates != 1)}: valid."
    )
    return exit_codes.OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the definition file format."""
    from titan_gitops.spec import definition_json_schema

    sys.stdout.write(json.dumps(definition_json_schema(), indent=2, sort_keys=True) + "\n")
    return exit_codes.OK


def _use_colour(args: argparse.Namespace) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def cmd_plan(args: argparse.Namespace) -> int:
    """Diff the definitions against the live tasks and show the plan."""
    from titan_gitops.connect import open_client
    from titan_gitops.pipeline import make_plan
    from titan_gitops.planfile import write_plan_file
    from titan_gitops.render.markdown import render_plan_markdown
    from titan_gitops.render.plan_json import render_plan_json
    from titan_gitops.render.text import render_plan_text
    from titan_gitops.settings import resolve_target

    target = resolve_target(os.environ, api_url=args.api_url, token=args.token)
    with open_client(target, announce=_warn) as client:
        plan = make_plan(
            Path(args.directory),
            client,
            _plan_options(args),
            environ=os.environ,
            target=target.describe(),
        )
    if args.out:
        write_plan_file(Path(args.out), render_plan_json(plan))
    if args.output == "json":
        sys.stdout.write(render_plan_json(plan))
    elif args.output == "markdown":
        sys.stdout.write(redact(render_plan_markdown(plan)))
    else:
        sys.stdout.write(redact(render_plan_text(plan, colour=_use_colour(args))))
        if args.out:
            _warn(f"Saved the plan to {args.out}.")
    if args.detailed_exitcode and plan.has_changes:
        return exit_codes.CHANGES
    return exit_codes.OK


def _plan_options(args: argparse.Namespace) -> Any:
    from titan_gitops.plan import PlanOptions

    return PlanOptions(
        only=tuple(args.only),
        exclude=tuple(args.exclude),
        allow_deletes=args.allow_deletes,
        allow_empty=args.allow_empty,
    )


def _confirm(prompt: str) -> bool:
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip() == "yes"


def cmd_apply(args: argparse.Namespace) -> int:
    """Plan (or read a saved plan), confirm, apply, and report every outcome."""
    import signal
    import threading

    from titan_gitops.connect import open_client
    from titan_gitops.errors import ConfigError, StalePlan
    from titan_gitops.pipeline import make_plan, run_apply
    from titan_gitops.planfile import read_plan_file
    from titan_gitops.render.report import describe_outcome, render_report_json, render_report_text
    from titan_gitops.render.text import render_plan_text
    from titan_gitops.settings import resolve_target

    if args.plan is None and args.directory is None:
        raise ConfigError("give a definitions directory, or --plan FILE to apply a saved plan")
    target = resolve_target(os.environ, api_url=args.api_url, token=args.token)
    colour = _use_colour(args)
    with open_client(target, announce=_warn) as client:
        if args.plan is not None:
            plan = read_plan_file(Path(args.plan))
            if plan.target and plan.target != target.describe():
                raise StalePlan(
                    f"the saved plan was made against {plan.target}, not {target.describe()}"
                )
            root = Path(args.directory) if args.directory else None
        else:
            root = Path(args.directory)
            plan = make_plan(
                root, client, _plan_options(args), environ=os.environ, target=target.describe()
            )
        if args.output != "json":
            sys.stdout.write(redact(render_plan_text(plan, colour=colour)))
        if not plan.has_changes:
            return exit_codes.OK
        if args.plan is None and not args.auto_approve:
            if not sys.stdin.isatty():
                raise ConfigError(
                    "refusing to apply without confirmation: stdin is not a terminal; "
                    "pass --auto-approve, or apply a reviewed plan with --plan FILE"
                )
            if not _confirm("\nApply these changes? Only 'yes' is accepted: "):
                _warn("Apply cancelled.")
                return exit_codes.ERROR

        stop = threading.Event()
        interactive = sys.stderr.isatty()

        def on_signal(signum: int, _frame: Any) -> None:
            if not stop.is_set():
                _warn("\nstopping: no new changes start; waiting for those in flight")
            stop.set()

        def progress(outcome: Any, done: int, total: int) -> None:
            line = f"[{done}/{total}] {describe_outcome(outcome)}"
            if interactive:
                sys.stderr.write("\r\x1b[K" + redact(line) + ("\n" if done == total else ""))
                sys.stderr.flush()
            else:
                _warn(line)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            report = run_apply(
                plan,
                client,
                environ=os.environ,
                root=root,
                parallelism=args.parallelism,
                progress=progress,
                stop=stop,
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if args.output == "json":
        sys.stdout.write(redact(render_report_json(report)))
    else:
        sys.stdout.write(redact(render_report_text(report)))
    return exit_codes.OK if report.ok else exit_codes.ERROR


def cmd_drift(args: argparse.Namespace) -> int:
    """Report live edits made outside git, missing tasks and unmanaged ones. Read-only."""
    from titan_gitops.connect import open_client
    from titan_gitops.pipeline import make_drift_report
    from titan_gitops.planfile import plan_to_dict
    from titan_gitops.render.markdown import render_plan_markdown
    from titan_gitops.render.text import render_plan_text
    from titan_gitops.render.values import mask_text

    target = _resolve(args)
    with open_client(target, announce=_warn) as client:
        report = make_drift_report(
            Path(args.directory), client, environ=os.environ, target=target.describe()
        )
    if args.output == "json":
        data = {"drift": report.has_changes, **plan_to_dict(report)}
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        sys.stdout.write(redact(mask_text(text, report.secrets)))
    elif args.output == "markdown":
        sys.stdout.write(
            redact(render_plan_markdown(report, title="titan-gitops drift", drift=True))
        )
    else:
        sys.stdout.write(redact(render_plan_text(report, colour=_use_colour(args), drift=True)))
    return exit_codes.CHANGES if report.has_changes else exit_codes.OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write live tasks out as definition files."""
    from titan_gitops.connect import open_client
    from titan_gitops.export import export_tasks
    from titan_gitops.fetch import fetch_tasks

    target = _resolve(args)
    with open_client(target, announce=_warn) as client:
        tasks = fetch_tasks(client)
    report = export_tasks(
        tasks,
        Path(args.out),
        namespace=args.namespace,
        only=tuple(args.only),
        force=args.force,
    )
    _print(
        f"Exported {report.tasks} task{'s' * (report.tasks != 1)} to {args.out}: "
        f"{len(report.written)} file{'s' * (len(report.written) != 1)} written, "
        f"{len(report.unchanged)} unchanged."
    )
    return exit_codes.OK


def cmd_run(args: argparse.Namespace) -> int:
    """Trigger an execution of a task; optionally wait, export and check the results."""
    import time

    from titan_gitops.connect import open_client
    from titan_gitops.redact import register_secret
    from titan_gitops.run import (
        check_records,
        read_secret_payload,
        records_of,
        resolve_task,
        secret_strings,
    )

    secret_payload = None
    if args.secret_payload:
        secret_payload = read_secret_payload(Path(args.secret_payload))
        for value in secret_strings(secret_payload):
            register_secret(value)
    wait = args.wait or bool(args.export or args.csv or args.check_schema)
    target = _resolve(args)
    with open_client(target, announce=_warn) as client:
        task = resolve_task(client, args.task)
        execution = client.run_task(str(task["id"]), secret_payload=secret_payload).body()
        execution_id = str(execution.get("id"))
        _warn(f"Started execution {execution_id} of '{task.get('name')}'.")
        if not wait:
            _print(execution_id)
            return exit_codes.OK
        interactive = sys.stderr.isatty()
        started = time.monotonic()
        last: list[str] = [""]
        spinner = "|/-\\"

        def on_poll(record: Any) -> None:
            status = str(record.body().get("status"))
            elapsed = time.monotonic() - started
            if interactive:
                frame = spinner[int(elapsed * 4) % len(spinner)]
                sys.stderr.write(f"\r\x1b[K{frame} {execution_id}: {status} ({elapsed:.0f}s)")
                sys.stderr.flush()
            elif status != last[0]:
                _warn(f"execution {execution_id}: {status}")
            last[0] = status

        final = client.wait_for_execution(
            execution_id, timeout=args.timeout, interval=args.interval, on_poll=on_poll
        ).body()
        if interactive:
            sys.stderr.write("\n")
        status = str(final.get("status"))
        reason = final.get("error")
        detail = f": {reason}" if reason and status != "completed" else ""
        _warn(f"Execution {execution_id} ended: {status}{detail}.")
        if status in ("failed", "cancelled"):
            return exit_codes.ERROR
        code = exit_codes.OK
        if status == "completed_with_errors":
            _warn("warning: the execution completed with errors")
            code = exit_codes.ERROR if args.strict else exit_codes.OK
        if args.export or args.check_schema:
            data = client.export_results(execution_id, fmt="json")
            assert isinstance(data, bytes)
            if args.export:
                out = Path(args.export)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                _warn(f"Wrote the JSON results to {out}.")
            if args.check_schema and not task.get("output_schema"):
                _warn("warning: the task has no output_schema to check the records against")
            elif args.check_schema:
                violations = check_records(records_of(data), task.get("output_schema"))
                for violation in violations:
                    _warn(f"schema: {violation}")
                if violations:
                    _warn("error: exported records do not match the task's output_schema")
                    code = exit_codes.ERROR
                else:
                    _warn("Every exported record matches the task's output_schema.")
        if args.csv:
            out = Path(args.csv)
            out.parent.mkdir(parents=True, exist_ok=True)
            client.download_results_csv(execution_id, dest=out)
            _warn(f"Wrote the CSV results to {out}.")
    return code


def cmd_executions(args: argparse.Namespace) -> int:
    """List, inspect and control executions."""
    from titan_gitops.connect import open_client

    target = _resolve(args)
    with open_client(target, announce=_warn) as client:
        action = args.executions_command
        if action == "list":
            if args.task:
                from titan_gitops.run import resolve_task

                task = resolve_task(client, args.task)
                records = client.list_task_executions(str(task["id"]))
            else:
                records = client.list_executions()
            rows = [r.body() for r in records]
            if args.output == "json":
                _print(json.dumps(rows, indent=2, sort_keys=True))
            else:
                for row in rows:
                    _print(
                        f"{row.get('id')}  {row.get('status')!s:22s} "
                        f"task {row.get('task_id')}  {row.get('created_at', '')}"
                    )
            return exit_codes.OK
        operations = {
            "get": client.get_execution,
            "pause": client.pause_execution,
            "resume": client.resume_execution,
            "stop": client.stop_execution,
        }
        record = operations[action](args.execution_id).body()
        if args.output == "json":
            _print(json.dumps(record, indent=2, sort_keys=True))
        else:
            _print(f"{record.get('id')}  {record.get('status')}")
    return exit_codes.OK


def _resolve(args: argparse.Namespace) -> Any:
    from titan_gitops.settings import resolve_target

    return resolve_target(os.environ, api_url=args.api_url, token=args.token)


def cmd_emulator_serve(args: argparse.Namespace) -> int:
    """Serve the local Titan Task Service emulator over HTTP."""
    from titan_gitops.emulator.serve import main as serve_main

    return serve_main(list(args.serve_args))


# --- parser ---------------------------------------------------------------------------------


def _target_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("target")
    group.add_argument(
        "--api-url",
        metavar="URL",
        help="Task Service origin without /api/v1 (default: $TITAN_API_URL; "
        "'local' or unset: the embedded emulator)",
    )
    group.add_argument(
        "--token", metavar="TOKEN", help="bearer token (default: $TITAN_TOKEN; prefer the variable)"
    )
    return parent


def _planning_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("planning")
    group.add_argument(
        "--only", action="append", default=[], metavar="GLOB", help="plan only these task names"
    )
    group.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="leave these task names out"
    )
    group.add_argument(
        "--allow-deletes",
        type=int,
        metavar="N",
        help="allow up to N deletions (default: max_deletes in titan-gitops.yaml, 10)",
    )
    group.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow a directory with no tasks to delete every live task of its namespace",
    )
    group.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR works too)")
    return parent


def _common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log requests and show tracebacks (secrets are masked)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser; each subcommand stores its function in `func`."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="titan-gitops",
        description="Keep Titan web-scraping tasks in git: validate, plan, apply, drift, export.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"titan-gitops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser(
        "validate",
        parents=[common],
        help="check a definitions directory offline (no token, no network)",
        description="Check a definitions directory offline: every problem, with file:line:col.",
    )
    validate.add_argument("directory", metavar="DIR")
    validate.add_argument("--output", choices=("text", "json"), default="text")
    validate.add_argument(
        "--github", action="store_true", help="also print GitHub annotations (::error file=...)"
    )
    validate.set_defaults(func=cmd_validate)

    target = _target_options()
    planning = _planning_options()
    plan = sub.add_parser(
        "plan",
        parents=[common, target, planning],
        help="show what apply would change, field by field",
        description="Diff the definitions against the live tasks and show the plan.",
    )
    plan.add_argument("directory", metavar="DIR")
    plan.add_argument("--out", metavar="FILE", help="save the plan as JSON for 'apply --plan'")
    plan.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there are no changes, 2 when there are, 1 on error",
    )
    plan.set_defaults(func=cmd_plan)

    apply = sub.add_parser(
        "apply",
        parents=[common, target, planning],
        help="carry out the plan (asks for 'yes' unless --auto-approve or --plan)",
        description="Plan, confirm and apply; or apply a saved, reviewed plan with --plan.",
    )
    apply.add_argument("directory", metavar="DIR", nargs="?")
    apply.add_argument("--plan", metavar="FILE", help="apply this saved plan without asking")
    apply.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    apply.add_argument(
        "--parallelism", type=int, default=4, metavar="N", help="changes in flight at once"
    )
    apply.add_argument("--output", choices=("text", "json"), default="text")
    apply.set_defaults(func=cmd_apply)

    drift = sub.add_parser(
        "drift",
        parents=[common, target],
        help="report what changed behind git's back (exit 2 on drift)",
        description="Read-only: live edits made outside git, managed tasks missing live, "
        "unmanaged tasks inside the namespace. Exit 0 in sync, 2 drift, 1 error.",
    )
    drift.add_argument("directory", metavar="DIR")
    drift.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    drift.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR works too)")
    drift.set_defaults(func=cmd_drift)

    export = sub.add_parser(
        "export",
        parents=[common, target],
        help="write live tasks out as definition files (to adopt existing tasks)",
        description="Write live tasks as definition files: a plan right after is empty.",
    )
    export.add_argument("--out", required=True, metavar="DIR", help="where to write the files")
    export.add_argument("--namespace", metavar="PREFIX", help="only tasks whose name starts so")
    export.add_argument(
        "--only", action="append", default=[], metavar="GLOB", help="only these task names"
    )
    export.add_argument(
        "--force", action="store_true", help="overwrite files titan-gitops did not write"
    )
    export.set_defaults(func=cmd_export)

    run = sub.add_parser(
        "run",
        parents=[common, target],
        help="trigger an execution of a task; wait, export and check its results",
        description="Trigger an execution. Exit 0 on completed, 1 on failed or cancelled "
        "(completed_with_errors: 0 with a warning, 1 with --strict).",
    )
    run.add_argument("task", metavar="TASK", help="the task's name or id")
    run.add_argument("--wait", action="store_true", help="wait until the execution ends")
    run.add_argument("--timeout", type=float, default=600.0, metavar="S", help="seconds to wait")
    run.add_argument("--interval", type=float, default=3.0, metavar="S", help=argparse.SUPPRESS)
    run.add_argument("--export", metavar="FILE", help="write the JSON results here (waits)")
    run.add_argument("--csv", metavar="FILE", help="write the CSV results here (waits)")
    run.add_argument(
        "--secret-payload", metavar="FILE", help="a JSON object sent as secret_payload"
    )
    run.add_argument(
        "--check-schema",
        action="store_true",
        help="check every exported record against the task's output_schema (waits)",
    )
    run.add_argument(
        "--strict", action="store_true", help="completed_with_errors counts as a failure"
    )
    run.set_defaults(func=cmd_run)

    executions = sub.add_parser(
        "executions", parents=[common], help="list, inspect and control executions"
    )
    ex_sub = executions.add_subparsers(dest="executions_command", metavar="ACTION")
    ex_list = ex_sub.add_parser("list", parents=[common, target], help="list executions")
    ex_list.add_argument("--task", metavar="TASK", help="only this task's (name or id)")
    ex_list.add_argument("--output", choices=("text", "json"), default="text")
    ex_list.set_defaults(func=cmd_executions)
    for name, text in (
        ("get", "show one execution"),
        ("pause", "pause a running execution"),
        ("resume", "resume a paused execution"),
        ("stop", "stop an execution (it ends as cancelled)"),
    ):
        ex = ex_sub.add_parser(name, parents=[common, target], help=text)
        ex.add_argument("execution_id", metavar="ID")
        ex.add_argument("--output", choices=("text", "json"), default="text")
        ex.set_defaults(func=cmd_executions)
    executions.set_defaults(func=lambda _args: _usage(executions))

    schema = sub.add_parser(
        "schema",
        parents=[common],
        help="print the JSON Schema of the definition file format",
    )
    schema.set_defaults(func=cmd_schema)

    emulator = sub.add_parser(
        "emulator", parents=[common], help="the local Titan Task Service emulator"
    )
    emulator_sub = emulator.add_subparsers(dest="emulator_command", metavar="ACTION")
    serve = emulator_sub.add_parser(
        "serve",
        help="serve the emulator over HTTP (see 'titan-gitops emulator serve --help')",
        add_help=False,
    )
    serve.add_argument("serve_args", nargs=argparse.REMAINDER)
    serve.set_defaults(func=cmd_emulator_serve)
    emulator.set_defaults(func=lambda _args: _usage(emulator))

    parser.set_defaults(func=lambda _args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return exit_codes.ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:2] == ["emulator", "serve"]:
        # `serve` owns its whole command line (options such as --port and --token).
        from titan_gitops.emulator.serve import main as serve_main

        return serve_main(arguments[2:])
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:
        # argparse exits 2 on a usage error; 2 means "changes" to plan and drift, so use 1.
        return exit_codes.OK if exc.code in (0, None) else exit_codes.ERROR
    debug: bool = getattr(args, "debug", False)
    _configure_logging(debug)
    func: Any = args.func
    with error_boundary(debug) as code:
        code[0] = int(func(args))
    return code[0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
