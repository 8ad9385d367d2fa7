"""`python -m titan_gitops.emulator [serve] ...`: serve the emulator over HTTP."""

from __future__ import annotations

import sys

from titan_gitops.emulator.serve import main

if __name__ == "__main__":
    arguments = sys.argv[1:]
    # `serve` is the only action; accept it spelled out, as `titan-gitops emulator serve` does.
    if arguments[:1] == ["serve"]:
        arguments = arguments[1:]
    sys.exit(main(arguments))
