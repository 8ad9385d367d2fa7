"""The command line: the one error boundary and `main`; the parser and dispatch sit beside it.

Commands (in titan_gitops.commands) import their heavy dependencies only when they run, so `--help`
and `--version` start as fast as a bare interpreter allows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from titan_gitops import exit_codes
from titan_gitops.cli.parser import build_parser
from titan_gitops.commands.common import Console
from titan_gitops.errors import TitanGitopsError, ValidationFailed
from titan_gitops.escape import escape_output
from titan_gitops.interrupts import INTERRUPTED_LINE, interrupts_raised
from titan_gitops.secrets import MaskingFilter, SecretSet

if TYPE_CHECKING:
    import argparse


@contextlib.contextmanager
def error_boundary(debug: bool, console: Console) -> Iterator[list[int]]:
    """Turn our errors into one line and exit 1; anything else into "unexpected error"."""
    code = [exit_codes.OK]
    try:
        yield code
    except ValidationFailed as exc:
        for problem in exc.problems:
            console.warn(str(problem))
        console.warn(f"error: {exc}")
        code[0] = exit_codes.ERROR
    except TitanGitopsError as exc:
        console.warn(f"error: {exc}")
        code[0] = exit_codes.ERROR
    except KeyboardInterrupt:
        console.warn(INTERRUPTED_LINE)
        code[0] = exit_codes.INTERRUPTED
    except OSError as exc:
        # Whatever a command did not turn into its own message: still the path and the cause.
        console.warn(f"error: {describe_os_error(exc)}")
        code[0] = exit_codes.ERROR
    except Exception as exc:
        if debug:
            import traceback

            console.warn("".join(traceback.format_exception(exc)))
        console.warn(
            f"unexpected error: {type(exc).__name__}"
            + ("" if debug else "; run again with --debug for the details")
        )
        code[0] = exit_codes.ERROR


def describe_os_error(exc: OSError) -> str:
    """`PATH: cause; check ...` from an OSError, in one line."""
    cause = (exc.strerror or type(exc).__name__).lower()
    if exc.filename is None:
        return f"{cause} ({type(exc).__name__})"
    names = [str(exc.filename)] + ([str(exc.filename2)] if exc.filename2 is not None else [])
    return f"{' -> '.join(names)}: {cause}; check the path and its permissions"


class _EscapingFormatter(logging.Formatter):
    """Debug lines quote requests and answers: no control character of theirs reaches stderr."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_output(super().format(record))


def _configure_logging(debug: bool, console: Console) -> None:
    root = logging.getLogger("titan_gitops")
    # One handler per process, masking with this run's secrets (main may run more than once).
    for old in [h for h in root.handlers if getattr(h, "titan_gitops_debug", False)]:
        root.removeHandler(old)
    if not debug:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.titan_gitops_debug = True  # type: ignore[attr-defined]
    handler.addFilter(MaskingFilter(lambda: console.secrets))
    handler.setFormatter(_EscapingFormatter("debug: %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:2] == ["emulator", "serve"]:
        return _serve_emulator(arguments[2:])
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:
        # argparse exits 2 on a usage error; 2 means "changes" to plan and drift, so use 1.
        return exit_codes.OK if exc.code in (0, None) else exit_codes.ERROR
    debug: bool = getattr(args, "debug", False)
    # Built once, before anything can print: the token and every TITAN_VAR_ value.
    console = Console(SecretSet.from_environ(os.environ, token=getattr(args, "token", None)))
    _configure_logging(debug, console)
    func: Callable[[argparse.Namespace, Console], int] = args.func
    with error_boundary(debug, console) as code, interrupts_raised():
        code[0] = int(func(args, console))
    return code[0]


def _serve_emulator(arguments: list[str]) -> int:
    """`emulator serve` owns its whole command line (options such as --port and --token).

    Ctrl-C while it serves stops it cleanly (exit 0); before that, it is an interruption.
    """
    try:
        with interrupts_raised():
            from titan_gitops.emulator.serve import main as serve_main

            return serve_main(arguments)
    except KeyboardInterrupt:
        print(INTERRUPTED_LINE, file=sys.stderr)
        return exit_codes.INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
