"""A secret in every form it can take, through every output and every error path, never shows.

The canary value holds what each medium escapes differently (quotes, a backslash, `<>&`, a pipe,
a mention, non-ASCII, spaces); it is placed where each output would carry it — a definition, the
live task the service returns, the service's own error messages — and every output is scanned for
every form by an independent scanner (`tests.reliability.test_secrets.count_hits`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.test_secrets import REPO

pytestmark = pytest.mark.attack


def run_validate(root: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env.update(environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "titan_gitops", "validate", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_value_too_short_to_mask_gets_a_warning_naming_the_variable_and_each_use(
    tmp_path: Path,
) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "titan-gitops.yaml").write_text("namespace: ns-\n", encoding="utf-8")
    (tmp_path / "tasks" / "shop.yaml").write_text(
        "kind: task\nname: ns-shop\n"
        "urls: ['https://shop.example/?pin=${TITAN_VAR_PIN}']\n"
        "objective: Log in with ${TITAN_VAR_PIN} and ${TITAN_VAR_LONG_ENOUGH}.\n"
        "output_schema: {type: object}\nexecution_type: single\n",
        encoding="utf-8",
    )
    done = run_validate(tmp_path, {"TITAN_VAR_PIN": "481", "TITAN_VAR_LONG_ENOUGH": "fine-value"})
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "TITAN_VAR_PIN" in line]
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith(f"{tmp_path / 'tasks' / 'shop.yaml'}:3:"), lines
    assert ": urls[0]: " in lines[0]
    assert lines[1].startswith(f"{tmp_path / 'tasks' / 'shop.yaml'}:4:"), lines
    assert ": objective: " in lines[1]
    assert all("cannot be masked" in line and "481" not in line for line in lines)
    assert "TITAN_VAR_LONG_ENOUGH" not in done.stderr
    assert "valid" in done.stdout
