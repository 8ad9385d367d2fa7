"""Ctrl-C at any moment from the entry point's first line on: one line, exit 130, no traceback.

The child runs with `-X importtime`, which prints a line to stderr as each module finishes
importing: the test sends SIGINT right after a chosen import line, so the moment is picked by
what the child has done, not by a sleep. The target is a loopback socket that accepts
connections and never answers, so the child cannot finish before the signal lands.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.e2e

# Imported before the handler is in place: the package itself (its __init__ imports nothing new).
_BEFORE_GUARD = {"titan_gitops"}


def _start(url: str, cwd: Path) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.update({"PYTHONPATH": str(REPO), "TITAN_API_URL": url, "TITAN_TOKEN": "t0k3n-99"})
    return subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "titan_gitops", "executions", "list"],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _module(line: str) -> str | None:
    """The module an `-X importtime` line names, or None for any other line."""
    if not line.startswith("import time:") or "|" not in line:
        return None
    return line.rsplit("|", 1)[1].strip()


@dataclass
class Interrupted:
    code: int
    lines: list[str]  # stderr without the import timings
    imports: int  # modules imported past the guard when the signal was sent


def _interrupt_after(cwd: Path, moment: int | None) -> Interrupted:
    """SIGINT once the child has imported `moment` modules past the guard, or (None, or
    should it get there first) once it is waiting on a service that never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        listener.settimeout(60)
        child = _start(f"http://127.0.0.1:{listener.getsockname()[1]}", cwd)
        reached = threading.Event()
        lines: list[str] = []
        imports = [0]

        def read() -> None:
            assert child.stderr is not None
            guarded = False
            for line in child.stderr:
                module = _module(line)
                if module is None:
                    lines.append(line.rstrip("\n"))
                    continue
                guarded = guarded or (
                    module.startswith("titan_gitops") and module not in _BEFORE_GUARD
                )
                imports[0] += guarded
                if moment is not None and imports[0] >= moment:
                    reached.set()
            reached.set()

        def accept() -> None:
            with contextlib.suppress(OSError):
                listener.accept()[0].close()
            reached.set()

        reader = threading.Thread(target=read, daemon=True)
        acceptor = threading.Thread(target=accept, daemon=True)
        reader.start()
        acceptor.start()
        assert reached.wait(60), "the child neither imported nor connected"
        sent_at = imports[0]
        child.send_signal(signal.SIGINT)
        child.wait(60)
        reader.join(60)
    for stream in (child.stdout, child.stderr):
        assert stream is not None
        stream.close()
    return Interrupted(child.returncode, lines, sent_at)


def test_ctrl_c_while_waiting_on_the_service_is_one_line_and_exit_130(tmp_path: Path) -> None:
    result = _interrupt_after(tmp_path, None)
    assert result.code == 130, result.lines
    assert result.lines == ["interrupted"]


def test_ctrl_c_at_every_stage_of_the_imports_is_one_line_and_exit_130(tmp_path: Path) -> None:
    total = _interrupt_after(tmp_path, None).imports
    assert total > 20, total  # the CLI's own modules, the client's, httpx's
    for moment in sorted({1, 2, 3, 5, 8, *range(12, total, max(1, total // 8))}):
        result = _interrupt_after(tmp_path, moment)
        assert result.code == 130, (moment, result.lines)
        assert result.lines == ["interrupted"], (moment, result.lines)
