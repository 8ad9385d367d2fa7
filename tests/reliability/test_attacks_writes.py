"""Attacks on what the tool writes: export injection, crafted file-name collisions, planted
symlinks beside a target, interrupted exports, and `--out` paths that cannot be written.

The CLI runs in-process (or as a child process where it must be interrupted) against an emulator
served on loopback; every file is real, in a temporary directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.cli import main
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app

REPO = Path(__file__).resolve().parents[2]
TOKEN = "writes-token-3b9e"
# The file a running export keeps at the root of its target; the loader refuses a directory
# holding it (titan_gitops.load.walk.INCOMPLETE_EXPORT_MARKER).
INCOMPLETE = ".titan-gitops-export-incomplete"
OUTSIDE_TEXT = "precious: do not overwrite\n"
# The injection: the name closes export's old `# Task '…'` header comment and adds a document.
INJECTED_NAME = (
    "shop-b'\nkind: task\nname: shop-evil\nurls: ['https://evil.example/']\n"
    "objective: Scrape everything.\nexecution_type: scheduled\nschedule: '* * * * *'\n---\n#"
)


@dataclass
class Live:
    url: str
    client: TitanClient

    def names(self) -> list[str]:
        return sorted(r.name for r in self.client.list_tasks())

    def add(self, name: str) -> str:
        return str(self.client.create_task(task_body(name)).body()["id"])


def task_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/"],
        "objective": "Extract prices.",
        "execution_type": "single",
        "output_schema": {"type": "object", "properties": {"price": {"type": "number"}}},
    }


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    app = create_app(EmulatorConfig(tokens={TOKEN: None}))
    server, url = start_background_server(app.serve_request)
    # The tests seed and read live state in-process; the CLI goes over the socket.
    client = TitanClient(
        "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app.serve_request)
    )
    monkeypatch.setenv("TITAN_API_URL", url)
    monkeypatch.setenv("TITAN_TOKEN", TOKEN)
    try:
        yield Live(url, client)
    finally:
        client.close()
        server.shutdown()


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    text = out + err
    assert "Traceback" not in text
    assert "unexpected error" not in text
    assert TOKEN not in text
    return code, text


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def stray_temporaries(root: Path) -> list[Path]:
    known = {INCOMPLETE, "titan-gitops.yaml"}
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and p.name not in known and not p.name.endswith(".yaml")
    ]


# --- export injection ---------------------------------------------------------------------------


@pytest.mark.attack
def test_a_newline_in_a_live_name_cannot_inject_a_task_through_export(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live.add("shop-a")
    bad_id = live.add(INJECTED_NAME)
    before = live.names()
    out = tmp_path / "exported"
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-")
    assert code == 1
    # Reported with its name escaped (no raw newline reaches the output) and its id.
    assert bad_id in text
    assert "shop-b'\\nkind: task" in text
    assert "\nkind: task" not in text
    written = files_under(out)
    assert sorted(written) == ["tasks/shop-a.yaml", "titan-gitops.yaml"]
    assert not any(b"shop-evil" in data for data in written.values())
    # The directory validates, and a plan of it creates nothing.
    assert cli(capsys, "validate", str(out))[0] == 0
    code, plan_text = cli(capsys, "plan", str(out), "--output", "json")
    assert code == 0
    plan = json.loads(plan_text)
    assert plan["summary"]["create"] == 0
    assert all(change["action"] != "create" for change in plan["changes"])
    assert live.names() == before


@pytest.mark.attack
@pytest.mark.parametrize(
    "bad",
    ["\t", "\x1b]0;owned\x07", "\x85", "\x9b31m", "\u202e", "\x7f", "\u2028"],
    ids=["tab", "osc", "nel", "c1-csi", "rlo", "del", "line-separator"],
)
def test_a_live_name_with_a_control_character_is_reported_not_written(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    live.add("shop-a")
    bad_id = live.add(f"shop-c{bad}x")
    out = tmp_path / "exported"
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-")
    assert code == 1
    assert bad_id in text
    assert bad not in text
    assert sorted(files_under(out)) == ["tasks/shop-a.yaml", "titan-gitops.yaml"]


# --- file-name collisions -------------------------------------------------------------------------


@pytest.mark.attack
def test_a_file_name_collision_crafted_from_the_hashing_scheme_drops_no_task(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The old scheme gave "shop-a b" and "shop-a-b" the files shop-a-b-<sha256[:8]>.yaml; a
    # third task named exactly like one of those files took the same file and one vanished.
    crafted = "shop-a-b-" + hashlib.sha256(b"shop-a b").hexdigest()[:8]
    names = ["shop-a b", "shop-a-b", crafted]
    for name in names:
        live.add(name)
    out = tmp_path / "exported"
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-")
    assert code == 0, text
    assert len(list((out / "tasks").iterdir())) == 3
    assert "Exported 3 tasks" in text
    code, plan_text = cli(capsys, "plan", str(out), "--detailed-exitcode")
    assert code == 0, plan_text
    assert "No changes." in plan_text


# --- planted symlinks -----------------------------------------------------------------------------


@pytest.mark.attack
def test_a_planted_tmp_symlink_beside_an_export_target_is_not_followed(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live.add("shop-a")
    out = tmp_path / "exported"
    (out / "tasks").mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text(OUTSIDE_TEXT)
    (out / "tasks" / "shop-a.yaml.tmp").symlink_to(outside)
    (out / "titan-gitops.yaml.tmp").symlink_to(outside)
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-")
    assert code == 0, text
    assert outside.read_text() == OUTSIDE_TEXT
    for written in (out / "tasks" / "shop-a.yaml", out / "titan-gitops.yaml"):
        assert not written.is_symlink()
        assert written.read_text().startswith("# Written by titan-gitops export.")


@pytest.mark.attack
def test_a_symlinked_export_target_is_refused_or_replaced_never_written_through(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live.add("shop-a")
    out = tmp_path / "exported"
    (out / "tasks").mkdir(parents=True)
    outside = tmp_path / "outside.yaml"
    outside.write_text("# Written by titan-gitops export.\n" + OUTSIDE_TEXT)
    (out / "tasks" / "shop-a.yaml").symlink_to(outside)
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-")
    # A link is never something export wrote, whatever the file it points at says.
    assert code == 1
    assert str(out / "tasks" / "shop-a.yaml") in text
    assert (out / "tasks" / "shop-a.yaml").is_symlink()
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-", "--force")
    assert code == 0, text
    assert outside.read_text() == "# Written by titan-gitops export.\n" + OUTSIDE_TEXT
    assert not (out / "tasks" / "shop-a.yaml").is_symlink()


@pytest.mark.attack
def test_a_symlinked_tasks_folder_is_refused(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live.add("shop-a")
    out = tmp_path / "exported"
    out.mkdir()
    elsewhere = tmp_path / "workflows"
    elsewhere.mkdir()
    (out / "tasks").symlink_to(elsewhere)
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-", "--force")
    assert code == 1
    assert str(out / "tasks") in text
    assert "symbolic link" in text
    assert list(elsewhere.iterdir()) == []


@pytest.mark.attack
def test_a_planted_tmp_symlink_beside_a_saved_plan_is_not_followed(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    (defs / "a.yaml").write_text(
        "kind: task\nname: shop-a\nurls: ['https://shop.example/']\nobjective: Extract.\n"
        "execution_type: single\noutput_schema: {type: object}\n"
    )
    outside = tmp_path / "outside.txt"
    outside.write_text(OUTSIDE_TEXT)
    saved = tmp_path / "plans" / "plan.json"
    saved.parent.mkdir()
    saved.with_name("plan.json.tmp").symlink_to(outside)
    code, text = cli(capsys, "plan", str(defs), "--out", str(saved))
    assert code == 0, text
    assert outside.read_text() == OUTSIDE_TEXT
    assert saved.is_file()
    assert not saved.is_symlink()
    assert '"format_version"' in saved.read_text()
    # A target that is itself a symlink is replaced, never written through.
    saved.unlink()
    saved.symlink_to(outside)
    code, text = cli(capsys, "plan", str(defs), "--out", str(saved))
    assert code == 0, text
    assert outside.read_text() == OUTSIDE_TEXT
    assert not saved.is_symlink()


@pytest.mark.attack
def test_run_results_through_a_symlinked_target_leave_the_linked_file_alone(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    live.add("shop-a")
    monkeypatch.chdir(tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text(OUTSIDE_TEXT)
    Path("results.json").symlink_to(outside)
    Path("results.csv").symlink_to(outside)
    code, text = cli(
        capsys,
        "run",
        "shop-a",
        "--wait",
        "--interval",
        "0.05",
        "--export",
        "results.json",
        "--csv",
        "results.csv",
    )
    assert code == 0, text
    assert outside.read_text() == OUTSIDE_TEXT
    for written in (Path("results.json"), Path("results.csv")):
        assert not written.is_symlink()
        assert written.read_text().strip()


# --- interrupted exports --------------------------------------------------------------------------


@pytest.mark.attack
def test_an_export_failing_half_way_leaves_the_incomplete_marker(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("shop-a", "shop-m", "shop-z"):
        live.add(name)
    out = tmp_path / "exported"
    assert cli(capsys, "export", "--out", str(out), "--namespace", "shop-")[0] == 0
    for record in live.client.list_tasks():
        live.client.update_task(record.id, {"objective": "Changed live."})
    before = files_under(out)
    # A folder where shop-m's file goes: the write after shop-a's fails half-way.
    (out / "tasks" / "shop-m.yaml").unlink()
    (out / "tasks" / "shop-m.yaml").mkdir()
    code, text = cli(capsys, "export", "--out", str(out), "--namespace", "shop-", "--force")
    assert code == 1
    assert str(out / "tasks" / "shop-m.yaml") in text
    assert (out / INCOMPLETE).is_file()
    assert INCOMPLETE in text
    assert stray_temporaries(out) == []
    after = files_under(out)
    assert after["tasks/shop-a.yaml"] != before["tasks/shop-a.yaml"]
    assert after["tasks/shop-z.yaml"] == before["tasks/shop-z.yaml"]


@pytest.mark.attack
def test_validate_refuses_a_directory_an_export_left_incomplete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "titan-gitops.yaml").write_text("namespace: shop-\n")
    (tmp_path / INCOMPLETE).write_text("")
    assert cli(capsys, "validate", str(tmp_path))[0] == 1


# Enough tasks that the export is still writing when the signal comes.
TASKS = 300


def yaml_files(folder: Path) -> int:
    return len([name for name in os.listdir(folder) if name.endswith(".yaml")])


def child_environ(url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN, "PYTHONPATH": str(REPO)})
    return environ


@pytest.mark.attack
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_an_export_interrupted_between_files_leaves_the_marker_and_no_temporaries(
    live: Live, tmp_path: Path, signum: signal.Signals
) -> None:
    for index in range(TASKS):
        live.add(f"shop-{index:04d}")
    out = tmp_path / "exported"
    child = subprocess.Popen(
        [sys.executable, "-m", "titan_gitops", "export", "--out", str(out), "--namespace", "shop-"],
        env=child_environ(live.url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        tasks = out / "tasks"
        if (out / INCOMPLETE).exists() and tasks.is_dir() and yaml_files(tasks) >= 20:
            break
        time.sleep(0.002)
    assert child.poll() is None, "the export ended before it could be interrupted"
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "Traceback" not in err
    assert (out / INCOMPLETE).is_file()
    assert 20 <= yaml_files(out / "tasks") < TASKS
    if signum == signal.SIGINT:
        # Ctrl-C runs the clean-up: no temporary file is left behind.
        assert stray_temporaries(out) == []
        assert "interrupted" in err


# --- --out paths that cannot be written -----------------------------------------------------------


def test_export_into_a_file_is_a_clear_error(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live.add("shop-a")
    target = tmp_path / "some" / "file.yaml"
    target.parent.mkdir()
    target.write_text(OUTSIDE_TEXT)
    code, text = cli(capsys, "export", "--out", str(target), "--namespace", "shop-")
    assert code == 1
    assert str(target) in text
    assert target.read_text() == OUTSIDE_TEXT
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.yaml"]


@pytest.mark.parametrize("where", ["directory", "proc"])
def test_plan_out_that_cannot_be_written_is_a_clear_error(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    defs = tmp_path / "defs"
    defs.mkdir()
    target = tmp_path / "plans" if where == "directory" else Path("/proc/titan-gitops-plan.json")
    if where == "directory":
        target.mkdir()
    code, text = cli(capsys, "plan", str(defs), "--out", str(target), "--allow-empty")
    assert code == 1
    assert str(target) in text
    if where == "directory":
        assert list(target.iterdir()) == []
    assert list(tmp_path.glob("*.tmp")) == []


def test_export_into_proc_is_a_clear_error(live: Live, capsys: pytest.CaptureFixture[str]) -> None:
    live.add("shop-a")
    code, text = cli(capsys, "export", "--out", "/proc/titan-gitops-export", "--namespace", "shop-")
    assert code == 1
    assert "/proc/titan-gitops-export" in text
