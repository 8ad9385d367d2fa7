"""`--base REV` through the installed CLI: a real git repository, the emulator on loopback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import REPO, TOKEN, Served, run_cli

pytestmark = pytest.mark.e2e
EXAMPLE = REPO / "tasks.example"
EDITED = "shop-price-monitor"
CHANGED = "shop-product-images"


def git(repo: Path, *args: str) -> str:
    environ = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": "2026-11-20T10:00:00+00:00",
        "GIT_COMMITTER_DATE": "2026-11-20T10:00:00+00:00",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=environ, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """tasks.example committed as `defs` (the base), in a fresh repository."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    shutil.copytree(EXAMPLE, root / "defs")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the base")
    return root


def edit_live(url: str, name: str, fields: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers) as http:
        tasks = http.get("/api/v1/tasks", params={"limit": 100}).json()["data"]
        (task,) = [t for t in tasks if t["name"] == name]
        assert http.patch(f"/api/v1/tasks/{task['id']}", json=fields).status_code == 200


def live_objective(url: str, name: str) -> str:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers) as http:
        tasks = http.get("/api/v1/tasks", params={"limit": 100}).json()["data"]
    return str(next(t["objective"] for t in tasks if t["name"] == name))


def change_in_git(repo: Path, name: str, objective: str) -> None:
    path = repo / "defs" / "tasks" / f"{name.removeprefix('shop-')}.yaml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^objective:.*(\n  .*)*", f"objective: {objective}", text, count=1)
    path.write_text(text, encoding="utf-8")
    git(repo, "commit", "-qam", f"change {name}")


def cli(repo: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, url=url, cwd=repo)


def test_a_live_edit_is_told_from_a_merge_and_apply_will_not_revert_it(
    emulator: Served, repo: Path
) -> None:
    url = emulator.url
    assert cli(repo, url, "apply", "defs", "--auto-approve").returncode == 0
    base = git(repo, "rev-parse", "HEAD")
    edit_live(url, EDITED, {"objective": "fixed in the console"})
    change_in_git(repo, CHANGED, "Collect every product image, merged not applied")

    drift = cli(repo, url, "drift", "defs", "--base", base[:12], "--output", "json")
    assert drift.returncode == 2, drift.stderr
    report = json.loads(drift.stdout)
    tasks = {t["name"]: t for t in report["attribution"]["tasks"]}
    assert tasks[EDITED]["attribution"] == "live_edit"
    assert [f["field"] for f in tasks[EDITED]["fields"]] == ["objective"]
    assert tasks[EDITED]["fields"][0]["live"] == "fixed in the console"
    assert tasks[CHANGED]["attribution"] == "pending"
    assert tasks[CHANGED]["commit"]["author"] == "Ada"
    assert report["base"]["sha"] == base

    plan = cli(repo, url, "plan", "defs", "--base", base)
    assert plan.returncode == 0, plan.stderr
    assert "! reverts a live edit: objective was changed in Titan at 20" in plan.stdout

    refused = cli(repo, url, "apply", "defs", "--base", base, "--auto-approve")
    assert refused.returncode == 1
    assert "would throw away edits made in Titan" in refused.stderr
    assert EDITED in refused.stderr
    assert "--overwrite-live-edits" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert live_objective(url, EDITED) == "fixed in the console"

    forced = cli(
        repo, url, "apply", "defs", "--base", base, "--auto-approve", "--overwrite-live-edits"
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert live_objective(url, EDITED) != "fixed in the console"
    for result in (drift, plan, refused, forced):
        assert TOKEN not in result.stdout + result.stderr


def test_merges_not_yet_applied_alone_are_not_drift_unless_asked(
    emulator: Served, repo: Path
) -> None:
    url = emulator.url
    assert cli(repo, url, "apply", "defs", "--auto-approve").returncode == 0
    base = git(repo, "rev-parse", "HEAD")
    change_in_git(repo, CHANGED, "Collect every product image, merged not applied")
    pending = cli(repo, url, "drift", "defs", "--base", base)
    assert pending.returncode == 0, pending.stdout + pending.stderr
    assert "pending" in pending.stdout
    two_way = cli(repo, url, "drift", "defs")
    assert two_way.returncode == 2
    strict = cli(repo, url, "drift", "defs", "--base", base, "--fail-on-pending")
    assert strict.returncode == 2
    applied = cli(repo, url, "apply", "defs", "--base", base, "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr


@pytest.mark.parametrize(
    ("rev", "said"),
    [
        ("no-such-branch", "no such commit"),
        ("--output=/tmp/x", "is not a git revision"),
    ],
)
def test_a_base_git_cannot_read_is_one_line_and_exit_1(
    emulator: Served, repo: Path, rev: str, said: str
) -> None:
    result = cli(repo, emulator.url, "plan", "defs", f"--base={rev}")
    assert result.returncode == 1
    assert said in result.stderr
    assert "Traceback" not in result.stderr
