"""`titan-gitops apply` killed mid-way (SIGKILL or SIGTERM) recovers on the next apply.

The CLI runs as a subprocess against an in-test emulator server whose writes are slowed by a
latency fault, so a 20-change apply (6 creates, 6 updates, 4 renames, 4 deletes) takes long
enough to be interrupted after a chosen number of writes. Afterwards the next apply (no latency)
must succeed, the plan after it must be empty, and no name may be live twice. SIGTERM must end
the run with exit 1, the journal printed and no traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testing.emulator import start_background_server
from tests.reliability.counts import add_count
from tests.reliability.test_fault_convergence import (
    OPTIONS,
    TOKEN,
    Recorder,
    changed_definitions,
    foreign_body,
    starting_definitions,
    write_definitions,
)
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule
from titan_gitops.pipeline import make_plan, run_apply

REPO = Path(__file__).resolve().parents[2]
WRITES = ("POST", "PATCH", "DELETE")


@dataclass
class Target:
    root: Path
    url: str
    injector: FaultInjector
    recorder: Recorder
    outsider: TitanClient

    def writes_seen(self) -> int:
        with self.recorder.lock:
            return sum(1 for r in self.recorder.log if r.method in WRITES)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    app = create_app(EmulatorConfig(db_path=tmp_path / "titan.db", tokens={TOKEN: None}))
    outsider = TitanClient(
        "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app.serve_request)
    )
    outsider.create_task(foreign_body("other-1"))
    root = tmp_path / "defs"
    write_definitions(root, starting_definitions())
    plan = make_plan(root, outsider, OPTIONS, environ={})
    assert run_apply(plan, outsider).converged
    write_definitions(root, changed_definitions())
    rules = [FaultRule(kind="latency", latency_ms=250, method=m, path="*") for m in WRITES]
    injector = FaultInjector(rules, seed=5)
    recorder = Recorder(injector.wrap(app.serve_request))
    server, url = start_background_server(recorder)
    try:
        yield Target(root, url, injector, recorder, outsider)
    finally:
        server.shutdown()
        outsider.close()


def cli_environ(url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN, "PYTHONPATH": str(REPO)})
    return environ


def start_apply(target: Target) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "titan_gitops", "apply", str(target.root), "--auto-approve"],
        cwd=target.root.parent,
        env=cli_environ(target.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def kill_after(target: Target, writes: int, signum: signal.Signals) -> tuple[int, str]:
    """Start an apply, send `signum` once `writes` write requests reached the server."""
    child = start_apply(target)
    for _ in range(1500):
        if target.writes_seen() >= writes or child.poll() is not None:
            break
        time.sleep(0.01)
    if child.poll() is None:
        child.send_signal(signum)
    out, err = child.communicate(timeout=60)
    return child.returncode, out + err


def check_recovery(target: Target) -> None:
    """With the latency gone, one more apply converges, leaving no duplicate and no change."""
    target.injector.clear()
    target.recorder.wait_until_idle()  # writes the killed run left in flight land first
    done = subprocess.run(
        [sys.executable, "-m", "titan_gitops", "apply", str(target.root), "--auto-approve"],
        cwd=target.root.parent,
        env=cli_environ(target.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    names = [r.name for r in target.outsider.list_tasks()]
    duplicates = len(names) - len(set(names))
    add_count("dup_creates", duplicates)
    final = make_plan(target.root, target.outsider, OPTIONS, environ={})
    recovered = done.returncode == 0 and not final.has_changes and duplicates == 0
    add_count("kill_recovered", int(recovered))
    assert done.returncode == 0, done.stdout + done.stderr
    assert duplicates == 0, sorted(names)
    assert not final.has_changes
    assert "other-1" in names


def run_kill_point(target: Target, writes: int, signum: signal.Signals) -> None:
    add_count("kill_points")
    code, output = kill_after(target, writes, signum)
    assert "Traceback" not in output
    if signum is signal.SIGTERM:
        assert code == 1, output
        # The journal: what was done before the stop, and that the run was interrupted.
        assert "interrupt" in output.lower(), output
        assert "applied" in output.lower() or "skipped" in output.lower(), output
    else:
        assert code == -signal.SIGKILL
    check_recovery(target)


@pytest.mark.parametrize(
    ("signum", "writes"),
    [(signal.SIGKILL, 1), (signal.SIGKILL, 9), (signal.SIGTERM, 2), (signal.SIGTERM, 10)],
    ids=["kill-1", "kill-9", "term-2", "term-10"],
)
def test_an_interrupted_apply_recovers_on_the_next(
    target: Target, signum: signal.Signals, writes: int
) -> None:
    run_kill_point(target, writes, signum)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
@pytest.mark.parametrize("writes", [3, 5, 7, 12, 14, 16, 18])
def test_more_kill_points_recover(target: Target, signum: signal.Signals, writes: int) -> None:
    run_kill_point(target, writes, signum)
