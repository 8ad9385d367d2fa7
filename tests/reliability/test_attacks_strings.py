"""Hostile strings from the live service or a definition never reach a terminal, log or command raw.

Live tasks whose names hold newlines followed by workflow commands, terminal escape sequences (OSC
title, screen clear, C1 CSI), a right-to-left override and a spoofed "No changes." line are
created through the emulator's API; the real CLI (`plan`, `drift`, `apply`, `run`, `export`) and
the Action's plan and drift steps run against them in subprocesses. Their stdout, stderr, job log,
annotations and Markdown must hold none of those characters raw, show the escaped form instead,
and the job log must start no workflow command we did not write. Definitions with those names are
refused by `validate`, located to the file, line and field.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from testing.emulator import start_background_server
from tests.github.conftest import (
    DIRECTORY,
    GITHUB_TOKEN,
    pull_request_event,
    run_action,
    write_task,
)
from tests.github.conftest import TOKEN as ACTION_TOKEN
from tests.github.fake_github import FakeGitHub, start_fake_github
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.github.context import GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.workflow import Annotation, emit_masks
from titan_gitops.secrets import SecretSet

REPO = Path(__file__).resolve().parents[2]
TOKEN = "strings-token-4e1f9a"
NAMESPACE = "shop-"
# Each hostile live name and the escaped form that must be visible instead.
HOSTILE = {
    "shop-a\n::warning::pwned": r"shop-a\n::warning::pwned",
    "shop-b\n::stop-commands::x": r"shop-b\n::stop-commands::x",
    "shop-c\x1b]0;title\x07": r"shop-c\x1b]0;title\x07",
    "shop-d\x1b[2J": r"shop-d\x1b[2J",
    "shop-e\x9b31m": r"shop-e\x9b31m",
    "shop-f\u202egnp.exe": "shop-f<U+202E>gnp.exe",
    "shop-g\nNo changes. Live tasks match the definitions.": (
        r"shop-g\nNo changes. Live tasks match the definitions."
    ),
    # A carriage return ends a line for the runner and for Markdown alike.
    "shop-h\r::error::pwned-cr\r### heading": r"shop-h\r::error::pwned-cr\r### heading",
}
# A managed task whose objective someone edited live into an attack of its own.
MANAGED = "shop-managed"
HOSTILE_OBJECTIVE = "Extract.\x1b[2J\u202e\n::error::pwned-value"
# Workflow commands we write on purpose; anything else that the runner would process is injected.
OUR_COMMANDS = ("add-mask", "error", "warning", "notice", "stop-commands", "group", "endgroup")


# --- what "safe" means ----------------------------------------------------------------------------


def unsafe_characters(text: str) -> list[str]:
    """Control, format, separator and surrogate characters other than newline, as code points."""
    return [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")
    ]


def processed_commands(log: str) -> list[str]:
    """The lines GitHub's runner would run as workflow commands, honouring stop-commands."""
    commands: list[str] = []
    resume: str | None = None
    # The runner reads lines split at LF, CR and CRLF; any other separator is shown, not split.
    for raw in log.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if resume is not None:
            if line == f"::{resume}::":
                resume = None
            continue
        if line.startswith("::") or "##[" in line:
            commands.append(line)
            if line.startswith("::stop-commands::"):
                resume = line[len("::stop-commands::") :]
    return commands


def assert_terminal_safe(text: str, *, where: str) -> None:
    assert not unsafe_characters(text), f"{where} holds raw control characters"
    for line in text.splitlines():
        # The CLI runs in CI steps too: no line of its output may start a workflow command.
        assert not line.strip().startswith("::"), f"{where}: {line!r}"


