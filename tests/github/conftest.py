"""Fixtures for the Action's tests: a fake GitHub, the emulator on loopback, and a runner.

`run_action` starts `python -m titan_gitops.github` exactly as action.yml does: inputs as TG_*
variables, GitHub's context as GITHUB_* variables, an event payload file, and the output and
summary files the runner provides.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .fake_github import FakeGitHub, start_fake_github

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tgcanary-5f0e1d2c3b4a-titan"
GITHUB_TOKEN = "ghs_fakeGitHubToken0123456789"
SECRET_VALUE = "acct-canary-77aa31"
DIRECTORY = "teams/shop"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(token=GITHUB_TOKEN)
    server = start_fake_github(fake)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def titan_url() -> Iterator[str]:
    from testing.emulator import start_background_server
    from titan_gitops.emulator import EmulatorConfig, create_app

    server, url = start_background_server(create_app(EmulatorConfig(tokens={TOKEN: None})))
    try:
        yield url
    finally:
        server.shutdown()


def write_task(
    root: Path, name: str, *, objective: str = "Extract product names.", **extra: Any
) -> None:
    """One task definition file in the format users write."""
    lines = [
        "kind: task",
        f"name: {name}",
        "urls:",
        "  - https://shop.example/products",
        f"objective: {json.dumps(objective)}",
        "output_schema:",
        "  type: object",
        "  properties:",
        "    name: {type: string}",
        "execution_type: single",
    ]
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "tasks" / f"{name}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checked-out repository with one team directory of two tasks (namespace `shop-`)."""
    root = tmp_path / "work" / DIRECTORY
    root.mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    write_task(root, "shop-prices")
    write_task(root, "shop-stock", objective="Extract stock levels.")
    return tmp_path / "work"


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str


def parse_outputs(text: str) -> dict[str, str]:
    """Read a $GITHUB_OUTPUT file (heredoc and name=value forms)."""
    outputs: dict[str, str] = {}
    # Split on LF only, as the runner does: other line separators are part of a value.
    lines = iter(text.split("\n"))
    for line in lines:
        if "<<" in line:
            name, mark = line.split("<<", 1)
            value: list[str] = []
            for inner in lines:
                if inner == mark:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def pull_request_event(
    number: int = 7, *, fork: bool = False, head_sha: str = "a" * 40
) -> dict[str, Any]:
    base = {"repo": {"full_name": "acme/tasks"}, "ref": "main"}
    head = {"repo": {"full_name": "mallory/tasks" if fork else "acme/tasks"}, "sha": head_sha}
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {"number": number, "head": head, "base": base},
        "repository": {"full_name": "acme/tasks", "default_branch": "main"},
    }


def push_event(sha: str, ref: str = "refs/heads/main") -> dict[str, Any]:
    return {
        "ref": ref,
        "after": sha,
        "repository": {"full_name": "acme/tasks", "default_branch": "main"},
    }


def run_action(
    workspace: Path,
    *,
    command: str,
    event_name: str,
    event: dict[str, Any],
    github: FakeGitHub | None,
    titan_url: str | None,
    sha: str = "a" * 40,
    ref: str = "refs/pull/7/merge",
    inputs: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> ActionRun:
    """Run the Action's entry point as a subprocess, as action.yml does."""
    runner = workspace.parent / "runner"
    runner.mkdir(exist_ok=True)
    event_path = runner / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    output_path = runner / "output.txt"
    summary_path = runner / "summary.md"
    output_path.write_text("", encoding="utf-8")
    summary_path.write_text("", encoding="utf-8")
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(runner)),
        "PYTHONPATH": str(REPO),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_OUTPUT": str(output_path),
        "GITHUB_STEP_SUMMARY": str(summary_path),
        "GITHUB_REPOSITORY": "acme/tasks",
        "GITHUB_REF": ref,
        "GITHUB_SHA": sha,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_API_URL": github.base_url if github else "http://127.0.0.1:9",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner),
        "TG_COMMAND": command,
        "TG_DIRECTORY": DIRECTORY,
        "TG_API_URL": titan_url or "",
        "TG_TOKEN": TOKEN,
        "TG_GITHUB_TOKEN": GITHUB_TOKEN,
        "TG_PARALLELISM": "4",
        "TG_COMMENT": "true",
        "TG_ALLOW_DELETES": "",
        "TG_ALLOW_UNREVIEWED": "false",
        "TG_FAIL_ON_DRIFT": "true",
    }
    environ.update(inputs or {})
    environ.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "titan_gitops.github"],
        cwd=workspace,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return ActionRun(
        returncode=result.returncode,
        stdout=result.stdout,
        stderr=result.stderr,
        outputs=parse_outputs(output_path.read_text(encoding="utf-8")),
        summary=summary_path.read_text(encoding="utf-8"),
    )
