"""Ctrl-C while the command is still importing its first modules: one line, exit 130.

The child is the real entry point (`python -m`, or the console script's own lines) behind one
import hook: when the import of a chosen module starts, the hook says so on stderr and holds the
process there. The signal lands while the process is held at exactly that point, so the test
needs no sleep and cannot miss the moment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.e2e

HELD = "held at the import"

_HOOK = f"""
import os, sys, time
class Hold:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == os.environ["HOLD_AT"]:
            os.write(2, b"{HELD}\\n")
            time.sleep(120)
        return None
sys.meta_path.insert(0, Hold)
"""
# What `python -m MODULE` does, and what the console script `titan-gitops` runs.
_AS_MODULE = "import runpy; runpy._run_module_as_main({module!r})"
_AS_SCRIPT = "import sys; from titan_gitops.__main__ import run; sys.exit(run())"


def interrupt_at(module: str, entry: str, arguments: list[str], cwd: Path) -> tuple[int, list[str]]:
    """Start `entry`, SIGINT it once it is held at the import of `module`: code and stderr."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.update({"PYTHONPATH": str(REPO), "HOLD_AT": module, "TITAN_API_URL": "local"})
    child = subprocess.Popen(
        [sys.executable, "-c", _HOOK + entry, *arguments],
        cwd=cwd,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    first = child.stderr.readline()
    if first.strip() != HELD:  # never held: the module is not imported on this path
        child.kill()
        pytest.fail(f"{module} was never imported: {first + child.stderr.read()}")
    child.send_signal(signal.SIGINT)
    rest = child.stderr.read()
    child.wait(30)
    child.stderr.close()
    return child.returncode, rest.splitlines()


# The modules the command imports first, before and around the Ctrl-C guard.
_FIRST = ["titan_gitops.exit_codes", "titan_gitops.interrupts", "signal", "threading", "typing"]


@pytest.mark.parametrize("module", [*_FIRST, "titan_gitops.cli"])
@pytest.mark.parametrize("entry", ["python -m titan_gitops", "titan-gitops"])
def test_ctrl_c_during_the_first_imports_is_one_line_and_exit_130(
    module: str, entry: str, tmp_path: Path
) -> None:
    code = _AS_SCRIPT if entry == "titan-gitops" else _AS_MODULE.format(module="titan_gitops")
    result = interrupt_at(module, code, ["executions", "list"], tmp_path)
    assert result == (130, ["interrupted"])


# The emulator imports nothing of the rest of the package (exit_codes, interrupts): its own.
_EMULATOR_FIRST = ["signal", "typing", "threading", "titan_gitops.emulator.serve", "http.server"]


@pytest.mark.parametrize("module", _EMULATOR_FIRST)
def test_ctrl_c_while_the_emulator_starts_is_one_line_and_exit_130(
    module: str, tmp_path: Path
) -> None:
    code = _AS_MODULE.format(module="titan_gitops.emulator")
    result = interrupt_at(module, code, ["serve", "--port", "0"], tmp_path)
    assert result == (130, ["interrupted"])
