"""Entry point the composite action calls: `python -m titan_gitops.github`."""

from __future__ import annotations

import os
import sys

from titan_gitops.github.commands import run_action


def main() -> int:
    """Run the command named by the action's inputs and return its exit code."""
    return run_action(os.environ)


if __name__ == "__main__":
    sys.exit(main())
