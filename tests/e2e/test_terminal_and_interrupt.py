"""What a real terminal receives: no redraw escapes when TERM=dumb; and Ctrl-C while `run --wait`
waits says the execution keeps running and how to stop it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from testing.emulator import spawn_server
from testing.terminal import Terminal
from titan_gitops.cli import main

from .conftest import REPO

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "tasks.example"
TOKEN = "terminal-t0k3n"


def environment(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.update({"PYTHONPATH": str(REPO), **extra})
    return environ


def stderr_on_a_terminal(argv: list[str], cwd: Path, environ: dict[str, str]) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal: its exit code and what it received."""
    terminal = Terminal()
    child = subprocess.run(
        [sys.executable, "-m", "titan_gitops", *argv],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal.follower,
        timeout=120,
        check=False,
    )
    return child.returncode, terminal.received()


@pytest.mark.parametrize("term", ["dumb", "xterm"])
def test_apply_progress_redraws_in_place_only_on_a_terminal_that_can(
    term: str, tmp_path: Path
) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "defs")
    environ = environment(TITAN_API_URL="local", TERM=term)
    code, shown = stderr_on_a_terminal(["apply", "defs", "--auto-approve"], tmp_path, environ)
    assert code == 0, shown
    assert "[6/6] " in shown, shown
    assert ("\x1b[K" in shown) is (term != "dumb"), shown
    if term == "dumb":
        assert "[1/6] " in shown.splitlines()[-6], shown  # one line per outcome


def test_ctrl_c_while_run_waits_says_the_execution_keeps_running(tmp_path: Path) -> None:
    process, url, _ = spawn_server("--token", TOKEN, "--execution-seconds", "600")
    try:
        shutil.copytree(EXAMPLE, tmp_path / "defs")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TITAN_API_URL", url)
            patch.setenv("TITAN_TOKEN", TOKEN)
            assert main(["apply", str(tmp_path / "defs"), "--auto-approve"]) == 0
        child = subprocess.Popen(
            [sys.executable, "-m", "titan_gitops", "run", "shop-product-extraction", "--wait"],
            cwd=tmp_path,
            env=environment(TITAN_API_URL=url, TITAN_TOKEN=TOKEN),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stderr is not None
        started = child.stderr.readline()
        assert started.startswith("Started execution "), started
        execution = started.split()[2]
        polled = child.stderr.readline()  # the first poll: the wait is under way
        assert polled.startswith(f"execution {execution}: "), polled
        child.send_signal(signal.SIGINT)
        rest = child.stderr.read().splitlines()
        child.wait(30)
        child.stderr.close()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    assert child.returncode == 130, rest
    assert rest[-2:] == [
        f"Execution {execution} keeps running on the service; stop it with "
        f"'titan-gitops executions stop {execution}'.",
        "interrupted",
    ], rest
