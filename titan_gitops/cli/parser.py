"""The argument parser: one small builder per subcommand; each stores its dispatch in `func`."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TYPE_CHECKING

from titan_gitops import __version__, exit_codes
from titan_gitops.cli.dispatch import (
    run_adopt,
    run_apply,
    run_drift,
    run_emulator_serve,
    run_executions,
    run_export,
    run_init,
    run_plan,
    run_run,
    run_schema,
    run_selftest,
    run_validate,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: give {minimum} or more")
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{value:g} is not a number of seconds above zero")
    return value


def _path(text: str) -> str:
    """An argparse type: a file or folder name, never empty (`''` would mean the current folder
    or nothing at all, found out only after the work is done)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path: give a name")
    return text


def _namespace(text: str) -> str:
    """An argparse type: a name prefix the starter's task name can begin with."""
    from titan_gitops.commands.init import namespace_problem

    problem = namespace_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


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
        type=_count(0),
        metavar="N",
        help="allow up to N deletions (default: max_deletes in titan-gitops.yaml, 10)",
    )
    group.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow a directory with no tasks to delete every live task of its namespace",
    )
    group.add_argument(
        "--base",
        metavar="REV",
        help="the git revision last applied (a commit, tag or branch): also say who changed "
        "each field since, git or Titan, and refuse to apply over edits made in Titan",
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


def _add_validate_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
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
    validate.add_argument(
        "--strict",
        action="store_true",
        help="treat warnings (such as YAML 1.1 traps like zip: 010) as errors: exit 1",
    )
    validate.set_defaults(func=run_validate)


def _add_plan_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    plan = sub.add_parser(
        "plan",
        parents=parents,
        help="show what apply would change, field by field",
        description="Diff the definitions against the live tasks and show the plan.",
    )
    plan.add_argument("directory", metavar="DIR")
    plan.add_argument(
        "--out", type=_path, metavar="FILE", help="save the plan as JSON for 'apply --plan'"
    )
    plan.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there are no changes, 2 when there are, 1 on error",
    )
    plan.add_argument(
        "--preview",
        action="store_true",
        help="preview each created task, or one whose urls, objective, output_schema or steps "
        "changed, and check its sample records (counts against the daily preview quota)",
    )
    plan.add_argument(
        "--preview-limit",
        type=_count(1),
        metavar="N",
        help="preview at most N tasks per plan (default 3; needs --preview)",
    )
    plan.set_defaults(func=run_plan)


def _add_apply_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    apply = sub.add_parser(
        "apply",
        parents=parents,
        help="carry out the plan (asks for 'yes' unless --auto-approve or --plan)",
        description="Plan, confirm and apply; or apply a saved, reviewed plan with --plan.",
    )
    apply.add_argument("directory", metavar="DIR", nargs="?")
    apply.add_argument(
        "--plan", type=_path, metavar="FILE", help="apply this saved plan without asking"
    )
    apply.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    apply.add_argument(
        "--parallelism", type=_count(1), default=4, metavar="N", help="changes in flight at once"
    )
    apply.add_argument("--output", choices=("text", "json"), default="text")
    apply.add_argument(
        "--overwrite-live-edits",
        action="store_true",
        help="with --base: apply even where that throws away edits made in Titan since the base",
    )
    apply.set_defaults(func=run_apply)


def _add_drift_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    drift = sub.add_parser(
        "drift",
        parents=parents,
        help="report what changed behind git's back (exit 2 on drift)",
        description="Read-only: live edits made outside git, managed tasks missing live, "
        "unmanaged tasks inside the namespace. Exit 0 in sync, 2 drift, 1 error. With --base, "
        "each change is told apart: pending (merged, not yet applied), live edit, conflict, "
        "converged; exit 2 only for live edits, conflicts and unmanaged tasks.",
    )
    drift.add_argument("directory", metavar="DIR")
    drift.add_argument("--output", choices=("text", "json", "markdown"), default="text")
    drift.add_argument(
        "--base",
        metavar="REV",
        help="the git revision last applied: tell live edits and conflicts (exit 2) from merges "
        "not yet applied (exit 0)",
    )
    drift.add_argument(
        "--fail-on-pending",
        action="store_true",
        help="with --base: exit 2 for merges not yet applied, too",
    )
    drift.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR works too)")
    drift.set_defaults(func=run_drift)


def _add_export_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export",
        parents=parents,
        help="write live tasks out as definition files (to adopt existing tasks)",
        description="Write live tasks as definition files: a plan right after is empty.",
    )
    export.add_argument(
        "--out", required=True, type=_path, metavar="DIR", help="where to write the files"
    )
    export.add_argument("--namespace", metavar="PREFIX", help="only tasks whose name starts so")
    export.add_argument(
        "--only", action="append", default=[], metavar="GLOB", help="only these task names"
    )
    export.add_argument(
        "--force", action="store_true", help="overwrite files titan-gitops did not write"
    )
    export.set_defaults(func=run_export)


def _add_adopt_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    adopt = sub.add_parser(
        "adopt",
        parents=parents,
        help="keep edits made in Titan: write their live values into the definition files",
        description="Write the live values of edits made in Titan since the base into the "
        "definition files, in place: only the changed keys, every comment and format kept.",
    )
    adopt.add_argument("directory", metavar="DIR")
    adopt.add_argument("--base", required=True, metavar="REV", help="the git revision last applied")
    adopt.add_argument(
        "--only", action="append", default=[], metavar="GLOB", help="only these task names"
    )
    adopt.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="leave these names out"
    )
    adopt.add_argument(
        "--include-conflicts",
        action="store_true",
        help="also take Titan's value where git changed the field too",
    )
    adopt.add_argument(
        "--include-deletes",
        action="store_true",
        help="remove the definitions of tasks deleted in Titan",
    )
    adopt.add_argument(
        "--dry-run", action="store_true", help="print the diff of the files; write nothing"
    )
    adopt.set_defaults(func=run_adopt)


