"""A real `titan-gitops emulator serve` process on a loopback port, and a way to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.emulator import spawn_server

TOKEN = "e2e-canary-token-5d1f0c"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]


def start_emulator(*extra: str) -> Served:
    """Start `emulator serve` on a free port and wait for its listening line."""
    process, url, _ = spawn_server("--token", TOKEN, "--execution-seconds", "0.3", *extra)
    return Served(url=url, process=process)


@pytest.fixture
def emulator() -> Iterator[Served]:
    served = start_emulator()
    try:
        yield served
    finally:
        served.process.terminate()
        served.process.communicate(timeout=10)  # reaps it and closes its pipes


def run_cli(
    *args: str,
    url: str | None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a subprocess."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    if url is not None:
        environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN})
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "titan_gitops", *args],
        cwd=cwd or REPO,
        env=environ,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )
