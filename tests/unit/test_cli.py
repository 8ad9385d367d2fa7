"""The CLI in-process: validate stays offline, usage errors exit 1, errors are one line."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from titan_gitops import __version__
from titan_gitops.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every socket connection attempted, loopback included, refused and recorded."""
    attempts: list[Any] = []

    def refuse(_self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise ConnectionRefusedError(f"no network in this test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of tasks.example as `defs` under a fresh working directory."""
    shutil.copytree(EXAMPLE, tmp_path / "defs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_makes_no_network_call_even_with_a_target_set(
    example: Path,
    monkeypatch: pytest.MonkeyPatch,
    connections: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "https://titan.example.com")
    monkeypatch.setenv("TITAN_TOKEN", "never-used")
    assert main(["validate", "defs"]) == 0
    assert connections == []
    assert not (example / ".titan-local").exists()
    assert "never-used" not in "".join(capsys.readouterr())


def test_invalid_definitions_exit_1_with_a_located_error(
    tmp_path: Path, connections: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.yaml").write_text("kind: task\nname: x\nshedule: '* * * * *'\n")
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr()
    assert f"{tmp_path / 't.yaml'}:3:" in err.out + err.err
    assert "Traceback" not in err.out + err.err
    assert connections == []


def test_version_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out
    assert main(["plan", "--no-such-option"]) == 1
    assert main(["no-such-command"]) == 1


def test_an_unreachable_service_is_one_line_and_exit_1(
    example: Path,
    monkeypatch: pytest.MonkeyPatch,
    connections: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("TITAN_TOKEN", "canary-5f0e")
    assert main(["plan", "defs"]) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "canary-5f0e" not in out + err
    assert len([line for line in err.splitlines() if line.strip()]) <= 2
    assert connections, "plan must have tried to reach the service"
    assert os.environ["TITAN_API_URL"] == "http://127.0.0.1:9"


def test_run_waits_exports_checks_and_executions_show_it(
    example: Path,
    monkeypatch: pytest.MonkeyPatch,
    connections: list[Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "local")
    assert main(["apply", "defs", "--auto-approve"]) == 0
    capsys.readouterr()
    task = "shop-product-extraction"
    export = ["--export", "out/results.json", "--check-schema"]
    assert main(["run", task, "--wait", "--interval", "0.05", *export]) == 0
    err = capsys.readouterr().err
    assert "Every exported record matches the task's output_schema." in err
    assert json.loads((example / "out" / "results.json").read_text(encoding="utf-8"))
    started = next(line for line in err.splitlines() if line.startswith("Started execution "))
    execution_id = started.split()[2]
    assert main(["executions", "get", execution_id, "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "completed"
    assert main(["executions", "list", "--task", task]) == 0
    assert execution_id in capsys.readouterr().out
    assert connections == []
