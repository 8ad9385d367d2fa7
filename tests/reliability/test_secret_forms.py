"""A secret in every form it can take, through every output and every error path, never shows.

The canary value holds what each medium escapes differently (quotes, a backslash, `<>&`, a pipe,
a mention, non-ASCII, spaces); it is placed where each output would carry it — a definition, the
live task the service returns, the service's own error messages — and every output is scanned for
every form by an independent scanner (`tests.reliability.test_secrets.count_hits`).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from testing.emulator import start_background_server
from tests.github.conftest import DIRECTORY, GITHUB_TOKEN, pull_request_event, run_action
from tests.github.conftest import TOKEN as ACTION_TOKEN
from tests.github.fake_github import FakeGitHub, start_fake_github
from tests.reliability.counts import add_count
from tests.reliability.test_secrets import REPO
from tests.unit.test_secrets import decodes_to_secret, independent_forms
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app

pytestmark = pytest.mark.attack

# An HTTP header carries printable ASCII only: no space or non-ASCII in the token.
TOKEN = "canary-tok-\"\\<&>'|*_@x/Zx9Lw4Np"
# Everything an output medium escapes differently; long enough for every base64 offset form.
PASSWORD = "Ca\"na\\ry <&> 'é' |*_@x 99"
VARIABLES = {"TITAN_VAR_PW": PASSWORD}


def find_leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """Each (secret, form) found in `text`, by forms computed without titan_gitops.secrets."""
    hits = [
        f"{index}:{label}"
        for index, secret in enumerate(secrets)
        for label, form in independent_forms(secret).items()
        if form in text
    ]
    hits += [
        f"{i}:base64 run" for i, s in enumerate(secrets) if decodes_to_secret(text, s.encode())
    ]
    return hits


def assert_clean(text: str, secrets: tuple[str, ...] = (TOKEN, PASSWORD)) -> None:
    hits = find_leaks(text, secrets)
    add_count("secret_paths")
    add_count("secret_hits", len(hits))
    assert not hits, f"leaked {hits} in:\n{text[-3000:]}"


@pytest.fixture
def emulator() -> Iterator[str]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None, ACTION_TOKEN: None}))
    running, url = start_background_server(app.serve_request)
    try:
        yield url
    finally:
        running.shutdown()


def live_task(name: str, objective: str) -> dict[str, object]:
    return {
        "name": name,
        "urls": [f"https://shop.example/?key={urllib.parse.quote(PASSWORD, safe='')}"],
        "objective": objective,
        "output_schema": {"type": "object"},
        "execution_type": "single",
    }


def seed_live_secrets(url: str, token: str, prefix: str) -> None:
    """Live tasks holding the password in clear, as if pasted in the service's console."""
    with TitanClient(url, token) as client:
        client.create_task(live_task(f"{prefix}shop", f"Log in with {PASSWORD} first."))
        # ": #" makes YAML quote the value, which doubles the password's apostrophes.
        client.create_task(live_task(f"{prefix}orders", f"Orders for {PASSWORD}: # kept"))


def write_shop(root: Path, prefix: str, *, broken: bool = False) -> Path:
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "titan-gitops.yaml").write_text(f"namespace: {prefix}\n", encoding="utf-8")
    kind = "${TITAN_VAR_PW}" if broken else "single"
    (root / "tasks" / "shop.yaml").write_text(
        f"kind: task\nname: {prefix}shop\n"
        "urls: ['https://shop.example/']\n"
        "objective: Log in with ${TITAN_VAR_PW} now.\n"
        f"output_schema: {{type: object}}\nexecution_type: '{kind}'\n",
        encoding="utf-8",
    )
    (root / "tasks" / "orders.yaml").write_text(
        f"kind: task\nname: {prefix}orders\nurls: ['https://shop.example/orders']\n"
        "objective: Orders of the day.\noutput_schema: {type: object}\nexecution_type: single\n",
        encoding="utf-8",
    )
    return root


