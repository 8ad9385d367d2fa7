"""`python -m titan_gitops` and the `titan-gitops` command (pyproject's [project.scripts]).

Ctrl-C is one line and exit 130 from this module's first statement on: importing it is starting
the command, so its first act installs the handler, with only what the interpreter has already
loaded (`os` and the builtin `_signal`), before any other module of the package or the standard
library is imported. Only the interpreter's own start and the package's `__init__` (which imports
nothing new) come before. `main` raises Ctrl-C as `KeyboardInterrupt` only inside its error
boundary.
"""

import _signal  # type: ignore[import-not-found]  # builtin, loaded at start; no typeshed stub
import os


def _exit_at_once(_signum: int, _frame: object) -> None:
    """interrupts.exit_on_interrupt's twin until that module is imported: one line, exit 130."""
    try:  # noqa: SIM105  (contextlib may not be loaded yet)
        os.write(2, b"interrupted\n")
    except OSError:
        pass
    os._exit(130)


_signal.signal(_signal.SIGINT, _exit_at_once)

import contextlib  # noqa: E402  (after the guard, on purpose)
import sys  # noqa: E402

from titan_gitops.exit_codes import INTERRUPTED  # noqa: E402
from titan_gitops.interrupts import exit_at_once_on_interrupt  # noqa: E402


def run() -> int:
    """The command's entry point: guard Ctrl-C, then import and run the CLI.

    After an interruption the command has cleaned up and said so: the process ends at once, with
    no interpreter shutdown, where a module whose import the interruption cut short could hang
    or raise again.
    """
    exit_at_once_on_interrupt()
    from titan_gitops.cli import main

    code = main()
    if code == INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(run())
