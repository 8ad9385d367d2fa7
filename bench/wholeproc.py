"""Whole-process timing shared by the bench scripts: the CLI as users start it, floors, goals.

Every contender is a fresh process; `run` returns its wall time and peak RSS (`os.wait4`'s
`ru_maxrss` of that child alone). `Samples` keeps each contender's runs and prints the median,
the spread (min-max) and the peak. `served` starts `titan-gitops emulator serve` as a child on
127.0.0.1 with an admin token, so a bench can reset it and read the requests it counted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import repo_path  # noqa: F401  (testing/ below lives at the repo root)

from testing.emulator import spawn_server

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-3f9e1c"
ADMIN_TOKEN = "bench-admin-7d41b0"


def entry_point() -> list[str]:
    """How a user starts the CLI: the console script beside the interpreter, else `-m`."""
    script = Path(sys.executable).parent / "titan-gitops"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "titan_gitops"]


def cli_environ(url: str | None, scratch: Path) -> dict[str, str]:
    """The environment of a CLI run: this worktree's package first, the target, a scratch cache."""
    environ = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": str(scratch / "xdg-cache")}
    # The validated-definitions cache goes under it too (clear_caches empties it), and is on.
    environ.pop("TITAN_GITOPS_CACHE_DIR", None)
    environ.pop("TITAN_GITOPS_CACHE", None)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if url is not None:
        environ["TITAN_API_URL"] = url
        environ["TITAN_TOKEN"] = TOKEN
    return environ


def clear_caches(root: Path, environ: dict[str, str]) -> None:
    """Remove every cache the tool keeps (the validated-definitions cache lives under
    XDG_CACHE_HOME/titan-gitops), so the next run is cold."""
    for path in (root / ".titan-gitops-cache", Path(environ["XDG_CACHE_HOME"]) / "titan-gitops"):
        shutil.rmtree(path, ignore_errors=True)


def run(
    argv: list[str], environ: dict[str, str], cwd: Path = REPO, ok_codes: tuple[int, ...] = (0,)
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one whole process; a failure stops the bench."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code
        if code not in ok_codes:
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace")
            raise SystemExit(f"{' '.join(argv[1:])} exited {code}:\n{tail}")
    return seconds, usage.ru_maxrss / 1024


@dataclass
class Samples:
    """The runs of one contender: seconds and peak RSS (MiB)."""

    seconds: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)

    def add(self, measured: tuple[float, float]) -> None:
        self.seconds.append(measured[0])
        self.peaks.append(measured[1])

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peaks)

    def line(self, name: str, width: int = 34) -> str:
        return (
            f"{name:{width}s} median {self.median:7.3f} s  spread {min(self.seconds):7.3f}-"
            f"{max(self.seconds):7.3f} s  peak {self.peak:7.1f} MiB"
        )


def verdict(value: float, goal: float) -> str:
    """`ok` when the figure is within its goal (at most), else `missed`."""
    return "ok" if value <= goal else "missed"


def drain(stream: IO[str] | None) -> None:
    """Read a child's pipe to its end in a daemon thread, so it never blocks on a full pipe."""
    if stream is not None:
        threading.Thread(target=stream.read, daemon=True).start()


@contextlib.contextmanager
def served(*args: str) -> Iterator[Admin]:
    """`titan-gitops emulator serve` on 127.0.0.1 (Titan token and admin token), stopped after."""
    environ = cli_environ(None, Path(tempfile.gettempdir()))
    process, url, _ = spawn_server(
        "--token", TOKEN, "--admin-token", ADMIN_TOKEN, *args, cwd=str(REPO), env=environ
    )
    drain(process.stdout)
    drain(process.stderr)
    try:
        with Admin(url) as admin:
            yield admin
    finally:
        process.terminate()
        process.wait(timeout=30)


class Admin:
    """The emulator's admin routes: reset, and the requests it counted per route."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60
        )

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def reset(self) -> None:
        self._http.post("/_emulator/reset").raise_for_status()

    def take_requests(self) -> dict[str, int]:
        """The counts since the last take (per `METHOD template`), then cleared."""
        response = self._http.get("/_emulator/requests")
        response.raise_for_status()
        self._http.delete("/_emulator/requests").raise_for_status()
        routes: dict[str, int] = response.json()["data"]["routes"]
        return routes


def format_requests(routes: dict[str, int]) -> str:
    return ", ".join(f"{key} {count}" for key, count in routes.items()) or "none"


def write_script(folder: Path, name: str, text: str) -> list[str]:
    """A floor or peer script written to `folder`, as the argv that runs it."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return [sys.executable, str(path)]
