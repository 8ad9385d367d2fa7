"""`python -m titan_gitops.emulator [serve] ...`: serve the emulator over HTTP.

As in `titan_gitops.__main__`, the first statement makes Ctrl-C one line and exit 130, with only
what the interpreter has already loaded; once the server listens Ctrl-C stops it cleanly (exit 0).
"""

import _signal  # type: ignore[import-not-found]  # builtin, loaded at start; no typeshed stub
import os


def _exit_at_once(_signum: int, _frame: object) -> None:
    """One line and exit 130, as titan_gitops.interrupts does (not imported: see the contract)."""
    try:  # noqa: SIM105  (contextlib may not be loaded yet)
        os.write(2, b"interrupted\n")
    except OSError:
        pass
    os._exit(130)


_signal.signal(_signal.SIGINT, _exit_at_once)

import signal  # noqa: E402  (after the guard, on purpose)
import sys  # noqa: E402

# The emulator imports nothing from the rest of titan_gitops: its own copy of the exit code.
_INTERRUPTED = 130


def serve(arguments: list[str]) -> int:
    """Run `serve`: Ctrl-C before it listens is an interruption, after it a clean stop."""
    # `serve` is the only action; accept it spelled out, as `titan-gitops emulator serve` does.
    if arguments[:1] == ["serve"]:
        arguments = arguments[1:]
    from titan_gitops.emulator.serve import main

    # From here on Ctrl-C raises, so the server (once listening) stops cleanly and the state
    # file is closed; before it listens, that is an interruption.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return main(arguments)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return _INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, _exit_at_once)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
