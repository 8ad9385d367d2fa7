"""Flag values a command cannot use are refused before anything is read, started or written:
one line naming the flag, exit 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from titan_gitops.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"


def executions_held(capsys: pytest.CaptureFixture[str]) -> list[object]:
    capsys.readouterr()
    assert main(["executions", "list", "--output", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert isinstance(found, list)
    return found


def refused(err: str, flag: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].endswith(f"error: argument {flag}: an empty path: give a name"), err
    assert "Traceback" not in err


# --- empty output paths -------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--csv", "--export", "--media", "--secret-payload"])
def test_run_with_an_empty_path_starts_no_execution(
    flag: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "defs", "--auto-approve"]) == 0
    assert executions_held(capsys) == []
    assert main(["run", "shop-product-extraction", flag, ""]) == 1
    err = capsys.readouterr().err
    refused(err, flag)
    assert "Started execution" not in err
    assert executions_held(capsys) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "defs", "--out", ""],
        ["export", "--out", ""],
        ["selftest", "--record", ""],
        ["apply", "--plan", ""],
    ],
)
def test_an_empty_path_is_refused_before_the_service_is_read(
    argv: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in workdir.iterdir())
    assert main(argv) == 1
    refused(capsys.readouterr().err, argv[-2])
    assert sorted(p.name for p in workdir.iterdir()) == before  # no state, nothing written


# --- malformed API URLs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("http://[::1", "an unclosed [ in the host"),
        ("http://[zz]:80", "[zz] is not an IPv6 address"),
        ("http://127.0.0.1:abc", "port 'abc' is not a number"),
        ("http://127.0.0.1:99999", "port 99999 is not 1 to 65535"),
        ("http://127.0.0.1:0", "port 0 is not 1 to 65535"),
        ("http://exa mple.com", "the host holds a space or control character"),
    ],
)
def test_a_malformed_api_url_flag_is_one_line_naming_the_flag(
    url: str, cause: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "defs", "--api-url", url, "--token", "t"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: --api-url {url!r} is not a usable URL: {cause}"], err


def test_a_malformed_titan_api_url_is_named_as_the_variable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TITAN_API_URL", "http://[::1")
    monkeypatch.setenv("TITAN_TOKEN", "t")
    assert main(["plan", "defs"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: TITAN_API_URL 'http://[::1' is not a usable URL: an unclosed [ in the host"
    ], err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://me:hunter2@[::1/x", "must not carry credentials (it holds '@'); use TITAN_TOKEN"),
        # A `/` in the password: no parser sees credentials here, only a port "hunter2".
        (
            "https://admin:hunter2/xyz@titan.example.com/",
            "must not carry credentials (it holds '@'); use TITAN_TOKEN",
        ),
        ("https://titan.example.com:0/?token=hunter2", "must not carry a query string or fragment"),
        ("https://titan.example.com:abc/#hunter2", "must not carry a query string or fragment"),
    ],
)
def test_a_malformed_api_url_never_shows_the_credentials_or_query_it_carries(
    url: str,
    message: str,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "defs", "--api-url", url, "--token", "t"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: --api-url {message}"], err
    monkeypatch.setenv("TITAN_API_URL", url)
    monkeypatch.setenv("TITAN_TOKEN", "t")
    assert main(["plan", "defs"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: TITAN_API_URL {message}"], err
    assert "hunter2" not in err


# --- emulator serve: an unknown host is named (the flags' maxima are in test_cli_errors.py) -----


def test_emulator_serve_names_a_host_it_cannot_resolve(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["emulator", "serve", "--port", "0", "--host", "nonexistent.invalid"]) == 1
    err = capsys.readouterr().err
    assert "cannot resolve --host nonexistent.invalid" in err, err
    assert "--public" not in err


def test_the_longest_execution_serve_accepts_still_runs_and_lists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from testing.emulator import spawn_server

    process, url, _ = spawn_server("--token", "t0k", "--execution-seconds", "604800")
    try:
        environ = {"TITAN_API_URL": url, "TITAN_TOKEN": "t0k"}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in environ.items():
                patch.setenv(name, value)
            shutil.copytree(EXAMPLE, tmp_path / "defs")
            assert main(["apply", str(tmp_path / "defs"), "--auto-approve"]) == 0
            assert main(["run", "shop-product-extraction"]) == 0
            capsys.readouterr()
            assert main(["executions", "list", "--output", "json"]) == 0
            (execution,) = json.loads(capsys.readouterr().out)
            assert execution["status"] in ("queued", "running")
    finally:
        process.terminate()
        process.communicate(timeout=10)
