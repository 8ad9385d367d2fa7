"""Argument values are checked before anything runs: a bad count or duration names its flag."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from titan_gitops.cli import main
from titan_gitops.commands.common import use_colour


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["apply", "defs", "--parallelism", "0"], "--parallelism"),
        (["apply", "defs", "--parallelism", "-1"], "--parallelism"),
        (["apply", "defs", "--parallelism", "two"], "--parallelism"),
        (["plan", "defs", "--allow-deletes", "-3"], "--allow-deletes"),
        (["run", "shop-a", "--timeout", "-3"], "--timeout"),
        (["run", "shop-a", "--timeout", "0"], "--timeout"),
        (["run", "shop-a", "--timeout", "nan"], "--timeout"),
        (["run", "shop-a", "--timeout", "inf"], "--timeout"),
        (["run", "shop-a", "--interval", "-1"], "--interval"),
    ],
)
def test_a_count_or_duration_out_of_range_is_a_usage_error_naming_its_flag(
    argv: list[str],
    flag: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "defs").mkdir()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err
    assert "Traceback" not in err


def test_a_refused_number_is_shown_as_the_number_read_not_the_raw_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    # float() accepts surrounding whitespace, a newline included; the message must not carry it.
    assert main(["run", "shop-a", "--timeout", " -1\n"]) == 1
    assert "argument --timeout: -1 is not a number of seconds above zero" in capsys.readouterr().err


def test_the_smallest_allowed_values_pass_the_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # --allow-deletes 0 and --parallelism 1 are meaningful; the run then stops on the missing DIR.
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "missing-dir", "--allow-deletes", "0"]) == 1
    assert main(["apply", "missing-dir", "--parallelism", "1", "--auto-approve"]) == 1
    assert "argument" not in capsys.readouterr().err


@pytest.fixture
def terminal() -> Iterator[TextIO]:
    """A pseudo-terminal to stand in for standard output."""
    leader, follower = os.openpty()
    with os.fdopen(follower, "w") as stream:
        yield stream
    os.close(leader)


@pytest.mark.parametrize(
    ("environ", "flag", "expected"),
    [
        ({}, False, True),
        ({"TERM": "dumb"}, False, False),
        ({"NO_COLOR": "1"}, False, False),
        ({}, True, False),
    ],
)
def test_a_terminal_gets_colour_unless_dumb_no_color_or_the_flag(
    environ: dict[str, str],
    flag: bool,
    expected: bool,
    terminal: TextIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Set here, not in the fixture: output capturing puts its own stream back between phases.
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert use_colour(flag) is expected
