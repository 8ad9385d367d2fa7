"""Canary token and TITAN_VAR_ values never appear, raw or encoded, in anything the tool emits.

The CLI runs as a subprocess with `--debug` on success and error paths (401, 403, 5xx during
apply, validation errors, connection errors); stdout, stderr, saved plan files, JSON and Markdown
renders and exported files are searched for each canary verbatim, base64 (standard and URL-safe,
with and without padding), URL-encoded and in every escaped form (tests/unit/test_secrets.py).
Timeouts, dropped connections and broken bodies are forced in-process, where the exception
text, repr, full traceback and debug log are searched.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import traceback
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testing.cachefiles import packs_in
from testing.emulator import start_background_server
from tests.github.conftest import (
    DIRECTORY,
    GITHUB_TOKEN,
    pull_request_event,
    run_action,
    write_task,
)
from tests.github.fake_github import FakeGitHub, start_fake_github
from tests.reliability.counts import add_count
from tests.unit.test_secrets import independent_forms
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule
from titan_gitops.errors import TitanGitopsError

REPO = Path(__file__).resolve().parents[2]
TOKEN = "canary-tok-7Hq2Zx9Lw4Np"
SHOP_KEY = "canary-key-Rt5Mn8PqXy"
OBJ_SECRET = "canary-obj-Vb3Kc6JdWs"
VARIABLES = {"TITAN_VAR_SHOP_KEY": SHOP_KEY, "TITAN_VAR_OBJ_SECRET": OBJ_SECRET}
CANARIES = (TOKEN, SHOP_KEY, OBJ_SECRET)


def encodings(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }
    # Every other form a medium writes (JSON, YAML, HTML, Markdown, terminal, URL variants).
    forms |= set(independent_forms(secret).values())
    return forms | {f.rstrip("=") for f in forms}


def count_hits(text: str, secrets: tuple[str, ...] = CANARIES) -> list[str]:
    return [form for secret in secrets for form in encodings(secret) if form in text]


def write_definitions(root: Path, *, broken: bool = False) -> Path:
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "titan-gitops.yaml").write_text("namespace: ns-\n", encoding="utf-8")
    cron = "61 * * * *" if broken else "0 6 * * *"
    (root / "tasks" / "shop.yaml").write_text(
        "kind: task\nname: ns-shop\n"
        "urls: ['https://shop.example/products?key=${TITAN_VAR_SHOP_KEY}']\n"
        "objective: Extract prices with code ${TITAN_VAR_OBJ_SECRET}.\n"
        "output_schema: {type: object}\nexecution_type: scheduled\n"
        f"schedule: '{cron}'\n",
        encoding="utf-8",
    )
    return root


@dataclass
class Server:
    url: str
    injector: FaultInjector


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    scopes = getattr(request, "param", None)
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: scopes, "other": None}))
    injector = FaultInjector(seed=3)
    running, url = start_background_server(injector.wrap(app.serve_request))
    try:
        yield Server(url, injector)
    finally:
        running.shutdown()


def run_cli(*args: str, url: str, cwd: Path, token: str = TOKEN) -> str:
    """Run the CLI with --debug; return everything it printed plus every file it wrote."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": token, "PYTHONPATH": str(REPO)})
    # The validated-definitions cache is written under cwd, so its files are searched too.
    environ["TITAN_GITOPS_CACHE_DIR"] = str(cwd / "cache")
    environ.update(VARIABLES)
    done = subprocess.run(
        [sys.executable, "-m", "titan_gitops", *args, "--debug"],
        cwd=cwd,
        env=environ,
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


def assert_clean(text: str, secrets: tuple[str, ...] = CANARIES) -> None:
    hits = count_hits(text, secrets)
    add_count("secret_paths")
    add_count("secret_hits", len(hits))
    assert not hits, f"leaked {hits} in:\n{text[-3000:]}"


def test_success_paths_print_and_save_no_secret(tmp_path: Path, server: Server) -> None:
    root = write_definitions(tmp_path / "defs")
    text = run_cli("plan", str(root), "--output", "json", "--out", "plan.json", url=server.url,
                   cwd=tmp_path)  # fmt: skip
    assert "exit=0" in text or "exit=2" in text
    assert "ns-shop" in text
    assert_clean(text)
    assert_clean(run_cli("plan", str(root), "--output", "markdown", url=server.url, cwd=tmp_path))
    text = run_cli("apply", str(root), "--auto-approve", "--output", "json", url=server.url,
                   cwd=tmp_path)  # fmt: skip
    assert "exit=0" in text
    assert_clean(text)
    assert_clean(run_cli("drift", str(root), "--output", "markdown", url=server.url, cwd=tmp_path))


def test_applying_a_saved_plan_with_sensitive_values_prints_no_secret(
    tmp_path: Path, server: Server
) -> None:
    write_definitions(tmp_path / "defs")
    # A relative DIR: apply --plan re-derives from a recorded directory only inside the cwd.
    run_cli("plan", "defs", "--out", "plan.json", url=server.url, cwd=tmp_path)
    text = run_cli("apply", "--plan", "plan.json", "--auto-approve", url=server.url, cwd=tmp_path)
    assert_clean(text)
    assert "exit=0" in text


def test_exported_files_hold_no_secret(tmp_path: Path, server: Server) -> None:
    """Live values of TITAN_VAR_ variables are written back as their placeholders: the files
    (and the output) hold no secret, in clear or masked."""
    root = write_definitions(tmp_path / "defs")
    run_cli("apply", str(root), "--auto-approve", url=server.url, cwd=tmp_path)
    text = run_cli("export", "--out", "exported", url=server.url, cwd=tmp_path)
    assert "exit=0" in text
    assert "${TITAN_VAR_" in text
    assert "***" not in text
    assert_clean(text)


def test_an_unknown_token_401_prints_no_secret(tmp_path: Path, server: Server) -> None:
    root = write_definitions(tmp_path / "defs")
    text = run_cli("plan", str(root), url=server.url, cwd=tmp_path, token=TOKEN + "-wrong")
    assert "exit=1" in text
    assert_clean(text.replace(TOKEN + "-wrong", "<wrong token>"))
    assert_clean(text, (TOKEN + "-wrong", SHOP_KEY, OBJ_SECRET))


@pytest.mark.parametrize("server", [frozenset({"tasks:read"})], indirect=True, ids=["read-only"])
def test_a_read_only_token_403_prints_no_secret(tmp_path: Path, server: Server) -> None:
    root = write_definitions(tmp_path / "defs")
    text = run_cli("apply", str(root), "--auto-approve", url=server.url, cwd=tmp_path)
    assert "exit=1" in text
    assert_clean(text)


def test_a_5xx_during_apply_prints_no_secret(tmp_path: Path, server: Server) -> None:
    root = write_definitions(tmp_path / "defs")
    # The first POST creates apply's lease: let it through, so the 503s meet the task's create.
    server.injector.add(FaultRule(kind="latency", latency_ms=1, method="POST", path="*", count=1))
    server.injector.add(FaultRule(kind="status", status=503, method="POST", path="*", count=2))
    text = run_cli("apply", str(root), "--auto-approve", url=server.url, cwd=tmp_path)
    assert "exit=1" in text
    assert_clean(text)


def test_a_validation_error_prints_no_secret(tmp_path: Path, server: Server) -> None:
    root = write_definitions(tmp_path / "defs", broken=True)
    text = run_cli("validate", str(root), url=server.url, cwd=tmp_path)
    assert "exit=1" in text
    assert "shop.yaml:7" in text
    assert_clean(text)
    assert_clean(run_cli("plan", str(root), url=server.url, cwd=tmp_path))


@pytest.mark.slow
def test_a_connection_error_prints_no_secret(tmp_path: Path) -> None:
    root = write_definitions(tmp_path / "defs")
    text = run_cli("plan", str(root), url="http://127.0.0.1:9", cwd=tmp_path)
    assert "exit=1" in text
    assert_clean(text)


def drop_mask_commands(text: str) -> str:
    """The runner consumes `::add-mask::` lines and never shows them; they are how masking works."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


@pytest.mark.parametrize("fault", [False, True], ids=["clean", "unknown-token-401"])
def test_the_github_action_comment_summary_and_outputs_hold_no_secret(
    tmp_path: Path, server: Server, fault: bool
) -> None:
    """`python -m titan_gitops.github` plan on a pull request, driven as tests/github does."""
    workspace = tmp_path / "work"
    root = workspace / DIRECTORY
    root.mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    write_task(root, "shop-prices", objective="Extract with ${TITAN_VAR_OBJ_SECRET}.")
    token = TOKEN + "-unknown" if fault else TOKEN
    github = FakeGitHub(token=GITHUB_TOKEN)
    fake = start_fake_github(github)
    try:
        run = run_action(
            workspace,
            command="plan",
            event_name="pull_request",
            event=pull_request_event(7),
            github=github,
            titan_url=server.url,
            env={"TG_TOKEN": token, **VARIABLES},
        )
    finally:
        fake.shutdown()
        fake.server_close()
    posted = json.dumps(github.comments)
    assert run.returncode == (1 if fault else 0)
    assert posted != "{}"
    emitted = [drop_mask_commands(run.stdout), run.stderr, json.dumps(run.outputs), run.summary]
    assert_clean("\n".join([*emitted, posted]), (token, SHOP_KEY, OBJ_SECRET))


IN_PROCESS_FAULTS = {
    "timeout": FaultRule(kind="latency", latency_ms=600),
    "drop": FaultRule(kind="drop"),
    "drop-after-commit": FaultRule(kind="commit_then_fail", after="drop"),
    "truncated": FaultRule(kind="truncate"),
    "non-json": FaultRule(kind="non_json", status=200),
    "500": FaultRule(kind="status", status=500),
}


@pytest.mark.parametrize("kind", sorted(IN_PROCESS_FAULTS))
def test_transport_failures_leak_nothing_into_errors_or_debug_logs(
    server: Server, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.injector.add(IN_PROCESS_FAULTS[kind])
    body = {
        "name": "ns-shop",
        "urls": [f"https://shop.example/?key={SHOP_KEY}"],
        "objective": f"Extract with {OBJ_SECRET}.",
        "output_schema": {"type": "object"},
        "execution_type": "single",
    }
    caplog.set_level(logging.DEBUG)
    seen = []
    with TitanClient(
        server.url, TOKEN, timeout=0.2, max_retries=1, backoff_base=0.01, backoff_cap=0.02
    ) as client:
        seen.append(repr(client))
        for call in (client.list_tasks, lambda: client.create_task(body)):
            with pytest.raises(TitanGitopsError) as caught:
                call()
            seen += [str(caught.value), repr(caught.value)]
            seen += traceback.format_exception(caught.value)
    seen += [r.getMessage() for r in caplog.records]
    assert_clean("\n".join(seen))


def test_the_connection_error_path_in_process_leaks_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen = []
    with TitanClient(
        "http://127.0.0.1:9", TOKEN, max_retries=1, backoff_base=0.01, backoff_cap=0.02
    ) as client:
        with pytest.raises(TitanGitopsError) as caught:
            client.list_tasks()
        seen += [str(caught.value), repr(caught.value), repr(client)]
        seen += traceback.format_exception(caught.value)
    seen += [r.getMessage() for r in caplog.records]
    assert_clean("\n".join(seen))


def test_the_canary_search_finds_each_encoding() -> None:
    """The scanner itself: every encoded form of a canary is found."""
    for secret in CANARIES:
        for form in encodings(secret):
            assert count_hits(f"prefix {form} suffix")
    assert not count_hits("nothing to see")


@pytest.mark.parametrize("holder", ["task", "template", "defaults"])
def test_the_definitions_cache_holds_no_substituted_value(
    tmp_path: Path, server: Server, holder: str
) -> None:
    """Plain task files are cached beside a placeholder in a task file, a template or the
    project's defaults: no substituted value reaches the cache, and a second (cached) run
    leaks nothing either."""
    root = write_definitions(tmp_path / "defs")
    (root / "tasks" / "plain.yaml").write_text(
        "kind: task\nname: ns-plain\nextends: base\nurls: ['https://plain.example/']\n"
        "objective: Extract the title.\noutput_schema: {type: object}\nexecution_type: single\n",
        encoding="utf-8",
    )
    template_objective = (
        "Extract with ${TITAN_VAR_OBJ_SECRET}." if holder == "template" else "Extract."
    )
    (root / "templates.yaml").write_text(
        f"kind: template\nname: base\nobjective: {template_objective}\n", encoding="utf-8"
    )
    if holder == "defaults":
        (root / "titan-gitops.yaml").write_text(
            "namespace: ns-\ndefaults:\n  payload: {key: '${TITAN_VAR_SHOP_KEY}'}\n",
            encoding="utf-8",
        )
    for _ in range(2):
        text = run_cli("plan", str(root), "--output", "json", url=server.url, cwd=tmp_path)
        assert "exit=0" in text, text[-2000:]
        assert "ns-plain" in text
        assert_clean(text)
    packs = packs_in(tmp_path / "cache")
    # Only a run with no placeholder in the project or a template keeps a pack at all.
    assert len(packs) == (1 if holder == "task" else 0)
    for pack in packs:
        assert "ns-plain" in pack.read_text(encoding="utf-8")
        assert "ns-shop" not in pack.read_text(encoding="utf-8")