def assert_log_safe(log: str) -> None:
    assert not unsafe_characters(log), "the job log holds raw control characters"
    for command in processed_commands(log):
        name = command[2:].split("::", 1)[0].split(" ", 1)[0]
        assert name in OUR_COMMANDS, f"an injected workflow command ran: {command!r}"
        # Our annotations may quote hostile text; a command of the attacker's own starts with it.
        data = command.split("::", 2)[-1]
        assert not data.startswith("pwned"), f"an injected workflow command ran: {command!r}"
        if name == "stop-commands":
            token = command[len("::stop-commands::") :]
            assert len(token) >= 32, f"a guessable stop-commands token: {command!r}"


# --- the live service -------------------------------------------------------------------------


def task_body(name: str, objective: str = "Made by hand.") -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": objective,
        "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "execution_type": "single",
    }


def start_hostile_service(token: str) -> tuple[Any, str]:
    """The emulator holding every hostile name, plus the managed task edited live."""
    server, url = start_background_server(create_app(EmulatorConfig(tokens={token: None})))
    with TitanClient(url, token) as client:
        for name in HOSTILE:
            client.create_task(task_body(name))
        client.create_task(task_body(MANAGED, HOSTILE_OBJECTIVE))
    return server, url


@pytest.fixture
def service() -> Iterator[str]:
    server, url = start_hostile_service(TOKEN)
    try:
        yield url
    finally:
        server.shutdown()


def write_definitions(root: Path) -> Path:
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "titan-gitops.yaml").write_text(f"namespace: {NAMESPACE}\n", encoding="utf-8")
    (root / "tasks" / "managed.yaml").write_text(
        f"kind: task\nname: {MANAGED}\nurls: ['https://shop.example/products']\n"
        "objective: Made by hand.\nexecution_type: single\n"
        "output_schema: {type: object, properties: {name: {type: string}}}\n",
        encoding="utf-8",
    )
    return root


def cli(*args: str, url: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        "TITAN_TOKEN": TOKEN,
        "NO_COLOR": "1",
    }
    if url:
        env["TITAN_API_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "titan_gitops", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_cli_safe(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert "Traceback" not in result.stderr
    assert "unexpected error" not in result.stderr
    assert_terminal_safe(result.stdout, where=f"{what} stdout")
    assert_terminal_safe(result.stderr, where=f"{what} stderr")


# --- the CLI --------------------------------------------------------------------------------------


@pytest.mark.attack
def test_plan_shows_hostile_live_names_escaped_and_no_spoofed_no_changes_line(
    service: str, tmp_path: Path
) -> None:
    root = write_definitions(tmp_path / "defs")
    result = cli("plan", str(root), url=service)
    assert result.returncode == 0, result.stderr
    assert_cli_safe(result, "plan")
    for shown in HOSTILE.values():
        assert shown in result.stdout
    # A text over several lines is a line diff: its controls escaped, each line after a sign.
    assert "- Extract.\\x1b[2J<U+202E>\n          - ::error::pwned-value\n" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("No changes.")]
    assert result.stdout.rstrip().endswith("to delete.")


@pytest.mark.attack
def test_plan_json_and_markdown_hold_no_raw_control_characters(
    service: str, tmp_path: Path
) -> None:
    root = write_definitions(tmp_path / "defs")
    as_json = cli("plan", str(root), "--output", "json", url=service)
    assert as_json.returncode == 0, as_json.stderr
    assert_cli_safe(as_json, "plan --output json")
    # The JSON still carries the exact names: only their encoding changed.
    names = {change["name"] for change in json.loads(as_json.stdout)["changes"]}
    assert set(HOSTILE) <= names
    as_markdown = cli("plan", str(root), "--output", "markdown", url=service)
    assert as_markdown.returncode == 0, as_markdown.stderr
    assert_cli_safe(as_markdown, "plan --output markdown")
    assert "<U+202E>" in as_markdown.stdout.replace("&lt;", "<").replace("&gt;", ">")