def run_cli(*args: str, url: str, cwd: Path) -> str:
    """The CLI with --debug: everything it printed and every file it wrote outside defs/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    env.pop("CI", None)
    env.pop("GITHUB_ACTIONS", None)
    env.update(VARIABLES, TITAN_API_URL=url, TITAN_TOKEN=TOKEN, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "titan_gitops", *args, "--debug"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    written = [
        p.read_text(encoding="utf-8", errors="replace")
        for p in sorted(cwd.rglob("*"))
        if p.is_file() and "defs" not in p.parts
    ]
    return "\n".join([done.stdout, done.stderr, *written, f"exit={done.returncode}"])


CLI_OUTPUTS = {
    "plan text": ("plan", "defs"),
    "plan json and saved plan": ("plan", "defs", "--output", "json", "--out", "plan.json"),
    "plan markdown": ("plan", "defs", "--output", "markdown"),
    "drift text": ("drift", "defs"),
    "drift json": ("drift", "defs", "--output", "json"),
    "drift markdown": ("drift", "defs", "--output", "markdown"),
    "apply report json": ("apply", "defs", "--auto-approve", "--output", "json"),
    "export files": ("export", "--out", "exported"),
}


@pytest.mark.parametrize("output", sorted(CLI_OUTPUTS))
def test_a_secret_the_live_service_holds_in_clear_is_masked_in_every_cli_output(
    tmp_path: Path, emulator: str, output: str
) -> None:
    write_shop(tmp_path / "defs", "ns-")
    seed_live_secrets(emulator, TOKEN, "ns-")
    text = run_cli(*CLI_OUTPUTS[output], url=emulator, cwd=tmp_path)
    if output == "export files":
        # The live tasks hold the token and encoded forms no placeholder can stand for: export
        # reports them instead of writing them (in clear or masked), and fails.
        assert "exit=1" in text, text[-3000:]
        assert "holds a secret value that no ${TITAN_VAR_" in text
    else:
        assert "exit=1" not in text, text[-3000:]
    assert "ns-orders" in text
    assert_clean(text)


def test_a_validation_error_quoting_the_value_shows_no_form_of_it(
    tmp_path: Path, emulator: str
) -> None:
    write_shop(tmp_path / "defs", "ns-", broken=True)
    for args in (("validate", "defs"), ("plan", "defs", "--output", "json")):
        text = run_cli(*args, url=emulator, cwd=tmp_path)
        assert "exit=1" in text
        assert "shop.yaml:6" in text, text[-2000:]
        assert_clean(text)


def echo_every_form(status: int) -> ThreadingHTTPServer:
    """A service that answers every request with `status` and the password in every form."""
    forms = [*independent_forms(PASSWORD).values(), *independent_forms(TOKEN).values()]
    # As a Basic credential or a longer blob would carry them: inside a base64 run, off-aligned.
    forms += [base64.b64encode(f"user:{TOKEN}".encode()).decode()]
    forms += [base64.urlsafe_b64encode(f"pw={PASSWORD};".encode()).decode()]
    envelope = {
        "success": False,
        "error": {"code": "VALIDATION_ERROR", "message": "rejected: " + " ; ".join(forms)},
    }
    body = json.dumps(envelope).encode()

    class Echo(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Echo", urllib.parse.quote(PASSWORD))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status", [200, 400, 401, 404, 422, 500])
def test_a_service_echoing_the_secret_in_every_form_leaks_none_of_them(
    tmp_path: Path, status: int
) -> None:
    write_shop(tmp_path / "defs", "ns-")
    server = echo_every_form(status)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        for args in (("plan", "defs", "--output", "json"), ("apply", "defs", "--auto-approve")):
            text = run_cli(*args, url=url, cwd=tmp_path)
            assert "exit=1" in text, text[-2000:]
            assert "Traceback" in text or "--debug" not in text
            assert_clean(text)
    finally:
        server.shutdown()
        server.server_close()


def action_texts(run: object, github: FakeGitHub) -> str:
    from tests.github.conftest import ActionRun

    assert isinstance(run, ActionRun)
    log = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("::add-mask::"))
    issues = json.dumps(github.issues)
    return "\n".join(
        [log, run.stderr, json.dumps(run.outputs), run.summary, issues, *github.posted_bodies()]
    )


@pytest.mark.parametrize(
    "case", ["pull request plan", "drift issue", "invalid definitions", "service echoing"]
)
def test_the_action_log_annotations_summary_outputs_comment_and_issue_hold_no_form(
    tmp_path: Path, emulator: str, case: str
) -> None:
    workspace = tmp_path / "work"
    write_shop(workspace / DIRECTORY, "shop-", broken=case == "invalid definitions")
    seed_live_secrets(emulator, ACTION_TOKEN, "shop-")
    github = FakeGitHub(token=GITHUB_TOKEN)
    fake = start_fake_github(github)
    drift = case == "drift issue"
    echo = echo_every_form(400)
    if case == "service echoing":
        emulator = f"http://127.0.0.1:{echo.server_address[1]}"
    try:
        run = run_action(
            workspace,
            command="drift" if drift else "plan",
            event_name="schedule" if drift else "pull_request",
            event=(
                {"schedule": "17 6 * * *", "repository": {"default_branch": "main"}}
                if drift
                else pull_request_event(7)
            ),
            github=github,
            titan_url=emulator,
            ref="refs/heads/main" if drift else "refs/pull/7/merge",
            env={**VARIABLES},
        )
    finally:
        fake.shutdown()
        fake.server_close()
        echo.shutdown()
        echo.server_close()
    text = action_texts(run, github)
    assert "shop" in text
    if drift:
        assert github.issues, run.stdout[-2000:]
    elif case != "pull request plan":
        assert "::error" in run.stdout
    else:
        assert github.comments
    assert_clean(text, (ACTION_TOKEN, PASSWORD))


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
    # Past the file's name: the temporary folder's own name may hold the digits.
    messages = [line.removeprefix(str(tmp_path)) for line in lines]
    assert all("cannot be masked" in m and "481" not in m for m in messages)
    assert "TITAN_VAR_LONG_ENOUGH" not in done.stderr
    assert "valid" in done.stdout
