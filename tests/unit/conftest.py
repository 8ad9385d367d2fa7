"""Fixtures shared by the unit tests that run the CLI on the example definitions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of tasks.example as `defs` under a fresh working directory, the embedded target."""
    shutil.copytree(EXAMPLE, tmp_path / "defs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TITAN_API_URL", "local")
    return tmp_path
