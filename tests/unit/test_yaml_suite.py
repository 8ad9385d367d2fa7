"""Every case of the official YAML test suite, read as a definition file, ends cleanly.

Each ends in loaded data or located problems: never another exception, a crash or a hang.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import load_yaml_file
from titan_gitops.pipeline import validate_directory

# The in.yaml inputs of the official YAML test suite (MIT; see its LICENSE there).
SUITE = Path(__file__).resolve().parents[1] / "data" / "yaml-test-suite"
CASES = sorted(SUITE.rglob("in.yaml")) if SUITE.is_dir() else []


def test_the_suite_is_present() -> None:
    assert len(CASES) > 300, f"expected the YAML test suite under {SUITE}"


@pytest.mark.parametrize("source", CASES, ids=[str(c.parent.relative_to(SUITE)) for c in CASES])
def test_a_suite_case_loads_or_fails_with_located_problems(tmp_path: Path, source: Path) -> None:
    root = tmp_path / "defs"
    root.mkdir()
    target = root / "in.yaml"
    shutil.copyfile(source, target)
    _documents, problems = load_yaml_file(target, str(target))
    for problem in problems:
        assert problem.path == str(target)
        assert problem.line >= 1
        assert problem.col >= 1
    for problem in _problems_of(root):
        assert problem.line >= 1
        assert problem.col >= 1
        assert problem.path.startswith(str(root))


def _problems_of(root: Path) -> list[Problem]:
    """The problems of a directory: none when it is valid; any other exception fails the test."""
    try:
        validate_directory(root, environ={})
    except ValidationFailed as failed:
        return failed.problems or [Problem("", 0, 0, "", "ValidationFailed without problems")]
    return []