def _add_run_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    run = sub.add_parser(
        "run",
        parents=parents,
        help="trigger an execution of a task; wait, export and check its results",
        description="Trigger an execution. Exit 0 on completed, 1 on failed or cancelled "
        "(completed_with_errors: 0 with a warning, 1 with --strict).",
    )
    run.add_argument("task", metavar="TASK", help="the task's name or id")
    run.add_argument("--wait", action="store_true", help="wait until the execution ends")
    run.add_argument("--timeout", type=_seconds, default=600.0, metavar="S", help="seconds to wait")
    run.add_argument("--interval", type=_seconds, default=3.0, metavar="S", help=argparse.SUPPRESS)
    run.add_argument(
        "--export", type=_path, metavar="FILE", help="write the JSON results here (waits)"
    )
    run.add_argument("--csv", type=_path, metavar="FILE", help="write the CSV results here (waits)")
    run.add_argument(
        "--media",
        type=_path,
        metavar="DIR",
        help="download every media file of the execution here, verified (waits)",
    )
    run.add_argument(
        "--secret-payload", type=_path, metavar="FILE", help="a JSON object sent as secret_payload"
    )
    run.add_argument(
        "--check-schema",
        action="store_true",
        help="check every exported record against the task's output_schema (waits)",
    )
    run.add_argument(
        "--strict", action="store_true", help="completed_with_errors counts as a failure"
    )
    run.set_defaults(func=run_run)


def _add_init_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    init = sub.add_parser(
        "init",
        parents=[common],
        help="write a starter definitions directory that validates and plans at once",
        description="Write a starter definitions directory: project file, task, template, "
        "schemas, a pre-commit snippet and GitHub workflows. Never overwrites: if any of its "
        "files is already there, nothing is written.",
    )
    init.add_argument("directory", metavar="DIR", nargs="?", default=".", help="default: .")
    init.add_argument(
        "--namespace",
        required=True,
        type=_namespace,
        metavar="PREFIX",
        help="the task name prefix the directory owns, such as shop-",
    )
    init.set_defaults(func=run_init)


def _add_executions_parser(
    sub: Subparsers, common: argparse.ArgumentParser, target: argparse.ArgumentParser
) -> None:
    executions = sub.add_parser(
        "executions", parents=[common], help="list, inspect and control executions"
    )
    ex_sub = executions.add_subparsers(dest="executions_command", metavar="ACTION")
    ex_list = ex_sub.add_parser("list", parents=[common, target], help="list executions")
    ex_list.add_argument("--task", metavar="TASK", help="only this task's (name or id)")
    ex_list.add_argument("--output", choices=("text", "json"), default="text")
    ex_list.set_defaults(func=run_executions)
    for name, text in (
        ("get", "show one execution"),
        ("pause", "pause a running execution"),
        ("resume", "resume a paused execution"),
        ("stop", "stop an execution (it ends as cancelled)"),
    ):
        ex = ex_sub.add_parser(name, parents=[common, target], help=text)
        ex.add_argument("execution_id", metavar="ID")
        ex.add_argument("--output", choices=("text", "json"), default="text")
        ex.set_defaults(func=run_executions)
    executions.set_defaults(func=lambda _args, _console: _usage(executions))


def _selftest_namespace(text: str) -> str:
    """An argparse type: a throwaway task name prefix for the selftest."""
    from titan_gitops.commands.selftest import namespace_problem

    problem = namespace_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _add_selftest_parser(sub: Subparsers, parents: list[argparse.ArgumentParser]) -> None:
    selftest = sub.add_parser(
        "selftest",
        parents=parents,
        help="check that a Titan behaves as this tool expects (run it once before apply)",
        description="Run this tool's expectations (auth, tasks, paging, PATCH, runs, exports, "
        "templates, rate-limit headers, errors) against a target in a throwaway namespace, "
        "removed afterwards. Exit 0 when all hold, 1 when any does not.",
    )
    selftest.add_argument(
        "--namespace",
        type=_selftest_namespace,
        metavar="PREFIX",
        help="name prefix of the tasks it makes (default: titan-gitops-selftest-<random>-)",
    )
    selftest.add_argument("--output", choices=("text", "json"), default="text")
    selftest.add_argument(
        "--record",
        type=_path,
        metavar="DIR",
        help="save every exchange here as JSON (secrets masked)",
    )
    selftest.set_defaults(func=run_selftest)


def _add_emulator_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
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
    serve.set_defaults(func=run_emulator_serve)
    emulator.set_defaults(func=lambda _args, _console: _usage(emulator))


def build_parser() -> argparse.ArgumentParser:
    """The whole argument parser; each subcommand stores its dispatch function in `func`."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="titan-gitops",
        description="Keep Titan web-scraping tasks in git: validate, plan, apply, drift, export.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"titan-gitops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    target = _target_options()
    planning = _planning_options()
    _add_init_parser(sub, common)
    _add_validate_parser(sub, common)
    _add_plan_parser(sub, [common, target, planning])
    _add_apply_parser(sub, [common, target, planning])
    _add_drift_parser(sub, [common, target])
    _add_export_parser(sub, [common, target])
    _add_adopt_parser(sub, [common, target])
    _add_run_parser(sub, [common, target])
    _add_executions_parser(sub, common, target)
    _add_selftest_parser(sub, [common, target])
    schema_help = "print the JSON Schema of the definition file format"
    sub.add_parser("schema", parents=[common], help=schema_help).set_defaults(func=run_schema)
    _add_emulator_parser(sub, common)
    parser.set_defaults(func=lambda _args, _console: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return exit_codes.ERROR
