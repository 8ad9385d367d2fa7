"""Ctrl-C from the entry point's first line on: one line on stderr and exit 130, never a traceback.

Until the command's error boundary is in place (the package's own imports, parsing the command
line) and after it is gone (printing the last message, the interpreter shutting down), there is
nothing to clean up and no safe place to catch `KeyboardInterrupt`: a handler that writes one
line and leaves at once covers those moments. Inside the boundary, Ctrl-C raises
`KeyboardInterrupt` as usual, so temporary files are removed, leases released and the emulator
shut down on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

from titan_gitops.exit_codes import INTERRUPTED

INTERRUPTED_LINE = "interrupted"


def exit_on_interrupt(_signum: int, _frame: FrameType | None) -> NoReturn:
    """The SIGINT handler outside the error boundary: one line, exit 130 at once.

    A raw write and `os._exit`: the signal may land mid-import or mid-write on stderr, where
    nothing that takes a lock or raises may run.
    """
    with contextlib.suppress(OSError):
        os.write(2, f"{INTERRUPTED_LINE}\n".encode())
    os._exit(INTERRUPTED)


def exit_at_once_on_interrupt() -> None:
    """From now on, Ctrl-C ends the process with one line and exit 130 (the entry's first act)."""
    signal.signal(signal.SIGINT, exit_on_interrupt)


@contextlib.contextmanager
def interrupts_raised() -> Iterator[None]:
    """Within: Ctrl-C raises `KeyboardInterrupt` where the entry point had it exit at once.

    Anywhere else (a test calling `main`, a library user) the handler in place is left alone.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not exit_on_interrupt
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, exit_on_interrupt)