@pytest.mark.attack
def test_drift_shows_hostile_names_and_values_escaped(service: str, tmp_path: Path) -> None:
    root = write_definitions(tmp_path / "defs")
    result = cli("drift", str(root), url=service)
    assert result.returncode == 2, result.stderr
    assert_cli_safe(result, "drift")
    for shown in HOSTILE.values():
        assert shown in result.stdout
    assert "- Extract.\\x1b[2J<U+202E>\n          - ::error::pwned-value\n" in result.stdout
    for output in ("json", "markdown"):
        other = cli("drift", str(root), "--output", output, url=service)
        assert other.returncode == 2, other.stderr
        assert_cli_safe(other, f"drift --output {output}")


@pytest.mark.attack
def test_apply_progress_and_report_show_hostile_names_escaped(service: str, tmp_path: Path) -> None:
    root = write_definitions(tmp_path / "defs")
    result = cli("apply", str(root), "--auto-approve", "--allow-deletes", "100", url=service)
    assert result.returncode == 0, result.stderr
    assert_cli_safe(result, "apply")
    for shown in HOSTILE.values():
        assert f"deleted {shown}" in result.stdout
        assert f"deleted {shown}" in result.stderr  # the progress lines
    assert result.stdout.rstrip().endswith("Converged.")


@pytest.mark.attack
def test_run_names_the_task_escaped(service: str) -> None:
    with TitanClient(service, TOKEN) as client:
        ids = {str(r.body()["name"]): str(r.body()["id"]) for r in client.list_tasks()}
    for name, shown in HOSTILE.items():
        result = cli("run", ids[name], url=service)
        assert result.returncode == 0, result.stderr
        assert_cli_safe(result, "run")
        assert f"of '{shown}'" in result.stderr


@pytest.mark.attack
def test_run_by_a_hostile_name_that_is_not_live_is_refused_escaped(service: str) -> None:
    result = cli("run", "ghost\x1b]0;title\x07\n::warning::pwned", url=service)
    assert result.returncode == 1
    assert_cli_safe(result, "run")
    assert r"ghost\x1b]0;title\x07\n::warning::pwned" in result.stderr


@pytest.mark.attack
def test_export_of_hostile_names_prints_nothing_raw(service: str, tmp_path: Path) -> None:
    result = cli("export", "--out", str(tmp_path / "out"), url=service)
    # Definitions cannot hold these names, so export names each task (escaped) instead of
    # writing it, and fails so a pipeline notices the set is not every live task.
    assert result.returncode == 1, result.stderr
    assert_cli_safe(result, "export")
    for shown in HOSTILE.values():
        assert f"'{shown}'" in result.stderr
    assert f"'{MANAGED}'" in result.stderr
    assert "U+001B in its objective" in result.stderr
    assert not list((tmp_path / "out" / "tasks").glob("*.yaml"))


