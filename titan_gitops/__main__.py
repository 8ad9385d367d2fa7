"""`python -m titan_gitops` and the `titan-gitops` command.

Ctrl-C is one line and exit 130 from here on: the handler goes in before the package's own
modules are imported (the first ~0.15 s), and `main` raises it as `KeyboardInterrupt` only inside
its error boundary.
"""

import sys

from titan_gitops.interrupts import exit_at_once_on_interrupt


def run() -> int:
    """The command's entry point: guard Ctrl-C, then import and run the CLI."""
    exit_at_once_on_interrupt()
    from titan_gitops.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
