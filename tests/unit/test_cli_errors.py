"""Every mistake a user makes is one line naming the flag, path or host and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.cli import main


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--port", "99999"], "--port"),
        (["--port", "-1"], "--port"),
        (["--port", "http"], "--port"),
        (["--execution-seconds", "nan"], "--execution-seconds"),
        (["--execution-seconds", "inf"], "--execution-seconds"),
        (["--execution-seconds", "-1"], "--execution-seconds"),
        (["--rate-limit", "0"], "--rate-limit"),
        (["--fault-seed", "1.5"], "--fault-seed"),
    ],
)
def test_emulator_serve_refuses_an_out_of_range_value_naming_its_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "serve", *argv]) == 1
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err, err
    assert "Traceback" not in err
    assert "listening" not in err


def test_emulator_serve_on_a_port_in_use_names_the_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["emulator", "serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in err, err


def test_emulator_serve_with_a_folder_as_its_database_names_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulator", "serve", "--port", "0", "--db", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path) in err, err
    assert "Traceback" not in err