class _HostileErrors(BaseHTTPRequestHandler):
    """Every request is refused with an error whose code and message carry escape sequences."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "success": False,
                "error": {
                    "code": "bad\x1b[2J",
                    "message": "refused\n::warning::pwned \x1b]0;title\x07 \u202eevil \x9b31m",
                },
            }
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.attack
def test_an_error_message_from_the_service_is_escaped(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileErrors)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root = write_definitions(tmp_path / "defs")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = cli("plan", str(root), url=url)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    assert_cli_safe(result, "plan against a hostile service")
    # The client drops C0 controls from a service message; what is left is shown escaped.
    assert r"refused\n::warning::pwned" in result.stderr
    assert r"<U+202E>evil \x9b31m" in result.stderr


# --- the Action -----------------------------------------------------------------------------------


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
def action_service() -> Iterator[str]:
    server, url = start_hostile_service(ACTION_TOKEN)
    try:
        yield url
    finally:
        server.shutdown()


def action_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "work" / DIRECTORY
    root.mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text(f"namespace: {NAMESPACE}\n", encoding="utf-8")
    write_task(root, MANAGED, objective="Made by hand.")
    return tmp_path / "work"


@pytest.mark.attack
def test_action_plan_log_runs_no_injected_workflow_command(
    action_service: str, github: FakeGitHub, tmp_path: Path
) -> None:
    run = run_action(
        action_workspace(tmp_path),
        command="plan",
        event_name="pull_request",
        event=pull_request_event(),
        github=github,
        titan_url=action_service,
        inputs={"TG_ALLOW_DELETES": "100"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert_log_safe(run.stdout)
    assert_terminal_safe(run.stderr, where="the Action's stderr")
    for shown in HOSTILE.values():
        assert shown in run.stdout
    for markdown in (run.summary, *github.posted_bodies()):
        assert not unsafe_characters(markdown), "the Markdown holds raw control characters"
        assert not [line for line in markdown.splitlines() if line.strip().startswith("::")]


@pytest.mark.attack
def test_action_drift_log_and_annotations_run_no_injected_workflow_command(
    action_service: str, github: FakeGitHub, tmp_path: Path
) -> None:
    run = run_action(
        action_workspace(tmp_path),
        command="drift",
        event_name="schedule",
        event={"repository": {"full_name": "acme/tasks", "default_branch": "main"}},
        github=github,
        titan_url=action_service,
        ref="refs/heads/main",
    )
    assert run.returncode == 1, run.stdout + run.stderr  # drift found, fail-on-drift
    assert_log_safe(run.stdout)
    assert_terminal_safe(run.stderr, where="the Action's stderr")
    for shown in HOSTILE.values():
        assert shown in run.stdout
    for markdown in (run.summary, *github.posted_bodies()):
        assert not unsafe_characters(markdown), "the Markdown holds raw control characters"


def make_outbox(tmp_path: Path, stream: io.StringIO, secret: str = "masked-canary-5150") -> Outbox:
    context = GitHubContext(
        event_name="pull_request",
        repository="acme/tasks",
        ref="refs/pull/7/merge",
        sha="a" * 40,
        api_url="http://127.0.0.1:9",
        server_url="https://github.example",
        run_id="1",
        summary_path=tmp_path / "summary.md",
    )
    return Outbox(context, SecretSet.of([secret]), stream)


ECHOED = (
    "live said:\n::warning::pwned\n  ::stop-commands::x\r::error::pwned too\n"
    "##[error]pwned v1\n\u2028::notice::pwned\x1b]0;title\x07 masked-canary-5150"
)


@pytest.mark.attack
def test_the_action_log_runs_no_command_from_echoed_text(tmp_path: Path) -> None:
    stream = io.StringIO()
    out = make_outbox(tmp_path, stream)
    emit_masks(out.secrets, stream)
    out.log(ECHOED)
    out.error("after the echo")
    log = stream.getvalue()
    assert_log_safe(log)
    commands = processed_commands(log)
    # Our own commands still run: the masks before, the annotation after the echoed text.
    assert any(c.startswith("::add-mask::") for c in commands)
    assert "::error::after the echo" in commands
    echoed = [line for line in log.splitlines() if not line.startswith("::add-mask::")]
    assert "masked-canary-5150" not in "\n".join(echoed)
    assert "::warning::pwned" in log  # shown to the reader, inert


@pytest.mark.attack
def test_annotation_messages_and_properties_hold_no_raw_control_characters(
    tmp_path: Path,
) -> None:
    stream = io.StringIO()
    out = make_outbox(tmp_path, stream)
    out.error("refused\x1b[2J \x9b31m \u202eevil\r::warning::pwned")
    out.annotate([Annotation("warning", "w\x1b]0;t\x07", file="d/\x1b[2J.yaml", title="t\u202e")])
    log = stream.getvalue()
    assert_log_safe(log)
    assert len(processed_commands(log)) == 2
    assert r"refused\x1b[2J \x9b31m <U+202E>evil%0D::warning::pwned" in log


# --- definitions ----------------------------------------------------------------------------------


def write_named_task(root: Path, name: str, **extra: Any) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        "kind: task",
        f"name: {json.dumps(name)}",
        "urls: ['https://shop.example/products']",
        f"objective: {json.dumps(extra.pop('objective', 'Extract names.'))}",
        "output_schema: {type: object}",
        "execution_type: single",
    ]
    lines += [f"{key}: {json.dumps(value)}" for key, value in extra.items()]
    (root / "t.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def problem_line(stderr: str, *parts: str) -> str:
    """The one line of `stderr` that holds every part (the file:line, the field, the code point)."""
    found = [line for line in stderr.splitlines() if all(part in line for part in parts)]
    assert found, f"no line holds {parts!r} in {stderr!r}"
    return found[0]


def assert_refused(root: Path, where: str, field: str, char: str) -> None:
    result = cli("validate", str(root))
    assert result.returncode == 1
    assert_cli_safe(result, "validate")
    problem_line(result.stderr, where, f"{field}: ", f"U+{ord(char):04X}")


# Names the loader let through before: newlines (a spoofed line, workflow commands), TAB, C1.
NEWLY_REFUSED = ["shop-a\n::warning::pwned", "shop-b\n::stop-commands::x", "shop-e\x9b31m"]
NEWLY_REFUSED += ["shop-g\nNo changes. Live tasks match the definitions.", "shop-tab\tname"]
# Names refused already; kept so the wider rule never lets them back in.
ALREADY_REFUSED = ["shop-c\x1b]0;title\x07", "shop-d\x1b[2J", "shop-f\u202egnp.exe", "shop-del\x7f"]
ALREADY_REFUSED += ["shop-nul\x00", "shop-isolate\u2066x\u2069", "shop-zero\u200bwidth"]


def first_unsafe(text: str) -> str:
    return next(ch for ch in text if ch in "\t\n" or unsafe_characters(ch))


@pytest.mark.attack
@pytest.mark.parametrize("name", NEWLY_REFUSED, ids=[f"name{n}" for n in range(len(NEWLY_REFUSED))])
def test_validate_refuses_a_name_with_a_newline_tab_or_c1_control(
    name: str, tmp_path: Path
) -> None:
    root = write_named_task(tmp_path / "defs", name)
    assert_refused(root, "t.yaml:2:", "name", first_unsafe(name))


@pytest.mark.parametrize(
    "name", ALREADY_REFUSED, ids=[f"name{n}" for n in range(len(ALREADY_REFUSED))]
)
def test_validate_refuses_a_name_with_escape_bidi_or_invisible_characters(
    name: str, tmp_path: Path
) -> None:
    root = write_named_task(tmp_path / "defs", name)
    assert_refused(root, "t.yaml:2:", "name", first_unsafe(name))


@pytest.mark.attack
def test_validate_refuses_a_previous_name_with_a_control_character(tmp_path: Path) -> None:
    root = write_named_task(tmp_path / "defs", "shop-a", previous_names=["shop-old\n::x"])
    assert_refused(root, "t.yaml:7:", "previous_names[0]", "\n")


@pytest.mark.attack
def test_validate_refuses_an_objective_with_a_c1_control(tmp_path: Path) -> None:
    root = write_named_task(tmp_path / "defs", "shop-a", objective="Extract\x9b31m names.")
    assert_refused(root, "t.yaml:4:", "objective", "\x9b")


@pytest.mark.parametrize("char", ["\x1b", "\u202e", "\r", "\x00", "\x7f"])
def test_validate_refuses_an_objective_with_other_control_characters(
    char: str, tmp_path: Path
) -> None:
    root = write_named_task(tmp_path / "defs", "shop-a", objective=f"Extract{char} names.")
    assert_refused(root, "t.yaml:4:", "objective", char)


def test_validate_keeps_newlines_and_tabs_in_an_objective(tmp_path: Path) -> None:
    root = write_named_task(tmp_path / "defs", "shop-a", objective="Extract:\n\tnames\n\tprices")
    result = cli("validate", str(root))
    assert result.returncode == 0, result.stderr
