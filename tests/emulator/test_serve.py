"""The HTTP server: keep-alive over a real loopback socket, dropped connections, and `serve`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import spawn_server, start_background_server
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.errors import DropConnection
from titan_gitops.emulator.serve import EmulatorServer, main

from .conftest import WRITER, task_body

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def served(app: EmulatorApp) -> Iterator[tuple[EmulatorServer, str, list[str]]]:
    """`app` on a loopback port, recording the client port of every request it serves."""
    ports: list[str] = []

    def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        ports.append(environ["REMOTE_PORT"])
        return app(environ, start_response)

    server, base_url = start_background_server(recording)
    try:
        yield server, base_url, ports
    finally:
        server.shutdown()


def test_the_docs_flow_over_one_keep_alive_connection(
    served: tuple[EmulatorServer, str, list[str]],
) -> None:
    _, base_url, ports = served
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
    headers = {"Authorization": f"Bearer {WRITER}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        created = client.post("/api/v1/tasks", json=task_body())
        assert created.status_code == 201
        assert created.headers["Content-Length"] == str(len(created.content))
        task_id = created.json()["data"]["id"]
        assert client.get(f"/api/v1/tasks/{task_id}").json()["data"]["id"] == task_id
        patched = client.patch(f"/api/v1/tasks/{task_id}", json={"objective": "New"})
        assert patched.json()["data"]["objective"] == "New"
        listed = client.get("/api/v1/tasks", params={"limit": 5})
        assert listed.json()["meta"] == {"total": 1, "limit": 5, "offset": 0}
        assert client.get("/api/v1/templates/carrier-quote-json").status_code == 200
        assert client.get("/api/v1/nowhere").status_code == 404
        assert client.delete(f"/api/v1/tasks/{task_id}").json()["data"]["deleted"] is True
        assert client.get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert len(ports) == 8
    assert len(set(ports)) == 1, "every request should reuse one keep-alive connection"


def raw_exchange(base_url: str, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_chunked_body_is_read(served: tuple[EmulatorServer, str, list[str]]) -> None:
    _, base_url, _ = served
    body = httpx.Request("POST", "/", json=task_body()).content
    request = (
        b"POST /api/v1/tasks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        + f"Authorization: Bearer {WRITER}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + f"{len(body[:10]):x}\r\n".encode() + body[:10] + b"\r\n"
        + f"{len(body[10:]):x}\r\n".encode() + body[10:] + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    answer = raw_exchange(base_url, request)
    assert answer.startswith(b"HTTP/1.1 201 Created\r\n")
    assert b"\r\nConnection: close\r\n" in answer


def test_a_body_over_the_limit_is_refused_and_the_connection_closed(
    served: tuple[EmulatorServer, str, list[str]],
) -> None:
    _, base_url, ports = served
    request = b"POST /api/v1/tasks HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n{"
    answer = raw_exchange(base_url, request)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b'"code": "BAD_REQUEST"' in answer
    assert ports == []


def test_drop_connection_closes_the_socket_without_a_response() -> None:
    def dropping(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise DropConnection

    server, base_url = start_background_server(dropping)
    try:
        request = b"GET /api/v1/tasks HTTP/1.1\r\nHost: t\r\n\r\n"
        assert raw_exchange(base_url, request) == b""
        with httpx.Client(base_url=base_url) as client, pytest.raises(httpx.TransportError):
            client.get("/api/v1/tasks")
    finally:
        server.shutdown()


def test_shutdown_releases_the_port(app: EmulatorApp) -> None:
    server, base_url = start_background_server(app)
    port = int(base_url.rsplit(":", 1)[1])
    server.shutdown()
    again = EmulatorServer(("127.0.0.1", port), app)
    again.server_close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", "0.0.0.0"], "refusing to listen on 0.0.0.0 without --public"),
        (["--public"], "--public needs at least one --token"),
        (["--rate-limit", "0"], "argument --rate-limit: 0 is too small: give 1 or more"),
        (["--preview-quota", "-1"], "argument --preview-quota: -1 is too small: give 0 or more"),
        (["--preview-quota", "many"], "argument --preview-quota: 'many' is not a whole number"),
        (["--token", "t=tasks:admin"], "unknown scope 'tasks:admin'"),
        (["--token", "=tasks:read"], "a token must not be empty"),
        (["--templates", "/nonexistent/t.yaml"], "cannot read"),
        (["--port", "eighty"], "argument --port: 'eighty' is not a port number"),
    ],
)
def test_serve_refuses_bad_options_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_serve_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--token TOKEN[=SCOPE,...]" in capsys.readouterr().out


def test_serve_reports_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def start_module(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`python -m titan_gitops.emulator serve ...` on a free port, once it is listening.

    Returns the process, its base URL and the stderr lines read so far.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return spawn_server(*args, module="titan_gitops.emulator", cwd=str(REPO), env=env)


def test_the_module_serves_with_a_token_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    db = tmp_path / "state" / "emulator.sqlite3"
    process, base_url, _ = start_module(
        "--token", "cli-token", "--token", "cli-reader=tasks:read", "--db", str(db)
    )
    try:
        with httpx.Client(base_url=base_url) as client:
            assert client.get("/api/v1/tasks").status_code == 401
            created = client.post(
                "/api/v1/tasks",
                json=task_body(),
                headers={"Authorization": "Bearer cli-token"},
            )
            assert created.status_code == 201
            denied = client.post(
                "/api/v1/tasks", json=task_body(), headers={"X-API-Key": "cli-reader"}
            )
            assert denied.status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Traceback" not in err
    assert "cli-token" not in err
    assert db.is_file()


def test_the_module_without_tokens_says_it_is_open() -> None:
    process, base_url, first_lines = start_module()
    try:
        with httpx.Client(base_url=base_url) as client:
            assert client.get("/api/v1/tasks").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "open-access mode" in first_lines[0]
    assert "Titan emulator stopped" in err


def test_the_module_takes_a_preview_quota() -> None:
    process, base_url, _ = start_module("--preview-quota", "1")
    try:
        with httpx.Client(base_url=base_url) as client:
            answers = [client.post("/api/v1/tasks/preview", json=task_body()) for _ in range(2)]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert [a.status_code for a in answers] == [200, 429]
    assert answers[1].json()["error"]["code"] == "preview_limit_exceeded"


def test_processes_the_tests_start_can_be_stopped_with_ctrl_c() -> None:
    # Started from a shell's background job, the suite inherits SIGINT ignored; the Ctrl-C tests
    # above rely on their children hearing it, so the suite restores it for them.
    child = subprocess.run(
        [sys.executable, "-c", "import signal; print(signal.getsignal(signal.SIGINT))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "default_int_handler" in child.stdout
