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

from titan_gitops import __version__
from titan_gitops.errors import TitanGitopsError, ValidationFailed
from titan_gitops.redact import RedactingFilter, redact

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2

Command = Callable[[argparse.Namespace], int]


def _print(text: str, stream: TextIO | None = None) -> None:
    print(redact(text), file=stream or sys.stdout)


def _warn(text: str) -> None:
    _print(text, sys.stderr)


@contextlib.contextmanager
def error_boundary(debug: bool) -> Iterator[list[int]]:
    """Turn our errors into one line and exit 1; anything else into "unexpected error"."""
    code = [EXIT_OK]
    try:
        yield code
    except ValidationFailed as exc:
        for problem in exc.problems:
            _warn(str(problem))
        _warn(f"error: {exc}")
        code[0] = EXIT_ERROR
    except TitanGitopsError as exc:
        _warn(f"error: {exc}")
        code[0] = EXIT_ERROR
    except KeyboardInterrupt:
        _warn("interrupted")
        code[0] = EXIT_ERROR
    except Exception as exc:
        if debug:
            import traceback

            _warn(redact("".join(traceback.format_exception(exc))))
        _warn(
            f"unexpected error: {type(exc).__name__}"
            + ("" if debug else "; run again with --debug for the details")
        )
        code[0] = EXIT_ERROR


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
        return EXIT_ERROR
    warnings = list(state.warnings)
    if args.output == "json":
        _print(render_problems_json(warnings))
        return EXIT_OK
    if warnings:
        if args.github:
            _print(render_problems_github(warnings))
        _warn(render_problems_text(warnings))
    tasks, templates = len(state.tasks), len(state.templates)
    _print(
        f"{root}: {tasks} task{'s' * (tasks != 1)}, "
        f"{templates} template{'s' * (templates != 1)}: valid."
    )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the definition file format."""
    from titan_gitops.spec import definition_json_schema

    sys.stdout.write(json.dumps(definition_json_schema(), indent=2, sort_keys=True) + "\n")
    return EXIT_OK


def _use_colour(args: argparse.Namespace) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def cmd_plan(args: argparse.Namespace) -> int:
    """Diff the definitions against the live tasks and show the plan."""
    from titan_gitops.connect import open_client
    from titan_gitops.pipeline import make_plan
    from titan_gitops.plan import PlanOptions
    from titan_gitops.render.plan_json import render_plan_json
    from titan_gitops.render.text import render_plan_text
    from titan_gitops.settings import resolve_target

    target = resolve_target(os.environ, api_url=args.api_url, token=args.token)
    options = PlanOptions(
        only=tuple(args.only),
        exclude=tuple(args.exclude),
        allow_deletes=args.allow_deletes,
        allow_empty=args.allow_empty,
    )
    with open_client(target, announce=_warn) as client:
        plan = make_plan(
            Path(args.directory),
            client,
            options,
            environ=os.environ,
            target=target.describe(),
        )
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(render_plan_json(plan), encoding="utf-8")
        tmp.replace(out)
    if args.output == "json":
        sys.stdout.write(render_plan_json(plan))
    else:
        sys.stdout.write(redact(render_plan_text(plan, colour=_use_colour(args))))
        if args.out:
            _warn(f"Saved the plan to {args.out}.")
    if args.detailed_exitcode and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


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
    plan = sub.add_parser(
        "plan",
        parents=[common, target],
        help="show what apply would change, field by field",
        description="Diff the definitions against the live tasks and show the plan.",
    )
    plan.add_argument("directory", metavar="DIR")
    plan.add_argument("--out", metavar="FILE", help="save the plan as JSON for 'apply --plan'")
    plan.add_argument("--output", choices=("text", "json"), default="text")
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when there are no changes, 2 when there are, 1 on error",
    )
    plan.add_argument(
        "--only", action="append", default=[], metavar="GLOB", help="plan only these task names"
    )
    plan.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="leave these task names out"
    )
    plan.add_argument(
        "--allow-deletes",
        type=int,
        metavar="N",
        help="allow up to N deletions (default: max_deletes in titan-gitops.yaml, 10)",
    )
    plan.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow a directory with no tasks to delete every live task of its namespace",
    )
    plan.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR works too)")
    plan.set_defaults(func=cmd_plan)

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
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug: bool = getattr(args, "debug", False)
    _configure_logging(debug)
    func: Any = args.func
    with error_boundary(debug) as code:
        code[0] = int(func(args))
    return code[0]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
