"""Every mistake a user makes is one line naming the flag, path or host and what to do."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.terminal import Terminal
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
        # Every flag has a sane maximum: a week of execution, a billion requests or previews.
        (["--execution-seconds", "1e308"], "--execution-seconds"),
        (["--execution-seconds", "604801"], "--execution-seconds"),
        (["--rate-limit", "1000000001"], "--rate-limit"),
        (["--preview-quota", "1000000001"], "--preview-quota"),
        (["--fault-seed", "-1"], "--fault-seed"),
        (["--fault-seed", str(2**64)], "--fault-seed"),
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


# --- output paths: checked before any network call or execution, written whole or not at all ---


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("somedir", "error: cannot write somedir: it is a folder; give a file name"),
        ("/proc/x", "error: cannot write /proc/x: no new file can be created in /proc"),
        ("afile/plan.json", "error: cannot write afile/plan.json: afile is not a folder"),
    ],
)
def test_plan_out_that_cannot_be_written_fails_before_reading_the_service(
    out: str, message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "somedir").mkdir()
    (workdir / "afile").write_text("x")
    assert main(["plan", "defs", "--out", out]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [message], err
    assert not (workdir / ".titan-local").exists(), "the service was opened first"
    assert temporaries(workdir) == []


def test_export_out_that_names_a_file_fails_before_reading_the_service(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "some").mkdir()
    (workdir / "some" / "file.yaml").write_text("kind: task\n")
    assert main(["export", "--out", "some/file.yaml"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [
        "error: cannot export into some/file.yaml: it is not a folder; give a folder"
    ], err
    assert not (workdir / ".titan-local").exists()
    assert (workdir / "some" / "file.yaml").read_text() == "kind: task\n"


def test_export_out_that_looks_like_a_file_name_is_refused_not_made_a_folder(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--out", "some/new.yaml"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [
        "error: export --out takes a folder, and some/new.yaml looks like a file name: "
        "give a folder (it is created)"
    ], err
    assert not (workdir / "some").exists()


def test_export_out_below_a_file_fails_before_reading_the_service(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "afile").write_text("x")
    assert main(["export", "--out", "afile/exported"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == ["error: cannot write to afile/exported: afile is not a folder"]
    assert not (workdir / ".titan-local").exists()


def executions_held(capsys: pytest.CaptureFixture[str]) -> list[object]:
    import json

    capsys.readouterr()
    assert main(["executions", "list", "--output", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert isinstance(found, list)
    return found


@pytest.mark.parametrize(
    ("flag", "out", "message"),
    [
        ("--csv", "somedir", "error: cannot write somedir: it is a folder; give a file name"),
        ("--export", "somedir", "error: cannot write somedir: it is a folder; give a file name"),
        (
            "--csv",
            "/proc/x.csv",
            "error: cannot write /proc/x.csv: no new file can be created in /proc",
        ),
    ],
)
def test_run_with_an_output_that_cannot_be_written_starts_no_execution(
    flag: str, out: str, message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "somedir").mkdir()
    assert main(["apply", "defs", "--auto-approve"]) == 0
    assert executions_held(capsys) == []
    assert main(["run", "shop-product-extraction", flag, out]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [message], err
    assert "Started execution" not in err
    assert executions_held(capsys) == []
    assert temporaries(workdir) == []


# --- the target ---------------------------------------------------------------------------------


def test_titan_api_url_local_is_named_as_the_choice_it_is(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "defs"]) == 0
    err = capsys.readouterr().err
    assert "TITAN_API_URL=local chooses it" in err, err
    assert "no TITAN_API_URL set" not in err.lower()


def test_no_titan_api_url_says_so(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TITAN_API_URL")
    assert main(["plan", "defs"]) == 0
    assert "No TITAN_API_URL is set" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["plan", "defs"], ["executions", "list"], ["run", "x"]])
def test_an_unknown_auth_header_is_refused_naming_the_accepted_values(
    command: list[str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TITAN_AUTH_HEADER", "bogus")
    assert main(command) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [
        "error: TITAN_AUTH_HEADER must be 'bearer' (Authorization: Bearer) or "
        "'x-api-key' (X-API-Key), got 'bogus'"
    ], err
    assert not (workdir / ".titan-local").exists()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("file", "cannot write to {state}: it exists and is not a folder"),
        ("db-folder", "cannot open the embedded emulator's state {state}/emulator.sqlite3: "),
        ("db-garbage", "cannot open the embedded emulator's state {state}/emulator.sqlite3: "),
    ],
)
def test_a_broken_local_state_is_one_line_naming_it(
    setup: str, message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = workdir / ".titan-local"
    if setup == "file":
        state.write_text("x")
    else:
        state.mkdir()
        if setup == "db-folder":
            (state / "emulator.sqlite3").mkdir()
        else:
            (state / "emulator.sqlite3").write_text("not a database, just words " * 100)
    assert main(["plan", "defs"]) == 1
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1
    assert errors[0].startswith("error: " + message.format(state=state)), errors


# --- what the service said: which header, which host, which scope -----------------------------


@pytest.fixture
def served(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The emulator on loopback accepting the token `good-token` only; refuses creates of
    managed tasks with 403 while `refuse_creates` is set (the lease's own create passes)."""
    from testing.emulator import start_background_server
    from titan_gitops.emulator import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(db_path=":memory:", tokens={"good-token": None}))
    state = Served(url="", creates=[], refuse_creates=False)

    def wrapper(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/api/v1/tasks":
            body = environ["wsgi.input"].read()
            environ["wsgi.input"] = io.BytesIO(body)
            name = str(json.loads(body).get("name", ""))
            if not name.startswith(".titan-gitops-lease/"):
                state.creates.append(name)
                if state.refuse_creates:
                    state.before_refusing()
                    start_response("403 Forbidden", [("Content-Type", "application/json")])
                    return [FORBIDDEN]
        return app(environ, start_response)

    server, state.url = start_background_server(wrapper)
    monkeypatch.setenv("TITAN_API_URL", state.url)
    monkeypatch.setenv("TITAN_TOKEN", "good-token")
    try:
        yield state
    finally:
        server.shutdown()


@dataclass
class Served:
    url: str
    creates: list[str]
    refuse_creates: bool
    before_refusing: Callable[[], object] = lambda: None


FORBIDDEN = (
    b'{"success": false, "error": {"code": "FORBIDDEN", '
    b'"message": "token lacks the \'tasks:write\' scope"}}'
)


@pytest.mark.parametrize(
    ("header", "sent"),
    [(None, "Authorization: Bearer"), ("x-api-key", "X-API-Key")],
)
def test_a_401_names_the_header_sent_and_suggests_titan_token(
    header: str | None,
    sent: str,
    served: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TITAN_TOKEN", "wrong-token-77")
    if header:
        monkeypatch.setenv("TITAN_AUTH_HEADER", header)
    assert main(["plan", "defs"]) == 1
    out, err = capsys.readouterr()
    (line,) = error_lines(err)
    assert "HTTP 401" in line
    assert f"the token was sent as {sent}: check TITAN_TOKEN" in line, line
    assert "wrong-token-77" not in out + err


def test_a_connect_error_names_the_host_and_the_cause(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("TITAN_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("TITAN_TOKEN", "good-token")
    assert main(["plan", "defs"]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert f"could not connect to 127.0.0.1:{port}: connection refused" in line, line


def test_a_403_stops_the_apply_at_once_and_names_the_scope_once(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    served.refuse_creates = True
    assert main(["apply", "defs", "--auto-approve", "--parallelism", "1"]) == 1
    out, err = capsys.readouterr()
    assert len(served.creates) == 1, served.creates
    # The report (stdout) and the progress lines (stderr) each tell the reason once.
    for stream in (out, err):
        assert stream.count("token lacks the 'tasks:write' scope; use a token that has it") == 1
        assert stream.count("not attempted: the service refused the token") == 5, stream
    assert "Traceback" not in out + err


def test_two_changes_refused_together_tell_the_reason_once(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    both_in_flight = threading.Barrier(2, timeout=10)
    served.refuse_creates = True
    served.before_refusing = both_in_flight.wait
    assert main(["apply", "defs", "--auto-approve", "--parallelism", "2"]) == 1
    out = capsys.readouterr().out
    assert len(served.creates) == 2, served.creates
    assert out.count("token lacks the 'tasks:write' scope") == 1, out
    assert out.count(": refused as well (HTTP 403)") == 1, out
    assert out.count("not attempted: the service refused the token") == 4, out


def test_a_refusal_leaves_the_later_steps_not_attempted(
    served: Served, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "defs", "--auto-approve"]) == 0
    tasks = workdir / "defs" / "tasks"
    (tasks / "shipping-quote.yaml").unlink()
    search = tasks / "competitor-search.yaml"
    search.write_text(search.read_text().replace("max_results: 20", "max_results: 30"))
    (tasks / "extra.yaml").write_text(
        search.read_text().replace("shop-competitor-search", "shop-extra")
    )
    served.refuse_creates = True
    capsys.readouterr()
    assert main(["apply", "defs", "--auto-approve"]) == 1
    out = capsys.readouterr().out
    refused = "not attempted: the service refused the token on an earlier change"
    assert "FAILED create shop-extra: POST /api/v1/tasks HTTP 403" in out, out
    assert f"skipped update shop-competitor-search: {refused}" in out, out
    assert f"skipped delete shop-shipping-quote: {refused}" in out, out
    assert main(["plan", "defs", "--detailed-exitcode"]) == 2  # nothing else moved


# --- the delete guard names where its limit comes from, and counts a long list ----------------


def add_tasks(defs: Path, count: int) -> None:
    search = (defs / "tasks" / "competitor-search.yaml").read_text()
    for index in range(count):
        name = f"shop-extra-{index:02d}"
        text = search.replace("shop-competitor-search", name)
        (defs / "tasks" / f"{name}.yaml").write_text(text)


def remove_extra_tasks(defs: Path) -> None:
    for path in (defs / "tasks").glob("shop-extra-*.yaml"):
        path.unlink()


@pytest.mark.parametrize(
    ("project_limit", "argv", "source"),
    [
        ("max_deletes: 3", [], "(max_deletes: 3 in defs/titan-gitops.yaml)"),
        ("max_deletes: 3", ["--allow-deletes", "2"], "(--allow-deletes 2)"),
        ("", [], "(the default; set max_deletes in defs/titan-gitops.yaml to change it)"),
    ],
)
def test_the_delete_guard_names_the_real_source_of_its_limit(
    project_limit: str,
    argv: list[str],
    source: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    defs = workdir / "defs"
    project = defs / "titan-gitops.yaml"
    project.write_text(project.read_text().replace("max_deletes: 5", project_limit))
    add_tasks(defs, 15)
    assert main(["apply", "defs", "--auto-approve"]) == 0
    remove_extra_tasks(defs)
    capsys.readouterr()
    assert main(["plan", "defs", *argv]) == 1
    err = capsys.readouterr().err
    assert "the plan deletes 15 tasks, more than the " in err
    assert f" allowed {source}; pass --allow-deletes 15 to allow it: " in err, err
    names = ", ".join(f"shop-extra-{i:02d}" for i in range(10))
    assert f"allow it: {names} and 5 more (15 in all)" in err, err


# --- filters that match nothing warn --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "warning"),
    [
        (["plan", "defs", "--only", "nomatch"], "--only 'nomatch' matches no task name"),
        (["plan", "defs", "--exclude", "shop-x*"], "--exclude 'shop-x*' matches no task name"),
        (
            ["apply", "defs", "--only", "shop-nope", "--auto-approve"],
            "--only 'shop-nope' matches no task name",
        ),
    ],
)
def test_a_filter_that_matches_nothing_warns(
    argv: list[str], warning: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert f"Warning: {warning}, defined or live" in out, out
    assert "error" not in err.lower()


def test_a_filter_matching_only_a_live_name_does_not_warn(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "defs", "--auto-approve"]) == 0
    (workdir / "defs" / "tasks" / "shipping-quote.yaml").unlink()
    capsys.readouterr()
    assert main(["plan", "defs", "--only", "shop-shipping-*", "--exclude", "shop-price-*"]) == 0
    assert "matches no task name" not in capsys.readouterr().out


def test_export_only_that_matches_no_live_task_warns(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "defs", "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["export", "--out", "exported", "--only", "nomatch", "--only", "shop-price-*"]) == 0
    err = capsys.readouterr().err
    assert "warning: --only 'nomatch' matches no live task name" in err, err
    assert "shop-price-*" not in err


# --- apply DIR --plan FILE: DIR is the root the saved plan is re-derived from, said aloud ------


def test_apply_plan_from_another_dir_says_so_and_applies_only_what_was_saved(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    assert main(["plan", "defs", "--out", "saved.json"]) == 0
    shutil.copytree(workdir / "defs", workdir / "copy")
    capsys.readouterr()
    assert main(["apply", "copy", "--plan", "saved.json"]) == 0
    err = capsys.readouterr().err
    assert (
        "warning: the plan was made from 'defs', not 'copy'; it is re-derived from DIR, "
        "and only changes identical to the saved ones apply"
    ) in err, err
    assert main(["plan", "defs", "--detailed-exitcode"]) == 0


def test_apply_plan_from_another_dir_that_differs_is_refused_as_stale(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    assert main(["plan", "defs", "--out", "saved.json"]) == 0
    shutil.copytree(workdir / "defs", workdir / "copy")
    (workdir / "copy" / "tasks" / "shipping-quote.yaml").unlink()
    capsys.readouterr()
    assert main(["apply", "copy", "--plan", "saved.json"]) == 1
    err = capsys.readouterr().err
    assert "that the definitions in copy and the live tasks do not call for now" in err, err
    assert "nothing was applied" in err
    assert main(["plan", "defs", "--detailed-exitcode"]) == 2  # nothing was applied


def test_apply_plan_with_its_own_dir_does_not_warn(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "defs", "--out", "saved.json"]) == 0
    capsys.readouterr()
    assert main(["apply", "defs/", "--plan", "saved.json"]) == 0
    assert "warning" not in capsys.readouterr().err


# --- colour: NO_COLOR, --no-color and TERM=dumb each turn it off, on every command that has it --


def run_on_terminal(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    """`main(argv)` with standard output on a pseudo-terminal; what the terminal received."""
    import sys

    terminal = Terminal()
    with terminal.writer() as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        main(argv)
        stdout.flush()
        monkeypatch.undo()
    return terminal.received()


@pytest.mark.parametrize("command", [["plan", "defs"], ["drift", "defs"], ["apply", "defs"]])
@pytest.mark.parametrize("way", ["NO_COLOR", "--no-color", "TERM=dumb", "colour"])
def test_colour_is_off_with_no_color_the_flag_or_a_dumb_terminal(
    command: list[str], way: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    (workdir / "defs" / "tasks" / "extra.yaml").write_text(
        (workdir / "defs" / "tasks" / "competitor-search.yaml")
        .read_text()
        .replace("shop-competitor-search", "shop-extra")
    )
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    # Not a terminal: apply stops after showing the plan, asking nobody.
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    argv = list(command)
    if way == "--no-color":
        argv.append("--no-color")
    elif way != "colour":
        name, value = way.split("=") if "=" in way else (way, "1")
        monkeypatch.setenv(name, value)
    shown = run_on_terminal(argv, monkeypatch)
    assert "shop-extra" in shown, shown
    assert ("\x1b[" in shown) is (way == "colour"), shown


def test_plan_out_onto_a_fifo_is_refused_and_the_fifo_kept(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import stat

    os.mkfifo(workdir / "pipe")
    assert main(["plan", "defs", "--out", "pipe"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [
        "error: cannot write pipe: it is not a regular file (a device, pipe or socket); "
        "give a file name"
    ], err
    assert stat.S_ISFIFO(os.lstat(workdir / "pipe").st_mode)
    assert not (workdir / ".titan-local").exists()


def test_a_bad_api_url_flag_is_named_as_the_flag(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "defs", "--api-url", "ftp://x.example", "--token", "t"]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith("error: --api-url must be an http(s) origin"), line


def test_an_empty_execution_id_says_where_ids_come_from(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["executions", "get", " "]) == 1
    assert error_lines(capsys.readouterr().err) == [
        "error: executions get: ID is empty; give an execution id "
        "('titan-gitops executions list' shows them)"
    ]
    assert not (workdir / ".titan-local").exists()
