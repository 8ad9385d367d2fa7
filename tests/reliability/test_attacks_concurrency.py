"""Concurrent runs, leases left by crashed runs, duplicates found live, and a second Ctrl-C.

Every test talks HTTP to a real `emulator serve` child process on a loopback port, with writes (or
every request) slowed by a latency fault, and runs the CLI as child processes: two applies at once
on one namespace must never leave a name live twice, never lose an update silently, and never both
print "Converged."; a lease left behind never shows up as a task and never blocks for good.
"""

from __future__ import annotations

import json
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

from testing.emulator import spawn_server
from tests.reliability.counts import add_count
from titan_gitops.client import TitanClient
from titan_gitops.lease import LEASE_TTL_SECONDS, LeaseOwner, lease_body, lease_name

TOKEN = "lease-attack-token-71c2"
ADMIN = "lease-admin-token-0e94"
REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "conc-"
SCHEMA = "{type: object, properties: {title: {type: string}}}"


@dataclass
class Service:
    url: str
    process: subprocess.Popen[str]
    client: TitanClient

    def names(self) -> list[str]:
        """Every live task name as the service lists it, leases included, duplicates kept."""
        return sorted(str(r.body().get("name")) for r in self.client.list_tasks())

    def objectives(self) -> dict[str, str]:
        return {
            str(r.body()["name"]): str(r.body()["objective"])
            for r in self.client.list_tasks()
            if not str(r.body()["name"]).startswith(".")
        }

    def advance_clock(self, seconds: float) -> None:
        httpx.post(
            f"{self.url}/_emulator/clock",
            json={"advance_seconds": seconds},
            headers={"Authorization": f"Bearer {ADMIN}"},
        ).raise_for_status()


def start_service(tmp_path: Path, rules: list[dict[str, object]]) -> Service:
    tmp_path.mkdir(parents=True, exist_ok=True)
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps(rules), encoding="utf-8")
    process, url, _ = spawn_server(
        "--token", TOKEN, "--admin-token", ADMIN, "--faults", str(faults), cwd=str(REPO)
    )
    return Service(url, process, TitanClient(url, TOKEN, timeout=60))


def stop_service(service: Service) -> None:
    service.client.close()
    service.process.terminate()
    service.process.communicate(timeout=10)


@pytest.fixture
def calm(tmp_path: Path) -> Iterator[Service]:
    """A service without latency."""
    service = start_service(tmp_path, [])
    try:
        yield service
    finally:
        stop_service(service)


def latency_on(ms: int, methods: tuple[str, ...] = ("*",)) -> list[dict[str, object]]:
    if ms <= 0:
        return []
    return [
        {"kind": "latency", "latency_ms": ms, "method": m, "path": "/api/v1/tasks*"}
        for m in methods
    ]


def write_definitions(root: Path, objectives: dict[str, str], namespace: str | None) -> Path:
    tasks = root / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    project = f"namespace: {namespace}\n" if namespace is not None else "{}\n"
    (root / "titan-gitops.yaml").write_text(project, encoding="utf-8")
    for index, (name, objective) in enumerate(sorted(objectives.items())):
        (tasks / f"t{index:03d}.yaml").write_text(
            f"kind: task\nname: {json.dumps(name)}\nurls: [https://shop.example/{index}]\n"
            f"objective: {json.dumps(objective)}\noutput_schema: {SCHEMA}\n"
            "execution_type: single\n",
            encoding="utf-8",
        )
    return root


def cli_environ(url: str, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN, "PYTHONPATH": str(REPO)})
    environ.update(extra)
    return environ


