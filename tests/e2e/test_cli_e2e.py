"""The installed CLI as a subprocess against `emulator serve` on loopback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import REPO, TOKEN, Served, run_cli

pytestmark = pytest.mark.e2e
EXAMPLE = str(REPO / "tasks.example")


def no_secret(*outputs: str) -> None:
    for text in outputs:
        assert TOKEN not in text


def test_plan_apply_plan_converges(emulator: Served) -> None:
    first = run_cli("plan", EXAMPLE, "--detailed-exitcode", url=emulator.url)
    assert first.returncode == 2, first.stderr
    assert "to create" in first.stdout
    applied = run_cli("apply", EXAMPLE, "--auto-approve", url=emulator.url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Converged." in applied.stdout
    again = run_cli("plan", EXAMPLE, "--detailed-exitcode", url=emulator.url)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes. Live tasks match the definitions." in again.stdout
    drift = run_cli("drift", EXAMPLE, url=emulator.url)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    no_secret(first.stdout, first.stderr, applied.stdout, applied.stderr, again.stdout)


def test_apply_refuses_without_a_terminal_or_auto_approve(emulator: Served) -> None:
    result = run_cli("apply", EXAMPLE, url=emulator.url, stdin="yes\n")
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert "Traceback" not in result.stderr


def test_saved_plan_applies_then_a_stale_one_is_refused(emulator: Served, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    made = run_cli("plan", EXAMPLE, "--out", str(saved), url=emulator.url)
    assert made.returncode == 0, made.stderr
    stale = tmp_path / "stale.json"
    shutil.copy(saved, stale)
    applied = run_cli("apply", "--plan", str(saved), EXAMPLE, url=emulator.url)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    refused = run_cli("apply", "--plan", str(stale), EXAMPLE, url=emulator.url)
    assert refused.returncode == 1
    assert "stale" in refused.stderr
    assert "appeared in the plan's scope" in refused.stderr


def test_export_then_plan_is_empty_and_export_is_stable(emulator: Served, tmp_path: Path) -> None:
    assert run_cli("apply", EXAMPLE, "--auto-approve", url=emulator.url).returncode == 0
    out = tmp_path / "exported"
    first = run_cli("export", "--out", str(out), "--namespace", "shop-", url=emulator.url)
    assert first.returncode == 0, first.stderr
    snapshot = {p: p.read_bytes() for p in out.rglob("*.yaml")}
    assert len(snapshot) > 1
    plan = run_cli("plan", str(out), "--detailed-exitcode", url=emulator.url)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert (
        run_cli("export", "--out", str(out), "--namespace", "shop-", url=emulator.url).returncode
        == 0
    )
    assert {p: p.read_bytes() for p in out.rglob("*.yaml")} == snapshot


def test_drift_after_an_out_of_band_edit(emulator: Served) -> None:
    import httpx

    assert run_cli("apply", EXAMPLE, "--auto-approve", url=emulator.url).returncode == 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=emulator.url, headers=headers) as http:
        task = http.get("/api/v1/tasks", params={"limit": 100}).json()["data"][0]
        edited = http.patch(f"/api/v1/tasks/{task['id']}", json={"objective": "edited by hand"})
        assert edited.status_code == 200
    drift = run_cli("drift", EXAMPLE, "--output", "json", url=emulator.url)
    assert drift.returncode == 2, drift.stderr
    report = json.loads(drift.stdout)
    assert report["drift"] is True
    (change,) = [c for c in report["changes"] if c["action"] != "no-op"]
    assert change["name"] == task["name"]
    assert [f["path"] for f in change["fields"]] == ["objective"]


def test_errors_are_one_line_with_exit_1_and_no_token(emulator: Served) -> None:
    result = run_cli("plan", EXAMPLE, url=emulator.url, env={"TITAN_TOKEN": "wrong-" + TOKEN})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "401" in result.stderr
    no_secret(result.stdout, result.stderr)


def test_ci_without_a_target_refuses(tmp_path: Path) -> None:
    result = run_cli("plan", EXAMPLE, url=None, env={"CI": "true"}, cwd=tmp_path)
    assert result.returncode == 1
    assert "TITAN_API_URL" in result.stderr


def test_embedded_emulator_is_the_default_outside_ci(tmp_path: Path) -> None:
    result = run_cli("plan", EXAMPLE, "--detailed-exitcode", url=None, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "embedded local emulator" in result.stderr
    assert (tmp_path / ".titan-local").is_dir()
