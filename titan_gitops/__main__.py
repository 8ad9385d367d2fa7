"""`python -m titan_gitops` and the `titan-gitops` command.

Ctrl-C is one line and exit 130 from here on: the handler goes in before the package's own
modules are imported (the first ~0.15 s), and `main` raises it as `KeyboardInterrupt` only inside
its error boundary.
"""

import contextlib
import os
import sys

from titan_gitops.exit_codes import INTERRUPTED
from titan_gitops.interrupts import exit_at_once_on_interrupt


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