def start_cli(url: str, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "titan_gitops", *args],
        cwd=REPO,
        env=cli_environ(url, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def run_cli(url: str, *args: str, **extra: str) -> tuple[int, str]:
    child = start_cli(url, *args, **extra)
    out, err = child.communicate(timeout=120)
    return child.returncode, out + err


def apply_at_once(url: str, *roots: Path) -> list[tuple[int, str]]:
    children = [start_cli(url, "apply", str(root), "--auto-approve") for root in roots]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        results.append((child.returncode, out + err))
    return results


def duplicates_of(names: list[str]) -> list[str]:
    return sorted({n for n in names if names.count(n) > 1})


def leases_in(names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(".titan-gitops-lease")]


def assert_clear_refusal(code: int, output: str) -> None:
    assert code == 1, output
    assert "Traceback" not in output
    assert "unexpected error" not in output
    assert "stale" in output or "lease" in output, output


# --- two applies at once -----------------------------------------------------------------------


def two_applies_of_the_same_definitions(tmp_path: Path, latency_ms: int) -> None:
    service = start_service(tmp_path, latency_on(latency_ms))
    try:
        objectives = {f"{NAMESPACE}task-{i:02d}": "Extract titles." for i in range(30)}
        root = write_definitions(tmp_path / "defs", objectives, NAMESPACE)
        results = apply_at_once(service.url, root, root)
        names = service.names()
        duplicates = duplicates_of(names)
        add_count("concurrent_dups", len(duplicates))
        assert not duplicates, duplicates
        assert not leases_in(names), names
        assert sorted(names) == sorted(objectives)
        converged = [code for code, output in results if "Converged." in output]
        assert len(converged) == 1, results
        for code, output in results:
            if "Converged." in output:
                assert code == 0, output
            elif code != 0:
                assert_clear_refusal(code, output)
            else:  # it planned after the other run had finished: nothing was left to do
                assert "No changes." in output, output
    finally:
        stop_service(service)


def two_applies_of_different_definitions(tmp_path: Path, latency_ms: int) -> None:
    names = [f"{NAMESPACE}task-{i:02d}" for i in range(12)]
    service = start_service(tmp_path, [])
    try:
        base = write_definitions(tmp_path / "base", dict.fromkeys(names, "Base."), NAMESPACE)
        assert run_cli(service.url, "apply", str(base), "--auto-approve")[0] == 0
        first = write_definitions(tmp_path / "a", dict.fromkeys(names, "From A."), NAMESPACE)
        second = write_definitions(tmp_path / "b", dict.fromkeys(names, "From B."), NAMESPACE)
        for rule in latency_on(latency_ms):
            httpx.post(
                f"{service.url}/_emulator/faults",
                json=rule,
                headers={"Authorization": f"Bearer {ADMIN}"},
            ).raise_for_status()
        (code_a, out_a), (code_b, out_b) = apply_at_once(service.url, first, second)
        live = service.objectives()
        add_count("concurrent_dups", len(duplicates_of(service.names())))
        assert not duplicates_of(service.names())
        assert not leases_in(service.names())
        values = set(live.values())
        assert len(values) == 1, live  # never a mix of both runs' definitions
        winner = "From A." if values == {"From A."} else "From B."
        assert values == {winner}, live
        won, lost = ((code_a, out_a), (code_b, out_b))[:: 1 if winner == "From A." else -1]
        assert won[0] == 0, won[1]
        assert "Converged." in won[1], won[1]
        if "Converged." in lost[1]:
            # Both converged only when they ran one after the other: then the run whose values
            # are live planned against the other's, so its plan showed the other's update.
            loser_value = "From B." if winner == "From A." else "From A."
            assert loser_value in won[1], (won[1], lost[1])
        else:
            assert_clear_refusal(*lost)
    finally:
        stop_service(service)


@pytest.mark.attack
@pytest.mark.parametrize("latency_ms", [0, 20, 60])
def test_two_applies_of_the_same_definitions_leave_no_duplicate(
    tmp_path: Path, latency_ms: int
) -> None:
    two_applies_of_the_same_definitions(tmp_path, latency_ms)


@pytest.mark.attack
@pytest.mark.parametrize("latency_ms", [0, 40])
def test_two_applies_of_different_definitions_never_lose_an_update_silently(
    tmp_path: Path, latency_ms: int
) -> None:
    two_applies_of_different_definitions(tmp_path, latency_ms)


@pytest.mark.slow
@pytest.mark.parametrize("latency_ms", [5, 10, 40, 80, 120])
@pytest.mark.parametrize("repeat", range(3))
def test_more_concurrent_applies(tmp_path: Path, latency_ms: int, repeat: int) -> None:
    del repeat
    two_applies_of_the_same_definitions(tmp_path / "same", latency_ms)
    two_applies_of_different_definitions(tmp_path / "different", latency_ms)


# --- leases left behind ------------------------------------------------------------------------


def plant_lease(service: Service, *, host: str, pid: int, namespace: str | None) -> str:
    owner = LeaseOwner(owner_id="planted-owner", host=host, pid=pid, machine="elsewhere")
    record = service.client.create_task(lease_body(owner, namespace))
    return str(record.body()["id"])


def assert_lease_is_invisible(service: Service, root: Path, tmp_path: Path) -> None:
    """plan, drift and export never show a lease as a task."""
    for command in (["plan", str(root)], ["drift", str(root)]):
        code, output = run_cli(service.url, *command)
        assert code in (0, 2), output
        assert "titan-gitops-lease" not in output, output
    out = tmp_path / "exported"
    code, output = run_cli(service.url, "export", "--out", str(out))
    assert code == 0, output
    for path in out.rglob("*"):
        if path.is_file():
            assert "titan-gitops-lease" not in path.read_text(encoding="utf-8"), path


@pytest.mark.attack
def test_a_lease_held_by_another_run_makes_apply_wait_then_refuse_naming_the_holder(
    calm: Service, tmp_path: Path
) -> None:
    root = write_definitions(tmp_path / "defs", {f"{NAMESPACE}a": "A."}, NAMESPACE)
    plant_lease(calm, host="ci-runner-7", pid=4242, namespace=NAMESPACE)
    started = time.monotonic()
    code, output = run_cli(
        calm.url, "apply", str(root), "--auto-approve", TITAN_GITOPS_LEASE_WAIT="1.5"
    )
    assert code == 1, output
    assert "ci-runner-7" in output, output
    assert "pid 4242" in output, output
    assert "waited 1" in output, output
    assert "Traceback" not in output
    assert time.monotonic() - started < 30
    assert calm.names() == [lease_name(NAMESPACE)]  # nothing applied, the holder's lease kept


@pytest.mark.attack
def test_a_lease_on_an_overlapping_namespace_also_blocks(calm: Service, tmp_path: Path) -> None:
    root = write_definitions(tmp_path / "defs", {f"{NAMESPACE}a": "A."}, NAMESPACE)
    plant_lease(calm, host="ci-runner-8", pid=77, namespace=None)  # an account-wide run
    code, output = run_cli(
        calm.url, "apply", str(root), "--auto-approve", TITAN_GITOPS_LEASE_WAIT="0.5"
    )
    assert code == 1, output
    assert "ci-runner-8" in output, output


@pytest.mark.attack
def test_an_expired_lease_is_removed_and_never_shows_as_a_task(
    calm: Service, tmp_path: Path
) -> None:
    root = write_definitions(tmp_path / "defs", {f"{NAMESPACE}a": "A."}, NAMESPACE)
    plant_lease(calm, host="crashed-runner", pid=99, namespace=NAMESPACE)
    assert_lease_is_invisible(calm, root, tmp_path)
    calm.advance_clock(LEASE_TTL_SECONDS + 1)
    code, output = run_cli(
        calm.url, "apply", str(root), "--auto-approve", TITAN_GITOPS_LEASE_WAIT="2"
    )
    assert code == 0, output
    assert "Converged." in output
    assert calm.names() == [f"{NAMESPACE}a"]


@pytest.mark.attack
def test_a_lease_left_by_a_killed_apply_never_blocks_or_shows(tmp_path: Path) -> None:
    service = start_service(tmp_path, latency_on(400, ("POST",)))
    try:
        # Four creates at a time (the default parallelism), each held 0.4 s: killed once the
        # first four landed, so the next four land late and four are left for the next apply.
        objectives = {f"{NAMESPACE}task-{i:02d}": "Extract titles." for i in range(12)}
        root = write_definitions(tmp_path / "defs", objectives, NAMESPACE)
        child = start_cli(service.url, "apply", str(root), "--auto-approve")
        for _ in range(600):
            if len(service.names()) >= 2 or child.poll() is not None:
                break  # the lease and at least one task are live
            time.sleep(0.02)
        child.kill()
        child.communicate(timeout=30)
        assert leases_in(service.names()), "the killed run should have left its lease"
        assert_lease_is_invisible(service, root, tmp_path)
        code, output = run_cli(
            service.url, "apply", str(root), "--auto-approve", TITAN_GITOPS_LEASE_WAIT="5"
        )
        assert code == 0, output
        assert "Converged." in output, output  # it had work left, and took the lease for it
        names = service.names()
        assert not leases_in(names), names
        assert not duplicates_of(names), names
        assert sorted(names) == sorted(objectives)
    finally:
        stop_service(service)


# --- duplicates found live ---------------------------------------------------------------------


def task_body(name: str, objective: str) -> dict[str, object]:
    return {
        "name": name,
        "urls": ["https://shop.example/0"],
        "objective": objective,
        "output_schema": {"type": "object", "properties": {"title": {"type": "string"}}},
        "execution_type": "single",
    }


@pytest.mark.attack
def test_duplicates_found_live_are_repaired_keeping_the_oldest(
    calm: Service, tmp_path: Path
) -> None:
    name = f"{NAMESPACE}task-00"
    root = write_definitions(tmp_path / "defs", {name: "Extract titles."}, NAMESPACE)
    oldest = str(calm.client.create_task(task_body(name, "Old.")).body()["id"])
    calm.client.create_task(task_body(name, "Newer."))
    calm.client.create_task(task_body(name, "Newest."))
    calm.client.create_task(task_body("other-x", "Someone else's."))
    calm.client.create_task(task_body("other-x", "Someone else's."))
    code, output = run_cli(calm.url, "plan", str(root))
    assert code == 0, output
    assert f"duplicate of {oldest}" in output, output
    code, output = run_cli(calm.url, "apply", str(root), "--auto-approve")
    assert code == 0, output
    live = [r.body() for r in calm.client.list_tasks()]
    kept = [t for t in live if t["name"] == name]
    assert [(t["id"], t["objective"]) for t in kept] == [(oldest, "Extract titles.")]
    assert sum(1 for t in live if t["name"] == "other-x") == 2  # not ours: left alone
    code, output = run_cli(calm.url, "plan", str(root))
    assert code == 0, output
    assert "No changes." in output, output


@pytest.mark.attack
def test_a_definition_may_not_take_a_reserved_lease_name(tmp_path: Path) -> None:
    root = write_definitions(tmp_path / "defs", {".titan-gitops-lease/x": "Spoof."}, None)
    child = subprocess.run(
        [sys.executable, "-m", "titan_gitops", "validate", str(root)],
        cwd=REPO,
        env=cli_environ("http://127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = child.stdout + child.stderr
    assert child.returncode == 1, output
    assert "t000.yaml:2" in output, output
    assert "name: names starting with '.titan-gitops-lease/' are reserved" in output, output


# --- a second Ctrl-C ---------------------------------------------------------------------------


@pytest.mark.attack
def test_a_second_interrupt_exits_at_once(tmp_path: Path) -> None:
    service = start_service(tmp_path, latency_on(4000, ("POST",)))
    try:
        objectives = {f"{NAMESPACE}task-{i:02d}": "Extract titles." for i in range(4)}
        root = write_definitions(tmp_path / "defs", objectives, NAMESPACE)
        child = start_cli(service.url, "apply", str(root), "--auto-approve")
        for _ in range(1500):  # the lease is live: the signal handlers are in place
            if leases_in(service.names()) or child.poll() is not None:
                break
            time.sleep(0.02)
        time.sleep(0.3)  # the creates are in flight, each held 4 s by the latency
        child.send_signal(signal.SIGINT)
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        second = time.monotonic()
        out, err = child.communicate(timeout=60)
        elapsed = time.monotonic() - second
        assert child.returncode == 130, out + err
        assert "Interrupted again" in err, err
        assert "Traceback" not in out + err
        assert elapsed < 2.5, elapsed
    finally:
        stop_service(service)
