"""Namespace → typed options → command: one small function per command, importing it lazily."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops.commands.common import Console, TargetOptions

if TYPE_CHECKING:
    from titan_gitops.plan import PlanOptions


def _target(args: argparse.Namespace) -> TargetOptions:
    return TargetOptions(api_url=args.api_url, token=args.token)


def _planning(args: argparse.Namespace) -> PlanOptions:
    from titan_gitops.plan import PlanOptions

    return PlanOptions(
        only=tuple(args.only),
        exclude=tuple(args.exclude),
        allow_deletes=args.allow_deletes,
        allow_empty=args.allow_empty,
        base=_base(args.base),
        overwrite_live_edits=getattr(args, "overwrite_live_edits", False),
    )


def _base(rev: str | None) -> str | None:
    """The --base revision, refused when git would read it as an option or it is empty."""
    from titan_gitops.errors import ConfigError

    if rev is None:
        return None
    if not rev or rev.startswith("-") or not rev.isprintable():
        raise ConfigError(
            f"--base {rev!r} is not a git revision: give a commit, tag or branch such as main~1"
        )
    return rev


def run_init(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.init import InitCommandOptions, init_directory

    return init_directory(InitCommandOptions(Path(args.directory), args.namespace), console)


def run_validate(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.validate import ValidateCommandOptions, validate_definitions

    directory = Path(args.directory)
    return validate_definitions(
        ValidateCommandOptions(directory, args.output, args.github, args.strict), console
    )


def run_plan(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.plan import PlanCommandOptions, show_plan

    options = PlanCommandOptions(
        directory=Path(args.directory),
        target=_target(args),
        planning=_planning(args),
        out=args.out,
        output=args.output,
        detailed_exitcode=args.detailed_exitcode,
        no_color=args.no_color,
        preview=args.preview,
        preview_limit=_preview_limit(args),
    )
    return show_plan(options, console)


def _preview_limit(args: argparse.Namespace) -> int:
    from titan_gitops.errors import ConfigError
    from titan_gitops.preview import DEFAULT_PREVIEW_LIMIT

    if args.preview_limit is not None and not args.preview:
        raise ConfigError("--preview-limit needs --preview")
    return DEFAULT_PREVIEW_LIMIT if args.preview_limit is None else int(args.preview_limit)


def run_apply(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.apply import ApplyCommandOptions, apply_changes

    options = ApplyCommandOptions(
        directory=args.directory,
        target=_target(args),
        planning=_planning(args),
        plan_file=args.plan,
        auto_approve=args.auto_approve,
        parallelism=args.parallelism,
        output=args.output,
        no_color=args.no_color,
    )
    return apply_changes(options, console)


def run_drift(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.drift import DriftCommandOptions, report_drift

    options = DriftCommandOptions(
        directory=Path(args.directory),
        target=_target(args),
        output=args.output,
        no_color=args.no_color,
        base=_base(args.base),
        fail_on_pending=args.fail_on_pending,
    )
    return report_drift(options, console)


def run_adopt(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.adopt import AdoptCommandOptions, adopt_live_edits
    from titan_gitops.plan import PlanOptions

    planning = PlanOptions(
        only=tuple(args.only), exclude=tuple(args.exclude), base=_base(args.base)
    )
    options = AdoptCommandOptions(
        directory=Path(args.directory),
        target=_target(args),
        planning=planning,
        include_conflicts=args.include_conflicts,
        include_deletes=args.include_deletes,
        dry_run=args.dry_run,
    )
    return adopt_live_edits(options, console)


def run_export(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.export import ExportCommandOptions, export_live_tasks

    options = ExportCommandOptions(
        out=args.out,
        target=_target(args),
        namespace=args.namespace,
        only=tuple(args.only),
        force=args.force,
    )
    return export_live_tasks(options, console)


def run_run(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.run import RunCommandOptions, run_task

    options = RunCommandOptions(
        task=args.task,
        target=_target(args),
        wait=args.wait,
        timeout=args.timeout,
        interval=args.interval,
        export=args.export,
        csv=args.csv,
        media=args.media,
        secret_payload=args.secret_payload,
        check_schema=args.check_schema,
        strict=args.strict,
    )
    return run_task(options, console)


def run_executions(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.executions import ExecutionsCommandOptions, control_executions

    options = ExecutionsCommandOptions(
        action=args.executions_command,
        target=_target(args),
        output=args.output,
        task=getattr(args, "task", None),
        execution_id=getattr(args, "execution_id", ""),
    )
    return control_executions(options, console)


def run_selftest(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.selftest import SelftestCommandOptions, check_service

    options = SelftestCommandOptions(
        target=_target(args), namespace=args.namespace, output=args.output, record=args.record
    )
    return check_service(options, console)


def run_schema(_args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.schema import print_schema

    return print_schema(console)


def run_emulator_serve(args: argparse.Namespace, console: Console) -> int:
    from titan_gitops.commands.emulator import EmulatorCommandOptions, serve_emulator

    return serve_emulator(EmulatorCommandOptions(serve_args=tuple(args.serve_args)))
